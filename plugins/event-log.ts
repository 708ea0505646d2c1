import fp from 'fastify-plugin'
import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import { deleteEventsBefore, findLastEventId, listEventsAfter } from '../db/events.ts'
import type { Database, EventRow } from '../db/types.ts'
import type { Listen } from './db.ts'
import { deleteWebhookLogsBefore } from '../db/webhooks.ts'
import { deleteDeadTokens } from '../db/tokens.ts'
import { coalesce } from '../lib/coalesce.ts'

/** An event as read back from the log: the shape every consumer (live hub, webhooks, room monitor) sees. */
export interface LoggedEvent {
  id: number
  type: string
  /** ISO-8601 with milliseconds: when the event was recorded. */
  timestamp: string
  sessionId: number | null
  data: unknown
}

export type LoggedEventListener = (event: LoggedEvent) => void | Promise<void>

export interface EventLogOptions {
  /** How often the log is read even without a notification (a safety net; NOTIFY normally wakes readers at once). */
  pollMs?: number
  /** How many events one read takes. */
  batchSize?: number
}

export const toLoggedEvent = (row: EventRow): LoggedEvent =>
  ({ id: Number(row.id), type: row.type, timestamp: row.created_at.toISOString(), sessionId: row.session_id, data: row.data })

/**
 * Follows the event log from the newest id at start: on every NOTIFY (and every `pollMs`) it reads the events past
 * its cursor, in id order, and hands each to every listener before moving on. Each process runs one, so every process
 * sees every event in the same order whichever process recorded it. A listener that throws or rejects is logged and
 * never stops the others; listeners are awaited, so a slow one delays the reader (keep them quick, queue real work).
 */
export class EventLogReader {
  readonly #db: Kysely<Database>
  readonly #listen: Listen
  readonly #log: FastifyBaseLogger
  readonly #pollMs: number
  readonly #batchSize: number
  readonly #listeners = new Set<LoggedEventListener>()
  #cursor = 0
  readonly #read = coalesce(() => this.#drain())
  #timer: NodeJS.Timeout | undefined
  #unlisten: (() => Promise<void>) | undefined
  #stopped = false

  constructor (db: Kysely<Database>, listen: Listen, log: FastifyBaseLogger, opts: EventLogOptions = {}) {
    this.#db = db
    this.#listen = listen
    this.#log = log
    this.#pollMs = opts.pollMs ?? 1000
    this.#batchSize = opts.batchSize ?? 500
  }

  /** The id of the last event handed to the listeners. */
  get cursor (): number { return this.#cursor }

  /** Returns the function that unsubscribes. */
  subscribe (listener: LoggedEventListener): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  async start (): Promise<void> {
    this.#cursor = await findLastEventId(this.#db)
    this.#unlisten = await this.#listen('events', () => { this.poll() })
    this.#schedule()
  }

  /** Reads what is new now; resolves when every event recorded before the call has reached the listeners. */
  poll (): Promise<void> {
    return this.#read()
  }

  async stop (): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#unlisten?.()
    await this.#read() // waits for a read in progress; a new one returns at once, stopped
  }

  #schedule () {
    if (this.#stopped) return
    this.#timer = setTimeout(() => { this.poll().finally(() => this.#schedule()) }, this.#pollMs).unref()
  }

  async #drain (): Promise<void> {
    if (this.#stopped) return
    let full = false
    do {
      let rows: EventRow[]
      try {
        rows = await listEventsAfter(this.#db, this.#cursor, this.#batchSize)
      } catch (err) {
        if (!this.#stopped) this.#log.warn(`event log read failed: ${(err as Error).message}`)
        return
      }
      for (const row of rows) {
        const event = toLoggedEvent(row)
        for (const listener of this.#listeners) {
          try {
            await listener(event)
          } catch (err) {
            this.#log.error({ err, event: event.type, eventId: event.id }, 'event listener failed')
          }
        }
        this.#cursor = event.id
      }
      full = rows.length === this.#batchSize
    } while (full && !this.#stopped)
  }
}

const DAY_MS = 24 * 60 * 60 * 1000

// Rows one pruning statement deletes: a few milliseconds of work. A month of events or webhook attempts deleted in one
// statement held the embedded database (one connection, on the main thread) for seconds.
const PRUNE_BATCH = 1000

/** Runs `step` (a delete of at most PRUNE_BATCH rows) until it deletes fewer; returns the total. */
async function inBatches (step: (limit: number) => Promise<number>): Promise<number> {
  let total = 0
  for (;;) {
    const deleted = await step(PRUNE_BATCH)
    total += deleted
    if (deleted < PRUNE_BATCH) return total
  }
}

/** Deletes the events older than `retentionDays` before `now`; returns how many. */
export function pruneEventHistory (db: Kysely<Database>, retentionDays: number, now = Date.now()): Promise<number> {
  const before = new Date(now - retentionDays * DAY_MS)
  return inBatches((limit) => deleteEventsBefore(db, before, limit))
}

/**
 * Everything kept for the retention period and then dropped: the events, the webhook attempts logged (each with its
 * whole payload) and the tokens revoked or expired before it, in short statements. Returns how many rows of each.
 */
export async function pruneHistory (db: Kysely<Database>, retentionDays: number, now = Date.now()) {
  const before = new Date(now - retentionDays * DAY_MS)
  return {
    events: await inBatches((limit) => deleteEventsBefore(db, before, limit)),
    webhookLogs: await inBatches((limit) => deleteWebhookLogsBefore(db, before, limit)),
    tokens: await deleteDeadTokens(db, before)
  }
}

// How often each process deletes the events older than EVENT_RETENTION_DAYS (several processes doing it is harmless).
const PRUNE_EVERY_MS = 60 * 60 * 1000

export default fp<EventLogOptions>(async function eventLog (app, opts) {
  const log = app.log.child({ plugin: 'event-log' })
  const reader = new EventLogReader(app.db, app.dbListen, log, opts)
  const prune = async () => {
    try {
      const deleted = await pruneHistory(app.db, app.config.EVENT_RETENTION_DAYS)
      if (deleted.events || deleted.webhookLogs || deleted.tokens) log.info({ deleted }, 'pruned the event history')
    } catch (err) {
      log.warn(`event history pruning failed: ${(err as Error).message}`)
    }
  }
  let pruning: NodeJS.Timeout | undefined
  app.decorate('eventLog', reader)
  app.addHook('onReady', async () => {
    await reader.start()
    await prune()
    pruning = setInterval(prune, PRUNE_EVERY_MS).unref()
  })
  app.addHook('onClose', async () => {
    clearInterval(pruning)
    await reader.stop()
  })
}, { name: 'event-log', dependencies: ['db'] })

declare module 'fastify' {
  interface FastifyInstance {
    eventLog: EventLogReader
  }
}
