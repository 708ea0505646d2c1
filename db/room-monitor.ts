import type { Kysely } from 'kysely'
import type { Database, PlayerCheckStatus } from './types.ts'

/** The session game fields the room monitor needs; undefined when no such session game. */
export function findMonitoredGame (db: Kysely<Database>, sessionGameId: number) {
  return db.selectFrom('session_games')
    .select(['id', 'session_id', 'room_code', 'status', 'player_count', 'player_count_check_status'])
    .where('id', '=', sessionGameId)
    .executeTakeFirst()
}

/** Sets the player-check status, and the player count when given; `onlyFrom` makes it conditional. */
export async function updatePlayerCheck (db: Kysely<Database>, sessionGameId: number,
  change: { status: PlayerCheckStatus, playerCount?: number }, onlyFrom?: PlayerCheckStatus): Promise<boolean> {
  let query = db.updateTable('session_games')
    .set(change.playerCount === undefined
      ? { player_count_check_status: change.status }
      : { player_count_check_status: change.status, player_count: change.playerCount })
    .where('id', '=', sessionGameId)
  if (onlyFrom) query = query.where('player_count_check_status', '=', onlyFrom)
  const result = await query.executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/** Session games whose watch was running when the service stopped: still playing and still `checking`. */
export function listResumableGames (db: Kysely<Database>) {
  return db.selectFrom('session_games')
    .select(['id'])
    .where('status', '=', 'playing')
    .where('player_count_check_status', '=', 'checking')
    .where('room_code', 'is not', null)
    .orderBy('id')
    .execute()
}
