import { sql, type Kysely } from 'kysely'
import type { Database, LiveClientRow, NewClientCommandRow, NewLiveClientRow } from './types.ts'

/** Inserts a client; with `ifMissing`, a client already there is left as it is. */
export async function insertLiveClient (db: Kysely<Database>, row: NewLiveClientRow, { ifMissing = false } = {}): Promise<void> {
  let query = db.insertInto('live_clients').values(row)
  if (ifMissing) query = query.onConflict((oc) => oc.column('id').doNothing())
  await query.execute()
}

/** Rewrites what a client announced and its subscriptions; a client deleted meanwhile stays deleted. */
export async function updateLiveClient (db: Kysely<Database>, id: string,
  fields: Pick<NewLiveClientRow, 'name' | 'functions' | 'subscriptions'>): Promise<void> {
  await db.updateTable('live_clients').set(fields).where('id', '=', id).execute()
}

/** Deletes a client's row; returns its owner, or undefined when there was none. */
export async function deleteLiveClient (db: Kysely<Database>, id: string): Promise<string | undefined> {
  const row = await db.deleteFrom('live_clients').where('id', '=', id).returning('owner').executeTakeFirst()
  return row?.owner
}

const liveClients = (db: Kysely<Database>) => db.selectFrom('live_clients')
  .innerJoin('live_processes', 'live_processes.instance', 'live_clients.owner')
  .selectAll('live_clients')
  .where('live_processes.expires_at', '>', sql<Date>`now()`)

/** The clients of every live process, in the order they said hello. */
export function listLiveClients (db: Kysely<Database>): Promise<LiveClientRow[]> {
  return liveClients(db).orderBy('live_clients.seq').execute()
}

/** One client, if its process is alive. */
export function findLiveClient (db: Kysely<Database>, id: string): Promise<LiveClientRow | undefined> {
  return liveClients(db).where('live_clients.id', '=', id).executeTakeFirst()
}

export async function insertClientCommand (db: Kysely<Database>, row: NewClientCommandRow): Promise<void> {
  await db.insertInto('client_commands').values(row).execute()
}

/** Takes the commands addressed to `owner` that nobody took yet. */
export function claimClientCommands (db: Kysely<Database>, owner: string) {
  return db.updateTable('client_commands')
    .set({ state: 'sent' })
    .where('owner', '=', owner)
    .where('state', '=', 'pending')
    .returning(['id', 'client_id', 'kind', 'key', 'data'])
    .execute()
}

/** Stores a command's outcome (JSON text) for its caller; false when the caller gave up on it (the row is gone). */
export async function finishClientCommand (db: Kysely<Database>, id: string, outcome: string): Promise<boolean> {
  const result = await db.updateTable('client_commands')
    .set({ state: 'done', outcome })
    .where('id', '=', id)
    .where('state', '=', 'sent')
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

export async function deleteClientCommand (db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('client_commands').where('id', '=', id).execute()
}

/** Takes (deletes and returns) the answered commands `caller` waits for. */
export function takeClientCommandResults (db: Kysely<Database>, caller: string) {
  return db.deleteFrom('client_commands')
    .where('caller', '=', caller)
    .where('state', '=', 'done')
    .returning(['id', 'outcome'])
    .execute()
}

/** Of these command ids, the ones still stored (the others were deleted with their owner, or taken). */
export async function listStoredClientCommands (db: Kysely<Database>, ids: string[]): Promise<string[]> {
  if (!ids.length) return []
  const rows = await db.selectFrom('client_commands').select('id').where('id', 'in', ids).execute()
  return rows.map((r) => r.id)
}
