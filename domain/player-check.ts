import type { Kysely } from 'kysely'
import type { Database, PlayerCheckStatus } from '../db/types.ts'
import { updatePlayerCheck } from '../db/room-monitor.ts'
import type { RoomEventType } from '../schemas/events.ts'
import { recordEvent } from './events.ts'

/** The ids every room event carries. */
export interface WatchedRoom {
  sessionId: number
  sessionGameId: number
  roomCode: string
}

/** Records a room event the monitor observed. */
export async function recordRoomEvent (db: Kysely<Database>, room: WatchedRoom, type: RoomEventType, data: Record<string, unknown>): Promise<void> {
  await recordEvent(db, type, room.sessionId, { ...room, ...data })
}

/**
 * Stores a player count the monitor observed, with `player-count.updated`, only while the check is still `checking`
 * (a count given by hand or a stop since then wins). Returns whether it was stored.
 */
export function recordMonitorCount (db: Kysely<Database>, room: WatchedRoom, playerCount: number, status: PlayerCheckStatus): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    if (!await updatePlayerCheck(trx, room.sessionGameId, { status, playerCount }, 'checking')) return false
    await recordEvent(trx, 'player-count.updated', room.sessionId, { ...room, playerCount, status, source: 'monitor' })
    return true
  })
}
