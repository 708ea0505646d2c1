import { Value, AssertError } from '@sinclair/typebox/value'
import { Env, type Config } from '../schemas/config.ts'

export type { Config }

// Empty strings count as unset, as docker-compose's `VAR=` lines produce them.
function dropEmpty (env: Record<string, string | undefined>) {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
}

export function loadConfig (env: Record<string, string | undefined>): Config {
  try {
    // Drops unknown keys, fills defaults, turns "5000" into 5000, then asserts.
    return Value.Parse(Env, dropEmpty(env))
  } catch (err) {
    if (!(err instanceof AssertError)) throw err
    const problems = [...err.Errors()].map((e) => {
      const choices = e.schema.anyOf?.map((s: { const?: unknown }) => s.const)
      return `${e.path.slice(1) || 'environment'}: ${choices ? `must be one of ${choices.join(', ')}` : e.message}`
    })
    throw new Error(`invalid environment: ${[...new Set(problems)].join('; ')}`)
  }
}
