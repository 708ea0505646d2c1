import fp from 'fastify-plugin'
import { ApiError } from './errors.ts'

/**
 * The path of the first string (or object key) holding a NUL character, as the validation messages name fields
 * (`packs[1]`, `game.title`); '' when it is the value itself, undefined when there is none. Iterative: a deeply
 * nested body must not overflow the stack.
 */
export function findNul (value: unknown): string | undefined {
  const stack: [unknown, string][] = [[value, '']]
  while (stack.length) {
    const [item, path] = stack.pop()!
    if (typeof item === 'string') {
      if (item.includes('\u0000')) return path
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) stack.push([item[i], `${path}[${i}]`])
    } else if (item !== null && typeof item === 'object') {
      if (ArrayBuffer.isView(item) || typeof (item as { pipe?: unknown }).pipe === 'function') continue // raw input, not parsed
      const entries = Object.entries(item)
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]
        if (key.includes('\u0000')) return path
        stack.push([child, path ? `${path}.${key}` : key])
      }
    }
  }
  return undefined
}

/**
 * No string reaches a handler (or the database, which refuses them) with a NUL character: one rule over the path,
 * the query string and the parsed body of every route, before validation.
 */
export default fp(async function input (app) {
  app.addHook('preValidation', async (request) => {
    const parts = { params: request.params, querystring: request.query, body: request.body }
    for (const [part, value] of Object.entries(parts)) {
      const field = findNul(value)
      if (field !== undefined) throw new ApiError(400, `${field || part} must not contain a NUL character`)
    }
  })
}, { name: 'input', dependencies: ['errors'] })
