import { sql, type Kysely } from 'kysely'
import { PREPARED } from './prepared.ts'
import type { Database, EventRow } from './types.ts'

/** Appends one event; its id and timestamp are assigned by the database (see the event-log migration). */
export function insertEvent (db: Kysely<Database>, type: string, sessionId: number | null, data: unknown): Promise<EventRow> {
  return db.insertInto('events')
    .values({ type, session_id: sessionId, data: JSON.stringify(data) })
    .returningAll()
    .executeTakeFirstOrThrow()
}

/**
 * Events with an id above `afterId`, oldest first: what a reader of the whole log has not seen yet. Every process runs
 * it after every commit that records events, so it is a prepared statement (PREPARED).
 */
export async function listEventsAfter (db: Kysely<Database>, afterId: number, limit: number): Promise<EventRow[]> {
  const { rows } = await sql<EventRow>`${sql.raw(PREPARED)}select * from events where id > ${afterId} order by id limit ${limit}`.execute(db)
  return rows
}

/** One session's events with an id above `afterId`, oldest first, optionally of these types only (live resume and the timeline). */
export function listSessionEvents (db: Kysely<Database>, sessionId: number, afterId: number, limit: number,
  types?: readonly string[]): Promise<EventRow[]> {
  return db.selectFrom('events').selectAll()
    .where('session_id', '=', sessionId)
    .where('id', '>', afterId)
    .$if(types !== undefined, (q) => q.where('type', 'in', types!))
    .orderBy('id').limit(limit)
    .execute()
}

/** The newest event id, 0 for an empty log. */
export async function findLastEventId (db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst()
  return Number(row?.id ?? 0)
}

/** Deletes up to `limit` of the events older than `before`, the oldest first (read through events_created_at); returns how many. */
export async function deleteEventsBefore (db: Kysely<Database>, before: Date, limit: number): Promise<number> {
  const result = await db.deleteFrom('events')
    .where('id', 'in', db.selectFrom('events').select('id').where('created_at', '<', before).orderBy('created_at').limit(limit))
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
