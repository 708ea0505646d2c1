import type { Kysely } from 'kysely'
import type { Database } from '../db/types.ts'
import { insertEvent } from '../db/events.ts'
import type { EventType, InternalEventData, InternalEventType } from '../schemas/events.ts'

/**
 * Records a domain event in the caller's transaction. Call it last: the event log's id trigger takes a lock held until
 * commit, so events are numbered in commit order (see the event-log migration).
 */
export async function recordEvent (trx: Kysely<Database>, type: EventType, sessionId: number, data: unknown): Promise<void> {
  await insertEvent(trx, type, sessionId, data)
}

/**
 * Records an internal event (schemas/events.ts INTERNAL_EVENT_TYPES) in the caller's transaction: the room monitor and
 * the live hub of every process read it from the log; clients, webhooks and the timeline never see it.
 */
export async function recordInternalEvent<T extends InternalEventType> (trx: Kysely<Database>, type: T, sessionId: number | null,
  data: InternalEventData<T>): Promise<void> {
  await insertEvent(trx, type, sessionId, data)
}
