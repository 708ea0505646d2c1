import fp from 'fastify-plugin'
import { createHmac, randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request, type Dispatcher } from 'undici'
import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../db/types.ts'
import type { DomainEvent } from './events.ts'
import { WEBHOOK_EVENTS } from '../schemas/events.ts'
import { insertWebhookLog, listEnabledWebhookTargets, type WebhookTarget } from '../db/webhooks.ts'

export interface WebhooksOptions {
  /** Outbound HTTP; defaults to an Agent the plugin owns and closes. */
  dispatcher?: Dispatcher
  /** The waits between attempts; one more attempt than there are waits. */
  retryDelaysMs?: number[]
  /** Per attempt, from sending the request to reading the whole response. */
  timeoutMs?: number
  /** On close, how long deliveries still in flight may finish before they are aborted. */
  shutdownGraceMs?: number
}

const WEBHOOK_EVENT_SET = new Set<string>(WEBHOOK_EVENTS)

export type WebhookLogEntry = Awaited<ReturnType<typeof insertWebhookLog>>

/**
 * Delivers bus events to the webhooks subscribed to them. Each delivery runs in the background (the API response
 * never waits for it) and is tracked, so that close can give it a grace period and then abort it.
 */
export class WebhookDispatcher {
  readonly #db: Kysely<Database>
  readonly #log: FastifyBaseLogger
  readonly #dispatcher: Dispatcher
  readonly #retryDelaysMs: number[]
  readonly #timeoutMs: number
  readonly #pending = new Set<Promise<unknown>>()
  readonly #shutdown = new AbortController()
  // The enabled webhooks, read once and kept until a webhook route changes them: votes and player counts publish
  // often, and most installs have few or no webhooks, so a query per event would be wasted work.
  #targets: ReturnType<typeof listEnabledWebhookTargets> | undefined

  constructor (db: Kysely<Database>, log: FastifyBaseLogger, dispatcher: Dispatcher, opts: WebhooksOptions) {
    this.#db = db
    this.#log = log
    this.#dispatcher = dispatcher
    this.#retryDelaysMs = opts.retryDelaysMs ?? [500, 1000]
    this.#timeoutMs = opts.timeoutMs ?? 5000
  }

  get pendingCount (): number { return this.#pending.size }

  /** The bus listener: finds the enabled webhooks subscribed to the event and delivers to each in the background. */
  handle (event: DomainEvent): void {
    if (!WEBHOOK_EVENT_SET.has(event.type) || this.#shutdown.signal.aborted) return
    this.#track((async () => {
      const targets = (await this.#enabledTargets()).filter((target) => target.events.includes(event.type))
      await Promise.all(targets.map((target) => this.deliver(target, event.type, event.timestamp, event.data)))
    })())
  }

  /** Called after a webhook is created, changed or deleted (after its write commits). */
  invalidateTargets (): void {
    this.#targets = undefined
  }

  #enabledTargets () {
    if (!this.#targets) {
      const loading = listEnabledWebhookTargets(this.#db)
      // A failed read is not cached: the next event tries again.
      loading.catch(() => { if (this.#targets === loading) this.#targets = undefined })
      this.#targets = loading
    }
    return this.#targets
  }

  /** One `webhook.test` delivery, a single attempt, answered with its log entry. */
  sendTest (target: WebhookTarget): Promise<WebhookLogEntry> {
    const delivery = this.deliver(target, 'webhook.test', new Date().toISOString(),
      { webhookId: target.id, message: 'This is a test delivery from the Jackbox game-night service' }, 1)
    this.#track(delivery)
    return delivery
  }

  /** Delivers one event with retries; every attempt is logged. Resolves with the last attempt's log entry. */
  async deliver (target: WebhookTarget, event: string, timestamp: string, data: unknown,
    attempts = this.#retryDelaysMs.length + 1): Promise<WebhookLogEntry> {
    const deliveryId = randomUUID()
    const body = JSON.stringify({ event, timestamp, data })
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'jackbox-gamenight-webhooks/1',
      'x-webhook-event': event,
      'x-webhook-delivery': deliveryId
    }
    if (target.secret !== null) headers['x-webhook-signature'] = `sha256=${createHmac('sha256', target.secret).update(body).digest('hex')}`
    for (let attempt = 1; ; attempt++) {
      const entry = await this.#attempt(target, event, deliveryId, body, headers, attempt)
      if (entry.success || attempt >= attempts || this.#shutdown.signal.aborted) return entry
      try {
        await sleep(this.#retryDelaysMs[attempt - 1] ?? 0, undefined, { signal: this.#shutdown.signal })
      } catch {
        return entry
      }
    }
  }

  async #attempt (target: WebhookTarget, event: string, deliveryId: string, body: string,
    headers: Record<string, string>, attempt: number): Promise<WebhookLogEntry> {
    const started = performance.now()
    let statusCode: number | null = null
    let error: string | null = null
    // One controller per attempt for both the timeout and shutdown (AbortSignal.any keeps its inputs alive on Node 20).
    const abort = new AbortController()
    const timer = setTimeout(() => abort.abort(new DOMException('timed out', 'TimeoutError')), this.#timeoutMs)
    const onShutdown = () => abort.abort(this.#shutdown.signal.reason)
    this.#shutdown.signal.addEventListener('abort', onShutdown, { once: true })
    try {
      const res = await request(target.url, { method: 'POST', headers, body, dispatcher: this.#dispatcher, signal: abort.signal })
      statusCode = res.statusCode
      await res.body.dump()
      if (statusCode < 200 || statusCode >= 300) error = `The receiver answered ${statusCode}`
    } catch (err) {
      error = this.#describe(err)
    } finally {
      clearTimeout(timer)
      this.#shutdown.signal.removeEventListener('abort', onShutdown)
    }
    const durationMs = Math.round(performance.now() - started)
    const success = error === null
    const logContext = { webhookId: target.id, deliveryId, event, attempt, statusCode, durationMs }
    if (success) this.#log.debug(logContext, 'webhook delivered')
    else this.#log.warn({ ...logContext, error }, 'webhook attempt failed')
    return insertWebhookLog(this.#db, {
      webhook_id: target.id,
      event,
      delivery_id: deliveryId,
      payload: body,
      status_code: statusCode,
      success,
      error,
      attempt,
      duration_ms: durationMs
    })
  }

  #describe (err: unknown): string {
    if (this.#shutdown.signal.aborted) return 'Aborted: the service is shutting down'
    const { name, message, code } = err as { name?: string, message?: string, code?: string }
    if (name === 'TimeoutError') return `Timed out after ${this.#timeoutMs} ms`
    return [code, message].filter(Boolean).join(': ') || 'Request failed'
  }

  #track (work: Promise<unknown>): void {
    const tracked: Promise<unknown> = work
      .catch((err) => this.#log.error({ err }, 'webhook delivery failed'))
      .finally(() => this.#pending.delete(tracked))
    this.#pending.add(tracked)
  }

  /** Stops taking events, waits up to `graceMs` for deliveries in flight, then aborts the rest. */
  async close (graceMs: number): Promise<void> {
    if (this.#pending.size > 0) {
      const grace = new AbortController()
      await Promise.race([
        Promise.allSettled(this.#pending),
        sleep(graceMs, undefined, { signal: grace.signal }).catch(() => {})
      ])
      grace.abort()
    }
    this.#shutdown.abort()
    await Promise.allSettled(this.#pending)
  }
}

export default fp<WebhooksOptions>(async function webhooks (app, opts) {
  const agent = opts.dispatcher ? undefined : new Agent()
  const dispatcher = new WebhookDispatcher(app.db, app.log.child({ plugin: 'webhooks' }), opts.dispatcher ?? agent!, opts)
  const unsubscribe = app.events.subscribe((event) => dispatcher.handle(event))
  app.decorate('webhooks', dispatcher)
  app.addHook('onClose', async () => {
    unsubscribe()
    await dispatcher.close(opts.shutdownGraceMs ?? 5000)
    await agent?.close()
  })
}, { name: 'webhooks', dependencies: ['db', 'events'] })

declare module 'fastify' {
  interface FastifyInstance {
    webhooks: WebhookDispatcher
  }
}
