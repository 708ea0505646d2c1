import type { Kysely } from 'kysely'
import type { Database, PlayerCheckStatus, RoomWatchReportRow } from '../db/types.ts'
import { recordUnderLease, updatePlayerCheck } from '../db/room-monitor.ts'
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
 * the room over records nothing (undefined).
 */
async function underLease<T> (db: Kysely<Database>, room: WatchedRoom, lease: HeldLease | undefined,
  write: (trx: Kysely<Database>) => Promise<T>): Promise<T | undefined> {
  return db.transaction().execute(async (trx) => {
    if (lease && !await holdRoomLease(trx, room.sessionGameId, lease)) return undefined
    return write(trx)
  })
}

/** A room event the monitor observed, before the session ids and the room code are added to its data. */
export interface RoomEventReport { type: RoomEventType, data: Record<string, unknown> }

/** Records room events the monitor observed, in order, (and `report`); false when `lease` was given and is no longer held. */
export async function recordRoomEvents (db: Kysely<Database>, room: WatchedRoom, events: readonly RoomEventReport[],
  lease?: HeldLease, report?: WatchReport): Promise<boolean> {
  const all = events.map(({ type, data }) => ({ type, data: { ...room, ...data } }))
  // Under a lease, one statement (the monitor writes with every join): see recordUnderLease.
  if (lease) return recordUnderLease(db, { sessionGameId: room.sessionGameId, lease, report, sessionId: room.sessionId, events: all })
  await db.transaction().execute(async (trx) => {
    for (const { type, data } of all) await recordEvent(trx, type, room.sessionId, data)
  })
  return true
}

/**
 * Stores a player count the monitor observed, with `player-count.updated` and then `events` (room events that go with
 * it, such as the join it counts) and `report`, only while the check is still `checking` (a count given by hand or a
 * stop since then wins) and, when given, `lease` is still held. Returns whether it was stored.
 */
export async function recordMonitorCount (db: Kysely<Database>, room: WatchedRoom, playerCount: number, status: PlayerCheckStatus,
  lease?: HeldLease, report?: WatchReport, events: readonly RoomEventReport[] = []): Promise<boolean> {
  const all = [
    { type: 'player-count.updated' as const, data: { ...room, playerCount, status, source: 'monitor' } },
    ...events.map(({ type, data }) => ({ type, data: { ...room, ...data } }))
  ]
  if (lease) {
    return recordUnderLease(db, { sessionGameId: room.sessionGameId, lease, report, check: { status, playerCount }, sessionId: room.sessionId, events: all })
  }
  return db.transaction().execute(async (trx) => {
    if (!await updatePlayerCheck(trx, room.sessionGameId, { status, playerCount }, 'checking')) return false
    for (const { type, data } of all) await recordEvent(trx, type, room.sessionId, data)
    return true
  })
}

/** Ends a `checking` player check with `status` (the room ended or never appeared), under `lease` when given. */
export async function recordMonitorStatus (db: Kysely<Database>, room: WatchedRoom, status: PlayerCheckStatus, lease?: HeldLease): Promise<boolean> {
  const stored = await underLease(db, room, lease, (trx) => updatePlayerCheck(trx, room.sessionGameId, { status }, 'checking'))
  return stored === true
}
