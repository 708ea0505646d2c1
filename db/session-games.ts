import { sql, type Kysely } from 'kysely'
import type { Database, Flag, SessionGameStatus } from './types.ts'

/** A session_games row joined with its game's catalog facts: the API's SessionGame (schemas/sessions.ts). */
function selectSessionGames (db: Kysely<Database>) {
  return db.selectFrom('session_games as sg')
    .innerJoin('games as g', 'g.id', 'sg.game_id')
    .select(['sg.id', 'sg.session_id', 'sg.game_id', 'sg.manually_added', 'sg.status', 'sg.room_code', 'sg.played_at',
      'sg.player_count', 'sg.player_count_check_status', 'g.pack_name', 'g.title', 'g.game_type', 'g.min_players',
      'g.max_players', 'g.popularity_score', 'g.upvotes', 'g.downvotes'])
}

/** A session's games in play order. */
export function listSessionGames (db: Kysely<Database>, sessionId: number) {
  return selectSessionGames(db).where('sg.session_id', '=', sessionId).orderBy('sg.played_at').orderBy('sg.id').execute()
}

export function findSessionGame (db: Kysely<Database>, sessionId: number, sessionGameId: number) {
  return selectSessionGames(db).where('sg.id', '=', sessionGameId).where('sg.session_id', '=', sessionId).executeTakeFirst()
}

/** Sets the session's `playing` games (other than `exceptId`) to `played`; returns their ids. Skipped games stay skipped. */
export async function finishPlaying (trx: Kysely<Database>, sessionId: number, exceptId?: number): Promise<number[]> {
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

/** Counts one more play of a game; false when there is no such game. */
export async function incrementPlayCount (trx: Kysely<Database>, gameId: number): Promise<boolean> {
  const game = await trx.updateTable('games').set((eb) => ({ play_count: eb('play_count', '+', 1) }))
    .where('id', '=', gameId).returning('id').executeTakeFirst()
  return game !== undefined
}

/** Adds a `playing` session game; returns its id. */
export async function insertSessionGame (trx: Kysely<Database>, sessionId: number, values: NewSessionGameValues): Promise<number> {
  // clock_timestamp, not now(): a transaction that waited for the session lock must still be stamped after the one before it.
  const { id } = await trx.insertInto('session_games')
    .values({ session_id: sessionId, ...values, status: 'playing', played_at: sql<Date>`clock_timestamp()` })
    .returning('id').executeTakeFirstOrThrow()
  return id
}

export async function countSessionGames (db: Kysely<Database>, sessionId: number): Promise<number> {
  const { n } = await db.selectFrom('session_games').select(sql<number>`count(*)::int`.as('n'))
    .where('session_id', '=', sessionId).executeTakeFirstOrThrow()
  return n
}

/** Sets a session game's status; false when the session has no such game. */
export async function updateSessionGameStatus (db: Kysely<Database>, sessionId: number, sessionGameId: number, status: SessionGameStatus): Promise<boolean> {
  const result = await db.updateTable('session_games').set({ status })
    .where('id', '=', sessionGameId).where('session_id', '=', sessionId).executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/** Deletes a session game; returns its game id, undefined when the session has no such game. */
export async function deleteSessionGame (db: Kysely<Database>, sessionId: number, sessionGameId: number): Promise<number | undefined> {
  const deleted = await db.deleteFrom('session_games')
    .where('id', '=', sessionGameId).where('session_id', '=', sessionId)
    .returning('game_id').executeTakeFirst()
  return deleted?.game_id
}

/** Undoes one counted play of a game (never below zero). */
export async function decrementPlayCount (db: Kysely<Database>, gameId: number): Promise<void> {
  await db.updateTable('games').set({ play_count: sql<number>`greatest(play_count - 1, 0)` }).where('id', '=', gameId).execute()
}

/** Sets a session game's room code; false when the session has no such game. */
export async function updateRoomCode (db: Kysely<Database>, sessionId: number, sessionGameId: number, roomCode: string): Promise<boolean> {
  const result = await db.updateTable('session_games').set({ room_code: roomCode })
    .where('id', '=', sessionGameId).where('session_id', '=', sessionId).executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/** A session game's room code, its row locked until the transaction ends; undefined when the session has no such game. */
export function lockSessionGame (trx: Kysely<Database>, sessionId: number, sessionGameId: number) {
  return trx.selectFrom('session_games').select(['id', 'room_code'])
    .where('id', '=', sessionGameId).where('session_id', '=', sessionId)
    .forUpdate().executeTakeFirst()
}

/** Sets the player check of these session games to `stopped` where it is still `checking`. */
export async function stopPlayerChecks (db: Kysely<Database>, sessionGameIds: number[]): Promise<void> {
  if (!sessionGameIds.length) return
  await db.updateTable('session_games').set({ player_count_check_status: 'stopped' })
    .where('id', 'in', sessionGameIds).where('player_count_check_status', '=', 'checking').execute()
}

/** Sets a session game's player check to `checking`: its room is to be watched. */
export async function markPlayerCheckStarted (db: Kysely<Database>, sessionGameId: number): Promise<void> {
  await db.updateTable('session_games').set({ player_count_check_status: 'checking' }).where('id', '=', sessionGameId).execute()
}

/** Stores a player count as final (`completed`); false when the session has no such game. */
export async function updatePlayerCount (db: Kysely<Database>, sessionId: number, sessionGameId: number, playerCount: number): Promise<boolean> {
  const result = await db.updateTable('session_games').set({ player_count: playerCount, player_count_check_status: 'completed' })
    .where('id', '=', sessionGameId).where('session_id', '=', sessionId).executeTakeFirst()
  return result.numUpdatedRows > 0n
}
