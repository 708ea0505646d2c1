import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Dispatcher } from 'undici'
import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../db/types.ts'
import type { Listen } from '../plugins/db.ts'
import { isDatabaseDown } from '../plugins/errors.ts'
import type { Lookup } from './targets.ts'
import { coalesce } from '../lib/coalesce.ts'
import { attemptLogRow, sendAttempt, type AttemptContext, type AttemptResult } from './attempt.ts'
import {
  claimDueDeliveries, deleteOldDeliveries, findNextDeliveryDue, insertWebhookLog, updateDeliveryAfterAttempt,
  type ClaimedDelivery, type WebhookLogInput, type WebhookTarget
} from '../db/webhooks.ts'

export interface WebhooksOptions {
  /** Called after each attempt with its outcome (the metrics count them). */
  onAttempt?: (outcome: 'delivered' | 'retrying' | 'failed' | 'test') => void
  /** Outbound HTTP. Defaults to an Agent the plugin owns, whose connections check every target address. A dispatcher
   *  passed in (a MockAgent in tests) gets the same check in front of each request (`guardTargets`). */
  dispatcher?: Dispatcher
  /** Name resolution for the target check (tests inject names that resolve where they need). */
  lookup?: Lookup
  /** The waits between attempts (each at least 1 s in production); one more attempt than there are waits. */
  retryDelaysMs?: number[]
  /** Per attempt, from sending the request to reading the whole response. */
  timeoutMs?: number
  /** On close, how long deliveries still in flight may finish before they are aborted. */
  shutdownGraceMs?: number
  /** How long a claim on a delivery lasts; a process that dies mid-attempt leaves it due again after this. */
  claimMs?: number
  /** The longest wait between two looks for due deliveries (NOTIFY and the next due time normally wake sooner). */
  pollMs?: number
  /** Attempts one process sends at once. */
  concurrency?: number
  /** Days a delivery may stay pending (EVENT_RETENTION_DAYS); older ones are dropped with the event history. */
  retentionDays?: number
}

const DAY_MS = 86_400_000

export const DEFAULT_RETRY_DELAYS_MS = [2000, 10_000]

export type WebhookLogEntry = Awaited<ReturnType<typeof insertWebhookLog>>

/**
 * Sends the webhook deliveries recorded in the database (a trigger on the event log writes them with their event).
 * Each process runs one: it claims due deliveries (FOR UPDATE SKIP LOCKED, with a claim expiry), sends each attempt,
 * and records the attempt in webhook_logs and its outcome on the delivery in one transaction. It wakes on the
 * `webhook_deliveries` notification, at the next due time, and at least every `pollMs`.
 */
export class WebhookDispatcher {
  readonly #db: Kysely<Database>
  readonly #listen: Listen
  readonly #log: FastifyBaseLogger
  readonly #retryDelaysMs: number[]
  readonly #claimMs: number
  readonly #pollMs: number
  readonly #concurrency: number
  readonly #retentionDays: number
  readonly #onAttempt: NonNullable<WebhooksOptions['onAttempt']>
  readonly #inFlight = new Set<Promise<unknown>>()
  readonly #shutdown = new AbortController()
  readonly #sending: AttemptContext
  readonly #look = coalesce(() => this.#drain())
  #timer: NodeJS.Timeout | undefined
  #unlisten: (() => Promise<void>) | undefined
  #stopped = false
  #lastPrune = 0

  constructor (db: Kysely<Database>, listen: Listen, log: FastifyBaseLogger, dispatcher: Dispatcher, opts: WebhooksOptions) {
    this.#db = db
    this.#listen = listen
    this.#log = log
    this.#retryDelaysMs = opts.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS
    this.#sending = { dispatcher, timeoutMs: opts.timeoutMs ?? 5000, shutdown: this.#shutdown.signal }
    this.#claimMs = opts.claimMs ?? 60_000
    this.#pollMs = opts.pollMs ?? 5000
    this.#concurrency = opts.concurrency ?? 8
    this.#retentionDays = opts.retentionDays ?? 30
    this.#onAttempt = opts.onAttempt ?? (() => {})
  }

  get maxAttempts (): number { return this.#retryDelaysMs.length + 1 }

  /** Attempts being sent by this process now. */
  get pendingCount (): number { return this.#inFlight.size }

  /** Starts following the deliveries, beginning with those left pending by an earlier run. */
  async start (): Promise<void> {
    this.#unlisten = await this.#listen('webhook_deliveries', () => { this.wake() })
    await this.wake()
  }

  /** Looks for due deliveries now (a wake during a look gets one more after it); resolves when that look is done. */
  wake (): Promise<void> {
    if (this.#stopped) return Promise.resolve()
    return this.#look()
  }

  async #drain (): Promise<void> {
    if (this.#stopped) return
    clearTimeout(this.#timer)
    let nextMs = this.#pollMs
    try {
      let more = false
      do {
        const free = this.#concurrency - this.#inFlight.size
        if (free <= 0) break // a finishing attempt wakes the dispatcher again
        const claimed = await claimDueDeliveries(this.#db, free, this.#claimMs)
        for (const delivery of claimed) this.#track(this.#send(delivery))
        more = claimed.length === free
      } while (more && !this.#stopped)
      const due = await findNextDeliveryDue(this.#db)
      if (due !== undefined) nextMs = Math.min(nextMs, Math.max(due, 10))
      await this.#prune()
    } catch (err) {
      if (!this.#stopped) this.#log.warn(`webhook deliveries could not be read: ${(err as Error).message}`)
    }
    if (!this.#stopped) this.#timer = setTimeout(() => { this.wake() }, nextMs).unref()
  }

  // Finished deliveries are kept a day (their attempts stay in webhook_logs); pending ones as long as the event history.
  async #prune () {
    if (Date.now() - this.#lastPrune < 3_600_000) return
    this.#lastPrune = Date.now()
    await deleteOldDeliveries(this.#db, new Date(Date.now() - DAY_MS), new Date(Date.now() - this.#retentionDays * DAY_MS))
  }

  /** One attempt of a claimed delivery, then its outcome recorded with its log entry. */
  async #send (delivery: ClaimedDelivery): Promise<void> {
    const body = JSON.stringify({ event: delivery.event, timestamp: delivery.event_at.toISOString(), data: delivery.data })
    const attempt = delivery.attempts + 1
    const result = await sendAttempt(this.#sending, delivery, body, delivery.id)
    const retryInMs = this.#retryDelaysMs[attempt - 1]
    const recorded = await this.#record(delivery, attemptLogRow(delivery.webhook_id, delivery.event, delivery.id, body, attempt, result),
      result.success ? { status: 'succeeded' } : retryInMs === undefined ? { status: 'failed' } : { status: 'pending', retryInMs })
    if (!recorded) {
      this.#log.warn({ webhookId: delivery.webhook_id, deliveryId: delivery.id, attempt }, 'webhook attempt not recorded: the delivery was claimed again meanwhile')
      return
    }
    // Logged once recorded: what the line says has been stored.
    this.#logAttempt(delivery.webhook_id, delivery.event, delivery.id, attempt, result, result.success ? undefined : retryInMs ?? null)
  }

  /**
   * Stores an attempt's log entry and outcome, under the claim it was sent with (false: claimed again since, nothing
   * stored). While the database is down it tries again, backing off, until the claim runs out: the outcome lands as
   * soon as the database returns, instead of the delivery waiting out its claim to be sent again.
   */
  async #record (delivery: ClaimedDelivery, log: WebhookLogInput,
    outcome: Parameters<typeof updateDeliveryAfterAttempt>[3]): Promise<boolean> {
    const claimEnds = delivery.claimed_until?.getTime() ?? 0
    for (let waitMs = 250; ; waitMs = Math.min(waitMs * 2, 2000)) {
      try {
        return await this.#db.transaction().execute(async (trx) => {
          if (!await updateDeliveryAfterAttempt(trx, delivery.id, delivery.claim!, outcome)) return false
          await insertWebhookLog(trx, log)
          return true
        })
      } catch (err) {
        if (!isDatabaseDown(err) || this.#shutdown.signal.aborted || Date.now() + waitMs >= claimEnds) throw err
        this.#log.warn({ deliveryId: delivery.id, retryInMs: waitMs }, `could not record a webhook attempt: ${(err as Error).message}`)
        await sleep(waitMs, undefined, { signal: this.#shutdown.signal }).catch(() => {})
        if (this.#shutdown.signal.aborted) throw err
      }
    }
  }

  /** `retryInMs`: null when the delivery has no attempt left, undefined when it succeeded or is a test. */
  #logAttempt (webhookId: number, event: string, deliveryId: string, attempt: number, result: AttemptResult, retryInMs?: number | null) {
    const context = { webhookId, deliveryId, event, attempt, statusCode: result.statusCode, durationMs: result.durationMs }
    this.#onAttempt(result.success ? 'delivered' : retryInMs === undefined ? 'test' : retryInMs === null ? 'failed' : 'retrying')
    if (result.success) this.#log.debug(context, 'webhook delivered')
    else if (retryInMs === undefined) this.#log.warn({ ...context, error: result.error }, 'webhook attempt failed')
    else if (retryInMs === null) this.#log.warn({ ...context, error: result.error }, 'webhook attempt failed; no attempt left')
    else this.#log.warn({ ...context, error: result.error, retryInMs }, 'webhook attempt failed; will retry')
  }

  /** One `webhook.test` delivery, a single attempt sent now (not queued), answered with its log entry. */
  async sendTest (target: WebhookTarget): Promise<WebhookLogEntry> {
    const work = (async () => {
      const event = 'webhook.test'
      const body = JSON.stringify({
        event,
        timestamp: new Date().toISOString(),
        data: { webhookId: target.id, message: 'This is a test delivery from the Jackbox game-night service' }
      })
      const deliveryId = randomUUID()
      const result = await sendAttempt(this.#sending, { webhook_id: target.id, event, url: target.url, secret: target.secret }, body, deliveryId)
      const entry = await insertWebhookLog(this.#db, attemptLogRow(target.id, event, deliveryId, body, 1, result))
      this.#logAttempt(target.id, event, deliveryId, 1, result)
      return entry
    })()
    this.#track(work)
    return work
  }

  #track (work: Promise<unknown>): void {
    const tracked: Promise<unknown> = work
      .catch((err) => this.#log.error({ err }, 'webhook delivery failed'))
      .finally(() => {
        this.#inFlight.delete(tracked)
        this.wake()
      })
    this.#inFlight.add(tracked)
  }

  /**
   * Stops claiming, waits up to `graceMs` for attempts in flight, then aborts the rest (each is logged and counted;
   * a delivery with attempts left stays pending for the next start).
   */
  async close (graceMs: number): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#unlisten?.()
    await this.#look() // waits for a look in progress; a new one returns at once, stopped
    if (this.#inFlight.size > 0) {
      const grace = new AbortController()
      await Promise.race([
        Promise.allSettled(this.#inFlight),
        sleep(graceMs, undefined, { signal: grace.signal }).catch(() => {})
      ])
      grace.abort()
    }
    this.#shutdown.abort()
    await Promise.allSettled(this.#inFlight)
  }
}
