import { sql, type Kysely } from 'kysely'
import type { Database, SessionRow } from './types.ts'

export type SessionWithCount = SessionRow & { games_played: number }

const SESSION_COLUMNS = ['id', 'notes', 'is_active', 'created_at', 'closed_at'] as const

// Every read of sessions leaves out one being deleted (deleting_at set).
function selectSessions (db: Kysely<Database>) {
  return db.selectFrom('sessions as s')
    .select(SESSION_COLUMNS.map((c) => `s.${c}` as const))
    .where('s.deleting_at', 'is', null)
    .select((eb) => eb.selectFrom('session_games as sg')
      .whereRef('sg.session_id', '=', 's.id')
      .select(sql<number>`count(*)::int`.as('n'))
      .as('games_played'))
    .$narrowType<{ games_played: number }>()
}

/** Every session, newest first. */
export function listSessions (db: Kysely<Database>): Promise<SessionWithCount[]> {
  return selectSessions(db).orderBy('s.created_at', 'desc').orderBy('s.id', 'desc').execute()
}

export function findSession (db: Kysely<Database>, id: number): Promise<SessionWithCount | undefined> {
  return selectSessions(db).where('s.id', '=', id).executeTakeFirst()
}

export function findActiveSession (db: Kysely<Database>): Promise<SessionWithCount | undefined> {
  return selectSessions(db).where('s.is_active', '=', 1).executeTakeFirst()
}

/** The open session's id, if one is open. */
export async function findActiveSessionId (db: Kysely<Database>): Promise<number | undefined> {
  const row = await db.selectFrom('sessions').select('id').where('is_active', '=', 1).executeTakeFirst()
  return row?.id
}

/**
 * Opens a new active session; undefined when one is already open. The partial unique index `sessions_one_active`
 * decides races: a losing insert waits for the winner to commit, then does nothing.
 */
export function insertSession (db: Kysely<Database>, notes: string | null): Promise<SessionRow | undefined> {
  return db.insertInto('sessions').values({ notes })
    .onConflict((oc) => oc.column('is_active').where('is_active', '=', 1).doNothing())
    .returning(SESSION_COLUMNS).executeTakeFirst()
}

/**
 * Locks a session row for the rest of the transaction; undefined when there is no such session. Every change of a
 * session's state or of which game is `playing` takes this lock first, so concurrent changes to one session run one
 * after another and each sees the previous one's result.
 */
export function lockSession (trx: Kysely<Database>, id: number) {
  return trx.selectFrom('sessions').select(['id', 'is_active']).where('id', '=', id).where('deleting_at', 'is', null)
    .forUpdate().executeTakeFirst()
}

/** Closes a session: its `playing` games become `played`; `notes` (when given) replace the notes. Returns every session game id. */
export async function closeSession (trx: Kysely<Database>, id: number, notes: string | null | undefined): Promise<number[]> {
  await trx.updateTable('session_games').set({ status: 'played' })
    .where('session_id', '=', id).where('status', '=', 'playing').execute()
  await trx.updateTable('sessions')
    .set({ is_active: 0, closed_at: sql<Date>`now()`, ...(notes !== undefined ? { notes } : {}) })
    .where('id', '=', id).execute()
  const games = await trx.selectFrom('session_games').select('id').where('session_id', '=', id).orderBy('id').execute()
  return games.map((g) => g.id)
}

/**
 * Marks a closed session as being deleted, from which moment every reader treats it as gone; false when there is no
 * such closed session, or another deletion of it is under way (marked less than a minute ago).
 */
export async function markSessionDeleting (db: Kysely<Database>, id: number): Promise<boolean> {
  const { rows } = await sql`update sessions set deleting_at = now()
    where id = ${id} and is_active = 0 and (deleting_at is null or deleting_at < now() - interval '1 minute')
    returning id`.execute(db)
  return rows.length > 0
}

/** Keeps a deletion's mark fresh (a mark older than a minute is taken over by the next deletion). */
export async function renewSessionDeleting (db: Kysely<Database>, id: number): Promise<void> {
  await sql`update sessions set deleting_at = now() where id = ${id} and deleting_at is not null`.execute(db)
}

/** The tables whose rows belong to a session, deleted in batches before it (the session's games last: the others refer to them). */
export const SESSION_CHILDREN = ['chat_logs', 'live_votes', 'chat_imports', 'session_games'] as const

/** Deletes up to `limit` of a session's rows of `table`; returns how many. */
export async function deleteSessionRows (db: Kysely<Database>, table: typeof SESSION_CHILDREN[number], sessionId: number, limit: number): Promise<number> {
  const result = await sql`delete from ${sql.table(table)} where id in (
    select id from ${sql.table(table)} where session_id = ${sessionId} limit ${limit})`.execute(db)
  return Number(result.numAffectedRows ?? 0)
}

/** Deletes a session marked as being deleted (what is left of its rows goes with it, by foreign key cascades). */
export async function deleteMarkedSession (db: Kysely<Database>, id: number): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', id).where('deleting_at', 'is not', null).execute()
}
