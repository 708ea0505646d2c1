import { sql, type Kysely } from 'kysely'
import type { ChatPlatform, ChatSourceStatus, Database, Flag } from './types.ts'
import { expiry } from './expiry.ts'

function selectPublic (db: Kysely<Database>) {
  return db.selectFrom('chat_sources as s').select([
    's.id', 's.platform', 's.channel', 's.enabled', 's.status', 's.status_message', 's.last_message_at',
    (eb) => eb.selectFrom('live_votes').select(sql<number>`count(*)::int`.as('n')).whereRef('chat_source_id', '=', 's.id').as('votes_counted'),
    's.votes_refused', 's.created_at'
  ]).$narrowType<{ votes_counted: number }>()
}

export function listChatSources (db: Kysely<Database>) {
  return selectPublic(db).orderBy('s.id').execute()
}

export function findChatSource (db: Kysely<Database>, id: number) {
  return selectPublic(db).where('s.id', '=', id).executeTakeFirst()
}

/** Undefined: the platform and channel exist already. */
export async function insertChatSource (db: Kysely<Database>, platform: ChatPlatform, channel: string) {
  const row = await db.insertInto('chat_sources').values({ platform, channel })
    .onConflict((oc) => oc.columns(['platform', 'channel']).doNothing())
    .returning('id').executeTakeFirst()
  return row && findChatSource(db, row.id)
}

/**
 * Enables or disables a source; false when there is none. Either way the lease is let go, so its reader (whichever
 * process) closes the connection, and an enabled source is taken afresh.
 */
export async function updateChatSourceEnabled (db: Kysely<Database>, id: number, enabled: Flag): Promise<boolean> {
  const result = await db.updateTable('chat_sources')
    .set({ enabled, status: enabled ? 'connecting' : 'disabled', status_message: null, lease_owner: null, lease_expires_at: null })
    .where('id', '=', id)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

export async function deleteChatSource (db: Kysely<Database>, id: number): Promise<boolean> {
  const result = await db.deleteFrom('chat_sources').where('id', '=', id).executeTakeFirst()
  return result.numDeletedRows > 0n
}

/** What a reader needs to connect. */
export interface ChatSourceTarget { id: number, platform: ChatPlatform, channel: string }

/** Extends every lease `owner` holds on an enabled source; returns those sources (a lease taken, let go or deleted is absent). */
export function renewChatSourceLeases (db: Kysely<Database>, owner: string, ttlMs: number): Promise<ChatSourceTarget[]> {
  return db.updateTable('chat_sources')
    .set({ lease_expires_at: expiry(ttlMs) })
    .where('lease_owner', '=', owner).where('enabled', '=', 1)
    .returning(['id', 'platform', 'channel'])
    .execute()
}

/**
 * Takes up to `limit` enabled sources no live process reads (never taken, let go, or their owner's lease expired),
 * skipping rows another process is taking at this moment, so two processes never take the same source.
 */
export function takeFreeChatSources (db: Kysely<Database>, owner: string, ttlMs: number, limit: number): Promise<ChatSourceTarget[]> {
  return db.updateTable('chat_sources')
    .set({ lease_owner: owner, lease_expires_at: expiry(ttlMs) })
    .where('id', 'in', (eb) => eb.selectFrom('chat_sources')
      .select('id')
      .where('enabled', '=', 1)
      .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_expires_at', '<', sql<Date>`now()`)]))
      .orderBy('id')
      .limit(limit)
      .forUpdate().skipLocked())
    .returning(['id', 'platform', 'channel'])
    .execute()
}

/** Lets go of leases `owner` holds (all, or the given sources): free for any process to take now. */
export async function releaseChatSourceLeases (db: Kysely<Database>, owner: string, ids?: number[]): Promise<number> {
  if (ids && !ids.length) return 0
  let query = db.updateTable('chat_sources')
    .set({ lease_owner: null, lease_expires_at: null, status: 'connecting', status_message: null })
    .where('lease_owner', '=', owner).where('enabled', '=', 1)
  if (ids) query = query.where('id', 'in', ids)
  const result = await query.executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/** The reader's status, written only while `owner` holds the source's lease (a reader that lost it says nothing). */
export async function updateChatSourceStatus (db: Kysely<Database>, id: number, owner: string, status: ChatSourceStatus, message: string | null) {
  await db.updateTable('chat_sources')
    .set({ status, status_message: message })
    .where('id', '=', id).where('lease_owner', '=', owner).where('enabled', '=', 1)
    .execute()
}

/** Adds what a reader saw since its last report: the last message's time and the votes refused meanwhile. */
export async function addChatSourceActivity (db: Kysely<Database>, id: number, owner: string, lastMessageAt: Date | null, refused: number) {
  await db.updateTable('chat_sources')
    .set((eb) => ({
      last_message_at: lastMessageAt === null
        ? eb.ref('last_message_at')
        : sql<Date>`greatest(last_message_at, ${lastMessageAt}::timestamptz)`,
      votes_refused: eb('votes_refused', '+', refused)
    }))
    .where('id', '=', id).where('lease_owner', '=', owner)
    .execute()
}
