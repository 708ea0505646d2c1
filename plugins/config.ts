import { Value, AssertError } from '@sinclair/typebox/value'
import { Env, type Config } from '../schemas/config.ts'
import { durationMs, MAX_TOKEN_LIFETIME_MS } from '../domain/token-lifetime.ts'

export type { Config }

/**
 * `TRUST_PROXY` as Fastify's `trustProxy` option. A hop count becomes a function trusting that many hops from the
 * socket, as proxy-addr counts them: Fastify 5.12 trusts nothing at all for a bare number.
 */
export function trustProxy (value: string | undefined): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (value === undefined || value === 'false') return false
  if (value === 'true') return true
  if (/^\d+$/.test(value)) {
    const hops = Number(value)
    return (_address, hop) => hop < hops
  }
  return value.split(',').map((s) => s.trim())
}

// Empty strings count as unset, as docker-compose's `VAR=` lines produce them.
function dropEmpty (env: Record<string, string | undefined>) {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
}

export function loadConfig (env: Record<string, string | undefined>): Config {
  let config: Config
  try {
    // Drops unknown keys, fills defaults, turns "5000" into 5000, then asserts.
    config = Value.Parse(Env, dropEmpty(env))
  } catch (err) {
    if (!(err instanceof AssertError)) throw err
    const problems = [...err.Errors()].map((e) => {
      const choices = e.schema.anyOf?.map((s: { const?: unknown }) => s.const)
      const message = choices ? `must be one of ${choices.join(', ')}` : e.schema.expected ? `must be ${e.schema.expected}` : e.message
      return `${e.path.slice(1) || 'environment'}: ${message}`
    })
    throw new Error(`invalid environment: ${[...new Set(problems)].join('; ')}`)
  }
  if (durationMs(config.JWT_EXPIRES_IN) > MAX_TOKEN_LIFETIME_MS) {
    throw new Error('invalid environment: JWT_EXPIRES_IN: must be at most 30 days')
  }
  if (durationMs(config.JWT_EXPIRES_IN) === 0) throw new Error('invalid environment: JWT_EXPIRES_IN: must be more than 0')
  return config
}
