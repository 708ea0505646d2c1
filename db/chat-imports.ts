import { sql, type Kysely } from 'kysely'
import type { Database, VoteType } from './types.ts'
import { expiry } from './expiry.ts'

// The rows of chat_imports (one chat import in progress per session; see their migration) and the paged work on an
// import's chat_logs rows. Every statement touches a bounded id range, so none holds the embedded database long.

export interface ChatImportClaim {
  id: number
  after_id: number
}

/**
 * Opens an import into a session for `owner`, unless one is in progress there. `after_id` is the largest chat_logs
 * id now: every row the import writes has a larger one. Undefined when the session has an import already.
 */
export async function insertChatImport (db: Kysely<Database>, sessionId: number, owner: string, ttlMs: number): Promise<ChatImportClaim | undefined> {
  return db.insertInto('chat_imports')
    .values({
      session_id: sessionId,
      owner,
      after_id: sql<number>`(select coalesce(max(id), 0) from chat_logs)`,
      expires_at: expiry(ttlMs)
    })
    .onConflict((oc) => oc.column('session_id').where('state', '=', 'open').doNothing())
    .returning(['id', 'after_id'])
    .executeTakeFirst()
}

/** Marks `abandoned` a session's open import whose owner stopped renewing it; its rows are still to be deleted. */
export function abandonExpiredChatImport (db: Kysely<Database>, sessionId: number): Promise<ChatImportClaim | undefined> {
  return db.updateTable('chat_imports')
    .set({ state: 'abandoned' })
    .where('session_id', '=', sessionId).where('state', '=', 'open')
    .where('expires_at', '<', sql<Date>`now()`)
    .returning(['id', 'after_id'])
    .executeTakeFirst()
}

/** Extends an open import's lease; false when `owner` no longer holds it. */
export async function renewChatImport (db: Kysely<Database>, id: number, owner: string, ttlMs: number): Promise<boolean> {
  const result = await db.updateTable('chat_imports').set({ expires_at: expiry(ttlMs) })
    .where('id', '=', id).where('owner', '=', owner).where('state', '=', 'open').executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/**
 * Ends an open import: its rows become visible (the commit) or, once deleted, were never there. False when `owner`
 * no longer holds it (it was abandoned).
 */
export async function deleteChatImport (db: Kysely<Database>, id: number, owner: string): Promise<boolean> {
  const result = await db.deleteFrom('chat_imports')
    .where('id', '=', id).where('owner', '=', owner).where('state', '=', 'open').executeTakeFirst()
  return result.numDeletedRows > 0n
}

/** The largest chat_logs id now (0 for none): the upper end of the id ranges an import pages through. */
export async function findLastChatLogId (db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('chat_logs').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst()
  return Number(row?.id ?? 0)
}

/** Deletes an import's rows with ids in (from, to]. */
export async function deleteImportedChatLogs (db: Kysely<Database>, importId: number, from: number, to: number): Promise<void> {
  await db.deleteFrom('chat_logs')
    .where('id', '>', from).where('id', '<=', to).where('import_id', '=', importId)
    .execute()
}

/** Gives an import's rows with ids in (from, to] the session game their timestamp falls into now (the shared rule). */
export async function remapImportedChatLogs (db: Kysely<Database>, sessionId: number, importId: number, from: number, to: number): Promise<void> {
  await sql`
    update chat_logs cl set session_game_id = (
      select sg.id from session_games sg
      where sg.session_id = ${sessionId} and sg.played_at <= cl.timestamp
      order by sg.played_at desc, sg.id desc limit 1)
    where cl.id > ${from} and cl.id <= ${to} and cl.import_id = ${importId}`.execute(db)
}

export interface ImportedVote {
  username: string
  message: string
  timestamp: Date
  vote_type: VoteType
  session_game_id: number
}

/** An import's rows with ids in (from, to] that are votes falling into a game, in id (log) order. */
export function listImportedVotes (db: Kysely<Database>, importId: number, from: number, to: number): Promise<ImportedVote[]> {
  return db.selectFrom('chat_logs')
    .select(['username', 'message', 'timestamp', sql<VoteType>`vote_type`.as('vote_type'), sql<number>`session_game_id`.as('session_game_id')])
    .where('id', '>', from).where('id', '<=', to).where('import_id', '=', importId)
    .where('vote_type', 'is not', null).where('session_game_id', 'is not', null)
    .orderBy('id')
    .execute()
}

/** Locks a session against changes of its state and timeline (not against votes) for an import's commit; undefined: no such session. */
export function lockSessionForImport (trx: Kysely<Database>, sessionId: number) {
  return trx.selectFrom('sessions').select('id').where('id', '=', sessionId).where('deleting_at', 'is', null).forNoKeyUpdate().executeTakeFirst()
}

/** Keeps a session's games from being removed until the transaction ends. */
export async function lockSessionGames (trx: Kysely<Database>, sessionId: number): Promise<void> {
  await trx.selectFrom('session_games').select('id').where('session_id', '=', sessionId).orderBy('id').forKeyShare().execute()
}
