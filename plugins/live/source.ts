import type { Kysely } from 'kysely'
import { findLastEventId, listSessionEvents } from '../../db/events.ts'
import type { Database } from '../../db/types.ts'
import { EVENT_TYPES } from '../../schemas/events.ts'
import { toLoggedEvent, type EventLogReader, type LoggedEvent } from '../event-log.ts'

/** What the live hub reads of the event log besides the events its reader hands on: its floors and the history it replays. */
export interface LiveSource {
  /** The newest committed event id (0 for an empty log). */
  newestId (): Promise<number>
  /** A session's events of the public EVENT_TYPES (no internal ones) after `afterId`, in id order, at most `limit`. */
  readSession (sessionId: number, afterId: number, limit: number): Promise<LoggedEvent[]>
  /** Resolves once this process's reader has handed on every event committed before the call. */
  caughtUp (): Promise<void>
}

/** The log in the database, and this process's reader of it. */
export function logSource (db: Kysely<Database>, reader: EventLogReader): LiveSource {
  return {
    newestId: () => findLastEventId(db),
    readSession: async (sessionId, afterId, limit) =>
      (await listSessionEvents(db, sessionId, afterId, limit, EVENT_TYPES)).map(toLoggedEvent),
    caughtUp: () => reader.poll()
  }
}
