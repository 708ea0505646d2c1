import { sql, type Kysely } from 'kysely'
import { ApiError, NotFound } from '../plugins/errors.ts'
import type { Database, SessionRow } from './types.ts'

export type SessionWithCount = SessionRow & { games_played: number }

const ACTIVE_EXISTS = 'An active session already exists. Please close it before creating a new one.'

export function isUniqueViolation (err: unknown, constraint?: string): boolean {
  const e = err as { code?: string, constraint?: string }
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint)
}

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

/**
 * Opens a new active session. The partial unique index `sessions_one_active` decides races: a losing insert
 * fails with a unique violation and gets the same 400 as the friendly pre-check.
 */
export async function insertSession (db: Kysely<Database>, notes: string | null): Promise<SessionRow> {
  for (;;) {
    const active = await db.selectFrom('sessions').select('id').where('is_active', '=', 1).executeTakeFirst()
    if (active) throw new ApiError(400, ACTIVE_EXISTS, { activeSessionId: active.id })
    try {
      return await db.insertInto('sessions').values({ notes }).returningAll().executeTakeFirstOrThrow()
    } catch (err) {
      // The winner has committed by the time the index reports the conflict, so the next look finds it.
      if (!isUniqueViolation(err, 'sessions_one_active')) throw err
    }
  }
}

export interface ClosedSession {
  session: SessionWithCount
  /** Every session game of the session: their room monitors stop. */
  sessionGameIds: number[]
}

/** Closes an active session: its `playing` games become `played`; `notes` (when given) replace the notes. */
export function closeSession (db: Kysely<Database>, id: number, notes: string | null | undefined): Promise<ClosedSession> {
  return db.transaction().execute(async (trx) => {
    const session = await trx.selectFrom('sessions').select(['id', 'is_active']).where('id', '=', id).forUpdate().executeTakeFirst()
    if (!session) throw new NotFound('Session')
    if (session.is_active !== 1) throw new ApiError(400, 'Session is already closed')
    await trx.updateTable('session_games').set({ status: 'played' })
      .where('session_id', '=', id).where('status', '=', 'playing').execute()
    await trx.updateTable('sessions')
      .set({ is_active: 0, closed_at: sql<Date>`now()`, ...(notes !== undefined ? { notes } : {}) })
      .where('id', '=', id).execute()
    const games = await trx.selectFrom('session_games').select('id').where('session_id', '=', id).orderBy('id').execute()
    const closed = await findSession(trx, id)
    return { session: closed!, sessionGameIds: games.map((g) => g.id) }
  })
}

/** Deletes a closed session; its session games and chat logs go with it (foreign key cascades). */
export async function deleteSession (db: Kysely<Database>, id: number): Promise<void> {
  const deleted = await db.deleteFrom('sessions').where('id', '=', id).where('is_active', '=', 0).returning('id').executeTakeFirst()
  if (deleted) return
  const session = await db.selectFrom('sessions').select('id').where('id', '=', id).executeTakeFirst()
  if (!session) throw new NotFound('Session')
  throw new ApiError(400, 'Cannot delete an active session. Please close it first.')
}

/**
 * Locks a session row for the rest of the transaction; undefined when there is no such session. Every change of a
 * session's state or of which game is `playing` takes this lock first, so concurrent changes to one session run one
 * after another and each sees the previous one's result.
 */
export function lockSession (trx: Kysely<Database>, id: number) {
  return trx.selectFrom('sessions').select(['id', 'is_active']).where('id', '=', id).forUpdate().executeTakeFirst()
}
