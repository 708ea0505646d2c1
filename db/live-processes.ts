import { sql, type Kysely } from 'kysely'
import type { Database } from './types.ts'
import { expiry } from './expiry.ts'

export interface BeatOutcome {
  /** This process's row was missing: the first beat, or one after being pruned while cut off. */
  recreated: boolean
  /** How many dead processes' rows were deleted, with their clients and commands (their leases set free). */
  pruned: number
  /** Some room lease is free for the taking: released, or its owner's row no longer holds its leases. */
  freeLeases: boolean
}

/**
 * One heartbeat in one statement: marks `instance` alive for `ttlMs` and its room leases held for `leaseTtlMs`,
 * deletes the rows of the other processes that stopped renewing (with what hangs off them), and, when `leaseTtlMs`
 * is given (this process takes room leases), says whether a lease is free (read only: a lock on `room_leases` never
 * holds the heartbeat up).
 */
export async function beatLiveProcess (db: Kysely<Database>, instance: string, ttlMs: number, leaseTtlMs?: number): Promise<BeatOutcome> {
  const leasesFree = leaseTtlMs === undefined
    ? sql<boolean>`false`
    : sql<boolean>`(exists (select 1 from room_leases where owner is null)
      or exists (select 1 from live_processes p where p.leases_expire_at < now() and p.instance <> ${instance}
        and exists (select 1 from room_leases l where l.owner = p.instance)))`
  const { rows: [row] } = await sql<{ recreated: boolean, pruned: number, free_leases: boolean }>`with renewed as (
      insert into live_processes (instance, expires_at, leases_expire_at)
      values (${instance}, ${expiry(Math.max(ttlMs, leaseTtlMs ?? 0))}, ${expiry(leaseTtlMs ?? ttlMs)})
      on conflict (instance) do update set expires_at = excluded.expires_at, leases_expire_at = excluded.leases_expire_at
      returning xmax = 0 as inserted
    ), pruned as (
      delete from live_processes where expires_at < now() and instance <> ${instance} returning 1
    )
    select (select inserted from renewed) as recreated, (select count(*) from pruned)::int as pruned, ${leasesFree} as free_leases
  `.execute(db)
  return { recreated: row.recreated, pruned: Number(row.pruned), freeLeases: row.free_leases }
}

/** Deletes a process's row, and with it its clients and the commands addressed to it or waiting on it (its leases are set free). */
export async function deleteLiveProcess (db: Kysely<Database>, instance: string): Promise<void> {
  await db.deleteFrom('live_processes').where('instance', '=', instance).execute()
}
