import { sql, type Kysely } from 'kysely'
import type { Database, Role, TokenRow } from './types.ts'

const LISTED = ['id', 'name', 'role', 'expires_at', 'created_at', 'last_used_at'] as const

export function insertToken (db: Kysely<Database>, token: { name: string, role: Role, expires_at: Date }) {
  return db.insertInto('tokens').values(token).returning(['id', 'name', 'role', 'expires_at', 'created_at']).executeTakeFirstOrThrow()
}

/** The tokens not revoked, newest first. */
export function listTokens (db: Kysely<Database>) {
  return db.selectFrom('tokens').select(LISTED).where('revoked_at', 'is', null).orderBy('id', 'desc').execute()
}

export function findToken (db: Kysely<Database>, id: number): Promise<TokenRow | undefined> {
  return db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst()
}

/** undefined: no such token, or already revoked. */
export function revokeToken (db: Kysely<Database>, id: number) {
  return db.updateTable('tokens').set({ revoked_at: sql<Date>`now()` })
    .where('id', '=', id).where('revoked_at', 'is', null)
    .returning('id').executeTakeFirst()
}

/** Marks the token used now, unless it was already marked within the last minute (one write a minute at most). */
export async function touchToken (db: Kysely<Database>, id: number): Promise<void> {
  await db.updateTable('tokens').set({ last_used_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', sql<Date>`now() - interval '1 minute'`)]))
    .execute()
}

/**
 * The failed logins from an address within the last `windowMs`: how many, and how many ms until the oldest of them
 * leaves the window (the database's clock, the same for every process).
 */
export async function countLoginFailures (db: Kysely<Database>, address: string, windowMs: number) {
  const row = await db.selectFrom('login_failures')
    .select((eb) => [
      eb.fn.countAll<number>().as('count'),
      sql<number | null>`extract(epoch from min(failed_at) + make_interval(secs => ${windowMs / 1000}) - now()) * 1000`.as('clears_in_ms')
    ])
    .where('address', '=', address)
    .where('failed_at', '>', sql<Date>`now() - make_interval(secs => ${windowMs / 1000})`)
    .executeTakeFirstOrThrow()
  return { count: Number(row.count), clearsInMs: row.clears_in_ms === null ? 0 : Number(row.clears_in_ms) }
}

/** Records a failed login and drops every failure older than `windowMs`, whatever its address. */
export async function recordLoginFailure (db: Kysely<Database>, address: string, windowMs: number): Promise<void> {
  await db.insertInto('login_failures').values({ address }).execute()
  await db.deleteFrom('login_failures')
    .where('failed_at', '<', sql<Date>`now() - make_interval(secs => ${windowMs / 1000})`)
    .execute()
}

/** Deletes the tokens revoked, or expired, before `before` (no longer usable, kept a retention period); returns how many. */
export async function deleteDeadTokens (db: Kysely<Database>, before: Date): Promise<number> {
  const result = await db.deleteFrom('tokens')
    .where((eb) => eb.or([eb('revoked_at', '<', before), eb('expires_at', '<', before)]))
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
