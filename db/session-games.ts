import { sql, type Kysely } from 'kysely'
import { ApiError, NotFound } from '../plugins/errors.ts'
import type { Database, Flag, PlayerCheckStatus, SessionGameStatus } from './types.ts'

/** A session_games row joined with its game's catalog facts: the SessionGame object of the contract. */
export interface SessionGameView {
  id: number
  session_id: number
  game_id: number
  manually_added: Flag
  status: SessionGameStatus
  room_code: string | null
  played_at: Date
  player_count: number | null
  player_count_check_status: PlayerCheckStatus
  pack_name: string
  title: string
  game_type: string | null
  min_players: number
  max_players: number
  popularity_score: number
  upvotes: number
  downvotes: number
}

export interface SessionSummary {
  id: number
  is_active: Flag
  games_played: number
}

function selectSessionGames (db: Kysely<Database>) {
  return db.selectFrom('session_games as sg')
    .innerJoin('games as g', 'g.id', 'sg.game_id')
    .select(['sg.id', 'sg.session_id', 'sg.game_id', 'sg.manually_added', 'sg.status', 'sg.room_code', 'sg.played_at',
      'sg.player_count', 'sg.player_count_check_status', 'g.pack_name', 'g.title', 'g.game_type', 'g.min_players',
      'g.max_players', 'g.popularity_score', 'g.upvotes', 'g.downvotes'])
}

/** A session's games in play order. */
export function listSessionGames (db: Kysely<Database>, sessionId: number): Promise<SessionGameView[]> {
  return selectSessionGames(db).where('sg.session_id', '=', sessionId).orderBy('sg.played_at').orderBy('sg.id').execute()
}

export function findSessionGame (db: Kysely<Database>, sessionId: number, sessionGameId: number): Promise<SessionGameView | undefined> {
  return selectSessionGames(db).where('sg.id', '=', sessionGameId).where('sg.session_id', '=', sessionId).executeTakeFirst()
}

export async function findSessionGameOrThrow (db: Kysely<Database>, sessionId: number, sessionGameId: number): Promise<SessionGameView> {
  const sessionGame = await findSessionGame(db, sessionId, sessionGameId)
  if (!sessionGame) throw new NotFound('Session game')
  return sessionGame
}

/**
 * Locks the session row for the rest of the transaction. Every change of which game is `playing` takes this
 * lock first, so concurrent changes to one session run one after another and each sees the previous one's
 * result (the `session_games_one_playing` index would otherwise turn a race into an error).
 */
function lockSession (trx: Kysely<Database>, sessionId: number) {
  return trx.selectFrom('sessions').select(['id', 'is_active']).where('id', '=', sessionId).forUpdate().executeTakeFirst()
}

/** Sets the session's `playing` games (other than `exceptId`) to `played`; returns their ids. Skipped games stay skipped. */
async function finishPlaying (trx: Kysely<Database>, sessionId: number, exceptId?: number): Promise<number[]> {
  let query = trx.updateTable('session_games').set({ status: 'played' })
    .where('session_id', '=', sessionId).where('status', '=', 'playing')
  if (exceptId !== undefined) query = query.where('id', '!=', exceptId)
  const rows = await query.returning('id').execute()
  return rows.map((r) => r.id)
}

export interface NewSessionGameValues {
  game_id: number
  manually_added: Flag
  room_code: string | null
}

export interface AddedSessionGame {
  session: SessionSummary
  sessionGame: SessionGameView
  /** Games that were `playing` and are now `played`. */
  finishedIds: number[]
}

/** Adds a game to an active session as `playing`: the previous `playing` game becomes `played`, the game's play_count grows. */
export function insertSessionGame (db: Kysely<Database>, sessionId: number, values: NewSessionGameValues): Promise<AddedSessionGame> {
  return db.transaction().execute(async (trx) => {
    const session = await lockSession(trx, sessionId)
    if (!session) throw new NotFound('Session')
    if (session.is_active !== 1) throw new ApiError(400, 'Cannot add games to a closed session')
    const game = await trx.updateTable('games').set((eb) => ({ play_count: eb('play_count', '+', 1) }))
      .where('id', '=', values.game_id).returning('id').executeTakeFirst()
    if (!game) throw new NotFound('Game')
    const finishedIds = await finishPlaying(trx, sessionId)
    // clock_timestamp, not now(): a transaction that waited for the lock must still be stamped after the one before it.
    const { id } = await trx.insertInto('session_games')
      .values({ session_id: sessionId, ...values, status: 'playing', played_at: sql<Date>`clock_timestamp()` })
      .returning('id').executeTakeFirstOrThrow()
    const sessionGame = await findSessionGameOrThrow(trx, sessionId, id)
    const { n } = await trx.selectFrom('session_games').select(sql<number>`count(*)::int`.as('n'))
      .where('session_id', '=', sessionId).executeTakeFirstOrThrow()
    return { session: { id: sessionId, is_active: session.is_active, games_played: n }, sessionGame, finishedIds }
  })
}

/** Sets a session game's status; `playing` sets the session's other `playing` games to `played`. Returns their ids. */
export function updateSessionGameStatus (db: Kysely<Database>, sessionId: number, sessionGameId: number, status: SessionGameStatus): Promise<number[]> {
  return db.transaction().execute(async (trx) => {
    await lockSession(trx, sessionId)
    await findSessionGameOrThrow(trx, sessionId, sessionGameId)
    const finishedIds = status === 'playing' ? await finishPlaying(trx, sessionId, sessionGameId) : []
    await trx.updateTable('session_games').set({ status }).where('id', '=', sessionGameId).execute()
    return finishedIds
  })
}

/** Removes a game from a session, undoing the add's play_count increment. */
export function deleteSessionGame (db: Kysely<Database>, sessionId: number, sessionGameId: number): Promise<void> {
  return db.transaction().execute(async (trx) => {
    const deleted = await trx.deleteFrom('session_games')
      .where('id', '=', sessionGameId).where('session_id', '=', sessionId)
      .returning('game_id').executeTakeFirst()
    if (!deleted) throw new NotFound('Session game')
    await trx.updateTable('games').set({ play_count: sql<number>`greatest(play_count - 1, 0)` })
      .where('id', '=', deleted.game_id).execute()
  })
}

export async function updateRoomCode (db: Kysely<Database>, sessionId: number, sessionGameId: number, roomCode: string): Promise<SessionGameView> {
  const updated = await db.updateTable('session_games').set({ room_code: roomCode })
    .where('id', '=', sessionGameId).where('session_id', '=', sessionId)
    .returning('id').executeTakeFirst()
  if (!updated) throw new NotFound('Session game')
  return findSessionGameOrThrow(db, sessionId, sessionGameId)
}

/** Stores a player count as final (`completed`). */
export async function updatePlayerCount (db: Kysely<Database>, sessionId: number, sessionGameId: number, playerCount: number): Promise<SessionGameView> {
  const updated = await db.updateTable('session_games').set({ player_count: playerCount, player_count_check_status: 'completed' })
    .where('id', '=', sessionGameId).where('session_id', '=', sessionId)
    .returning('id').executeTakeFirst()
  if (!updated) throw new NotFound('Session game')
  return findSessionGameOrThrow(db, sessionId, sessionGameId)
}
