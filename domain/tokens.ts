import type { Kysely } from 'kysely'
import type { Database, Role } from '../db/types.ts'
import * as tokens from '../db/tokens.ts'
import { TokenLifetimeOutOfRange, TokenNotFound } from './errors.ts'
import { durationMs, MAX_TOKEN_LIFETIME_MS } from './token-lifetime.ts'
import { recordInternalEvent } from './events.ts'

/** Signs a JWT: `expiresIn` in seconds from `clockTimestamp` (ms), as @fastify/jwt reads them. */
export type Sign = (payload: { role: Role, jti: string }, options: { expiresIn: number, clockTimestamp: number }) => string

/** A scoped token: its row first (the id becomes the JWT's `jti`), then the JWT, shown this once. */
export async function createToken (db: Kysely<Database>, sign: Sign, input: { name: string, role: Role, expiresIn: string }) {
  const lifetime = durationMs(input.expiresIn)
  if (lifetime > MAX_TOKEN_LIFETIME_MS) throw new TokenLifetimeOutOfRange('long')
  if (lifetime < 1000) throw new TokenLifetimeOutOfRange('short')
  const now = Date.now()
  // The JWT's exp is whole seconds: the row keeps the same instant.
  const expiresAt = new Date(Math.floor((now + lifetime) / 1000) * 1000)
  const row = await tokens.insertToken(db, { name: input.name, role: input.role, expires_at: expiresAt })
  const token = sign({ role: row.role, jti: String(row.id) }, { expiresIn: lifetime / 1000, clockTimestamp: now })
  return { id: row.id, name: row.name, role: row.role, token, expiresAt: row.expires_at.toISOString(), created_at: row.created_at }
}

export async function listTokens (db: Kysely<Database>) {
  const rows = await tokens.listTokens(db)
  return rows.map(({ expires_at: expiresAt, ...row }) => ({ ...row, expiresAt: expiresAt.toISOString() }))
}

/** Revokes a scoped token; the event signs its live clients out on every process (plugins/live/). */
export async function revokeToken (db: Kysely<Database>, id: number) {
  return db.transaction().execute(async (trx) => {
    if (!await tokens.revokeToken(trx, id)) throw new TokenNotFound()
    await recordInternalEvent(trx, 'token.revoked', null, { tokenId: id })
    return { message: 'Token revoked' as const, tokenId: id }
  })
}
