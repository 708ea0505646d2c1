import { sql, type Kysely } from 'kysely'
import type { Database } from './types.ts'

// Expiry is computed by the database (now() + ttl), never from a process clock.
const expiry = (ttlMs: number) => sql<Date>`now() + make_interval(secs => ${ttlMs / 1000})`

/** Marks `instance` alive for `ttlMs`; `recreated` when its row was missing (first beat, or pruned while it was cut off). */
export async function renewLiveProcess (db: Kysely<Database>, instance: string, ttlMs: number): Promise<{ recreated: boolean }> {
  const row = await db.insertInto('live_processes')
    .values({ instance, expires_at: expiry(ttlMs) })
    .onConflict((oc) => oc.column('instance').doUpdateSet({ expires_at: (eb) => eb.ref('excluded.expires_at') }))
    .returning(sql<boolean>`xmax = 0`.as('inserted'))
    .executeTakeFirstOrThrow()
  return { recreated: row.inserted }
}

/** Deletes a process's row, and with it its clients and the commands addressed to it or waiting on it. */
export async function deleteLiveProcess (db: Kysely<Database>, instance: string): Promise<void> {
  await db.deleteFrom('live_processes').where('instance', '=', instance).execute()
}

/** Deletes the processes that stopped renewing (they died); returns how many. */
export async function pruneDeadLiveProcesses (db: Kysely<Database>): Promise<number> {
  const result = await db.deleteFrom('live_processes').where('expires_at', '<', sql<Date>`now()`).executeTakeFirst()
  return Number(result.numDeletedRows)
}
