/** The longest a token may live: `JWT_EXPIRES_IN` and a scoped token's `expiresIn`. */
export const MAX_TOKEN_LIFETIME_MS = 30 * 24 * 3600 * 1000

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Milliseconds in a `Duration` ("90", "15m", "24h"); a bare number is seconds, as @fastify/jwt reads it. */
export function durationMs (duration: string): number {
  const [, amount, unit] = /^(\d+)(ms|s|m|h|d)?$/.exec(duration)!
  return Number(amount) * UNIT_MS[unit ?? 's']
}
