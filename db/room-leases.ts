import { sql, type ExpressionBuilder, type Kysely } from 'kysely'
import type { Database } from './types.ts'

// A lease is held while its owner's `live_processes` row holds its leases (`leases_expire_at`, renewed by the owner's
// heartbeat, in database time); a lease with no owner (released, or its owner's row pruned) is free too.
// Every taking of a lease gets a new fencing number (as text: a bigint).
const nextFence = sql<string>`nextval('room_lease_fence')`
const fenceText = sql<string>`fence::text`.as('fence')
/** Whether the lease row's owner is null or no longer holds its leases. */
const lapsed = sql<boolean>`(room_leases.owner is null or not exists (select 1 from live_processes p
  where p.instance = room_leases.owner and p.leases_expire_at >= now()))`
const isFree = (eb: ExpressionBuilder<Database, 'room_leases'>) => eb(lapsed, '=', true)

/** A lease as one holder took it: writes on its behalf hold only while the row still has this owner and fence. */
export interface HeldLease {
  owner: string
  fence: string
}

export type ClaimOutcome =
  /**
   * This process owns the lease now, under a new fencing number; `displaced`: other session games' leases on the same
   * room code, deleted.
   */
  | { claimed: true, fence: string, displaced: number[] }
  /** Another process holds a live lease on this session game and the same room code: it watches the room already. */
  | { claimed: false }

/**
 * Takes the lease of a session game's room for `owner`, unless another live owner already watches the same code.
 * One room code has one lease: the leases of other session games on the code are deleted (their owners stop).
 */
export async function claimRoomLease (db: Kysely<Database>, sessionGameId: number, roomCode: string, owner: string): Promise<ClaimOutcome> {
  return db.transaction().execute(async (trx) => {
    const row = await trx.insertInto('room_leases')
      .values({ session_game_id: sessionGameId, room_code: roomCode, owner, fence: nextFence })
      .onConflict((oc) => oc.column('session_game_id').doUpdateSet({
        room_code: (eb) => eb.ref('excluded.room_code'),
        owner: (eb) => eb.ref('excluded.owner'),
        fence: (eb) => eb.ref('excluded.fence')
      }).where((eb) => eb.or([
        eb('room_leases.owner', '=', owner),
        eb('room_leases.room_code', '!=', roomCode),
        isFree(eb)
      ])))
      .returning(fenceText)
      .executeTakeFirst()
    if (!row) return { claimed: false as const }
    const displaced = await trx.deleteFrom('room_leases')
      .where('room_code', '=', roomCode).where('session_game_id', '!=', sessionGameId)
      .returning('session_game_id')
      .execute()
    return { claimed: true as const, fence: row.fence, displaced: displaced.map((r) => r.session_game_id) }
  })
}

/** The session games whose leases `owner` holds (a lease taken over or deleted is absent). */
export async function listOwnedRoomLeases (db: Kysely<Database>, owner: string): Promise<number[]> {
  const rows = await db.selectFrom('room_leases').select('session_game_id').where('owner', '=', owner).execute()
  return rows.map((r) => r.session_game_id)
}

/**
 * Takes up to `limit` leases that lapsed or were released, skipping rows another process is taking at this moment
 * (so two processes never take the same room). Returns them with their room codes and new fencing numbers.
 */
export function takeFreeRoomLeases (db: Kysely<Database>, owner: string, limit: number) {
  return db.updateTable('room_leases')
    // A lease of this owner's that lapsed (its beats were late) keeps its fence: nobody else held it meanwhile.
    .set({ owner, fence: sql<string>`case when owner = ${owner} then fence else ${nextFence} end` })
    .where('session_game_id', 'in', (eb) => eb.selectFrom('room_leases')
      .select('session_game_id')
      .where(isFree)
      .orderBy('session_game_id')
      .limit(limit)
      .forUpdate().skipLocked())
    .returning(['session_game_id', 'room_code', fenceText])
    .execute()
}

/**
 * Whether `lease` still holds a session game's lease row (same owner, same fence), read in the caller's transaction.
 * Its owner's `leases_expire_at` is not checked: a lease nobody took yet is still its holder's. The row is not locked:
 * a holder frozen inside its transaction must not keep the room from being taken over (SKIP LOCKED would skip it for
 * as long as it stalls).
 */
export async function holdRoomLease (db: Kysely<Database>, sessionGameId: number, lease: HeldLease): Promise<boolean> {
  const row = await db.selectFrom('room_leases').select('session_game_id')
    .where('session_game_id', '=', sessionGameId)
    .where('owner', '=', lease.owner)
    .where('fence', '=', lease.fence)
    .executeTakeFirst()
  return row !== undefined
}

/** Of these session games, the ones that still have a lease (whoever owns it). */
export async function listLeasedSessionGames (db: Kysely<Database>, sessionGameIds: number[]): Promise<number[]> {
  if (!sessionGameIds.length) return []
  const rows = await db.selectFrom('room_leases').select('session_game_id').where('session_game_id', 'in', sessionGameIds).execute()
  return rows.map((r) => r.session_game_id)
}

/** Deletes a session game's lease: its watch ended or was stopped. `owner` limits it to that owner's lease. */
export async function deleteRoomLease (db: Kysely<Database>, sessionGameId: number, owner?: string): Promise<boolean> {
  let query = db.deleteFrom('room_leases').where('session_game_id', '=', sessionGameId)
  if (owner !== undefined) query = query.where('owner', '=', owner)
  const result = await query.executeTakeFirst()
  return result.numDeletedRows > 0n
}

/** Whether a session game has a lease: a process watches its room, or one is about to take it over. */
export async function hasRoomLease (db: Kysely<Database>, sessionGameId: number): Promise<boolean> {
  const row = await db.selectFrom('room_leases').select('session_game_id').where('session_game_id', '=', sessionGameId).executeTakeFirst()
  return row !== undefined
}

/**
 * Deletes a session game's lease if no live process holds it (released, or its owner's row lapsed); true when one
 * was deleted. It looks first: the delete trigger notifies every process even when no row goes.
 */
export async function deleteFreeRoomLease (db: Kysely<Database>, sessionGameId: number): Promise<boolean> {
  const found = await db.selectFrom('room_leases').select('session_game_id')
    .where('session_game_id', '=', sessionGameId).where(isFree).executeTakeFirst()
  if (!found) return false
  const result = await db.deleteFrom('room_leases').where('session_game_id', '=', sessionGameId).where(isFree).executeTakeFirst()
  return result.numDeletedRows > 0n
}

/** How many live leases `owner` holds: the rooms it watches, as every process can see. */
export async function countRoomLeases (db: Kysely<Database>, owner: string): Promise<number> {
  const row = await db.selectFrom('room_leases')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('owner', '=', owner)
    .where((eb) => eb(lapsed, '=', false))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

/** Releases every lease `owner` holds, free for any process to take now (a graceful shutdown). */
export async function releaseRoomLeases (db: Kysely<Database>, owner: string): Promise<number> {
  const result = await db.updateTable('room_leases')
    .set({ owner: null })
    .where('owner', '=', owner)
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/**
 * Gives a free lease to each watch that should be running and has none: `playing` games still `checking` with a room
 * code (a database from before leases, or rows whose lease was lost with a whole restart).
 */
export async function insertMissingRoomLeases (db: Kysely<Database>): Promise<void> {
  await db.insertInto('room_leases')
    .columns(['session_game_id', 'room_code', 'owner'])
    .expression((eb) => eb.selectFrom('session_games')
      .select(['id', 'room_code', sql<null>`null`.as('owner')])
      .where('status', '=', 'playing')
      .where('player_count_check_status', '=', 'checking')
      .where('room_code', 'is not', null))
    .onConflict((oc) => oc.doNothing())
    .execute()
}
