import type { Kysely } from 'kysely'
import type { Database, PlayerCheckStatus, RoomWatchReportRow } from '../db/types.ts'
import { saveRoomWatchReport, updatePlayerCheck } from '../db/room-monitor.ts'
import { holdRoomLease, type HeldLease } from '../db/room-leases.ts'
import type { RoomEventType } from '../schemas/events.ts'
import { recordEvent } from './events.ts'

/** The ids every room event carries. */
export interface WatchedRoom {
  sessionId: number
  sessionGameId: number
  roomCode: string
}

/** What a watch has published so far, stored with a write so that a process taking the room over resumes from it. */
export type WatchReport = Omit<RoomWatchReportRow, 'session_game_id' | 'fence'>

/**
 * Runs a room watch's write in one transaction, under its lease when given: the write happens only while the lease
 * row still holds that owner and fencing number, so a watcher that stalled past its lease while another process took
 * the room over records nothing (undefined). `report`, when given with a lease, is stored with the write.
 */
async function underLease<T> (db: Kysely<Database>, room: WatchedRoom, lease: HeldLease | undefined,
  write: (trx: Kysely<Database>) => Promise<T>, report?: WatchReport): Promise<T | undefined> {
  return db.transaction().execute(async (trx) => {
    if (lease && !await holdRoomLease(trx, room.sessionGameId, lease)) return undefined
    // Before the write, whose event takes the event log's lock until commit: a holder frozen between its statements
    // then holds up every process's events for one round trip less.
    if (report && lease) await saveRoomWatchReport(trx, { session_game_id: room.sessionGameId, fence: lease.fence, ...report })
    return write(trx)
  })
}

/** Records a room event the monitor observed (and `report`); false when `lease` was given and is no longer held. */
export async function recordRoomEvent (db: Kysely<Database>, room: WatchedRoom, type: RoomEventType, data: Record<string, unknown>,
  lease?: HeldLease, report?: WatchReport): Promise<boolean> {
  const record = async (trx: Kysely<Database>) => {
    await recordEvent(trx, type, room.sessionId, { ...room, ...data })
    return true
  }
  return lease ? await underLease(db, room, lease, record, report) === true : record(db)
}

/**
 * Stores a player count the monitor observed, with `player-count.updated` (and `report`), only while the check is still `checking`
 * (a count given by hand or a stop since then wins) and, when given, `lease` is still held. Returns whether it was
 * stored.
 */
export async function recordMonitorCount (db: Kysely<Database>, room: WatchedRoom, playerCount: number, status: PlayerCheckStatus,
  lease?: HeldLease, report?: WatchReport): Promise<boolean> {
  const stored = await underLease(db, room, lease, async (trx) => {
    if (!await updatePlayerCheck(trx, room.sessionGameId, { status, playerCount }, 'checking')) return false
    await recordEvent(trx, 'player-count.updated', room.sessionId, { ...room, playerCount, status, source: 'monitor' })
    return true
  }, report)
  return stored === true
}

/** Ends a `checking` player check with `status` (the room ended or never appeared), under `lease` when given. */
export async function recordMonitorStatus (db: Kysely<Database>, room: WatchedRoom, status: PlayerCheckStatus, lease?: HeldLease): Promise<boolean> {
  const stored = await underLease(db, room, lease, (trx) => updatePlayerCheck(trx, room.sessionGameId, { status }, 'checking'))
  return stored === true
}
