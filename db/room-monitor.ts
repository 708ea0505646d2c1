import { sql, type Kysely } from 'kysely'
import type { Database, PlayerCheckStatus, RoomWatchReportRow } from './types.ts'

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

/**
 * A session game as a process taking its room over needs it, in one round trip: its fields, what its earlier watch
 * published (see the room-watch-reports migration; nulls when it stored nothing) and which of its once-only room
 * events the log holds already. Undefined when no such session game.
 */
export function findTakeover (db: Kysely<Database>, sessionGameId: number) {
  return db.selectFrom('session_games as sg')
    // The newest holder's report.
    .leftJoin((eb) => eb.selectFrom('room_watch_reports').selectAll().where('session_game_id', '=', sessionGameId)
      .orderBy('fence', 'desc').limit(1).as('r'), (join) => join.onRef('r.session_game_id', '=', 'sg.id'))
    .select(['sg.id', 'sg.session_id', 'sg.room_code', 'sg.status', 'sg.player_count', 'sg.player_count_check_status',
      'r.lobby_state', 'r.game_can_start', 'r.description_id'])
    .select(sql<string[]>`array(select distinct e.type from events e where e.session_id = sg.session_id
      and e.type in ('room.connected', 'game.started', 'game.ended') and (e.data->>'sessionGameId')::int = sg.id)`.as('announced'))
    .where('sg.id', '=', sessionGameId)
    .executeTakeFirst()
}

/**
 * Stores what a room's watch has published so far, on the row of the lease it holds (`fence`; the caller checks the
 * lease in the same transaction). A new watch stores an empty one: it starts from nothing.
 */
export async function saveRoomWatchReport (db: Kysely<Database>, report: RoomWatchReportRow): Promise<void> {
  await db.insertInto('room_watch_reports').values(report)
    .onConflict((oc) => oc.columns(['session_game_id', 'fence']).doUpdateSet((eb) => ({
      lobby_state: eb.ref('excluded.lobby_state'),
      game_can_start: eb.ref('excluded.game_can_start'),
      description_id: eb.ref('excluded.description_id')
    })))
    .execute()
}
