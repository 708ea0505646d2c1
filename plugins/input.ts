import fp from 'fastify-plugin'
import { ApiError } from './errors.ts'

/** How deeply objects and arrays may nest in a body or a live message: more is refused (no API shape nests 10 deep). */
export const MAX_INPUT_DEPTH = 64

/**
 * What no input may hold, as one sentence naming the field (as the validation messages name fields: `packs[1]`,
 * `game.title`; `part` when it is the value itself): a string or object key with a NUL character (the database refuses
 * them), or objects and arrays nested deeper than MAX_INPUT_DEPTH (named by the top-level field holding them; the
 * serializers and the database recurse). Undefined when there is none. Iterative: a deeply nested body must not
 * overflow the stack.
 */
export function inputProblem (value: unknown, part: string): string | undefined {
  const stack: [unknown, string, number, string][] = [[value, '', 0, '']]
  while (stack.length) {
    const [item, path, depth, top] = stack.pop()!
    if (typeof item === 'string') {
      if (item.includes('\u0000')) return `${path || part} must not contain a NUL character`
      continue
    }
    if (item === null || typeof item !== 'object') continue
    if (ArrayBuffer.isView(item) || typeof (item as { pipe?: unknown }).pipe === 'function') continue // raw input, not parsed
    if (depth >= MAX_INPUT_DEPTH) return `${top || part} is nested too deeply (at most ${MAX_INPUT_DEPTH} levels)`
    if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) stack.push([item[i], `${path}[${i}]`, depth + 1, top])
      continue
    }
    const entries = Object.entries(item)
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]
      if (key.includes('\u0000')) return `${path || part} must not contain a NUL character`
      const childPath = path ? `${path}.${key}` : key
      stack.push([child, childPath, depth + 1, top || childPath])
    }
  }
  return undefined
}

/**
 * No string reaches a handler (or the database, which refuses them) with a NUL character, and no body nests without
 * bound: one rule over the path, the query string and the parsed body of every route, before validation. The live
 * socket applies the same rule to its messages (routes/live.ts).
 */
export default fp(async function input (app) {
  app.addHook('preValidation', async (request) => {
    const parts = { params: request.params, querystring: request.query, body: request.body }
    for (const [part, value] of Object.entries(parts)) {
      const problem = inputProblem(value, part)
      if (problem !== undefined) throw new ApiError(400, problem)
    }
  })
}, { name: 'input', dependencies: ['errors'] })
