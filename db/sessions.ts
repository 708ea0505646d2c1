import { sql, type Kysely } from 'kysely'
import type { Database, SessionRow } from './types.ts'

export type SessionWithCount = SessionRow & { games_played: number }

function selectSessions (db: Kysely<Database>) {
  return db.selectFrom('sessions as s')
    .selectAll('s')
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
    .returningAll().executeTakeFirst()
}

/**
 * Locks a session row for the rest of the transaction; undefined when there is no such session. Every change of a
 * session's state or of which game is `playing` takes this lock first, so concurrent changes to one session run one
 * after another and each sees the previous one's result.
 */
export function lockSession (trx: Kysely<Database>, id: number) {
  return trx.selectFrom('sessions').select(['id', 'is_active']).where('id', '=', id).forUpdate().executeTakeFirst()
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

/** Deletes a closed session (its session games and chat logs go with it, by foreign key cascades); false when none was deleted. */
export async function deleteClosedSession (db: Kysely<Database>, id: number): Promise<boolean> {
  const deleted = await db.deleteFrom('sessions').where('id', '=', id).where('is_active', '=', 0).returning('id').executeTakeFirst()
  return deleted !== undefined
}
