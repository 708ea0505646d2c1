import type { FastifyBaseLogger } from 'fastify'
import pg from 'pg'

/**
 * LISTENs on a channel and calls `onNotify` for each notification, and once more after every reconnect (a
 * notification sent while disconnected is lost, so a listener must then catch up by reading). Resolves once
 * listening; the returned function stops.
 */
export type Listen = (channel: string, onNotify: () => void) => Promise<() => Promise<void>>

// The first wait before reconnecting, doubled after each failure up to the last.
const FIRST_RETRY_MS = 250
const LAST_RETRY_MS = 5000

/**
 * One connection per process, outside the pool, that LISTENs on every channel the process follows and hands each
 * notification to that channel's listeners. When it drops (a database restart, a half-open connection noticed by
 * TCP keepalive) one loop re-opens it with backoff, LISTENs on every channel again and calls every listener once.
 */
export class DbListener {
  readonly #config: pg.ClientConfig
  readonly #log: FastifyBaseLogger
  readonly #channels = new Map<string, Set<() => void>>()
  /** The channels LISTENed on the current connection. */
  readonly #listening = new Set<string>()
  #client: pg.Client | undefined
  #opening: Promise<void> | undefined
  #retry: NodeJS.Timeout | undefined
  #delay = FIRST_RETRY_MS
  #closed = false

  constructor (config: pg.ClientConfig, log: FastifyBaseLogger) {
    this.#config = config
    this.#log = log
  }

  /** Listen on this connection (see Listen). The first call opens it, and rejects when it cannot. */
  readonly listen: Listen = async (channel, onNotify) => {
    if (this.#closed) throw new Error('the database listener is closed')
    const handler = () => onNotify() // one entry per call, even for the same function
    let handlers = this.#channels.get(channel)
    if (!handlers) this.#channels.set(channel, handlers = new Set())
    handlers.add(handler)
    try {
      if (!this.#client && !this.#retry) await (this.#opening ??= this.#open().finally(() => { this.#opening = undefined }))
      // While reconnecting, the new connection LISTENs on it.
      if (this.#client) await this.#sync(this.#client)
    } catch (err) {
      this.#remove(channel, handler)
      throw err
    }
    return async () => {
      this.#remove(channel, handler)
      if (this.#client) await this.#sync(this.#client).catch(() => {})
    }
  }

  async close (): Promise<void> {
    this.#closed = true
    clearTimeout(this.#retry)
    this.#retry = undefined
    await this.#opening?.catch(() => {})
    const client = this.#client
    this.#client = undefined
    await client?.end().catch(() => {})
  }

  #remove (channel: string, handler: () => void): void {
    const handlers = this.#channels.get(channel)
    handlers?.delete(handler)
    if (handlers?.size === 0) this.#channels.delete(channel)
  }

  /** Connects and LISTENs on every channel followed. */
  async #open (): Promise<void> {
    const c = new pg.Client(this.#config)
    c.on('notification', (message) => {
      for (const handler of this.#channels.get(message.channel) ?? []) handler()
    })
    c.on('error', (err) => {
      this.#log.warn(`database listener lost: ${err.message}`)
      this.#reconnect(c)
    })
    c.on('end', () => this.#reconnect(c))
    try {
      await c.connect()
      if (this.#closed) throw new Error('closed')
      this.#listening.clear()
      this.#client = c
      await this.#sync(c)
    } catch (err) {
      if (this.#client === c) this.#client = undefined
      c.end().catch(() => {})
      throw err
    }
    this.#delay = FIRST_RETRY_MS
  }

  /** LISTENs on the channels followed and not yet listened on, UNLISTENs from those no longer followed. */
  async #sync (c: pg.Client): Promise<void> {
    const statements: string[] = []
    for (const channel of this.#channels.keys()) {
      if (this.#listening.has(channel)) continue
      this.#listening.add(channel)
      statements.push(`listen ${pg.escapeIdentifier(channel)}`)
    }
    for (const channel of this.#listening) {
      if (this.#channels.has(channel)) continue
      this.#listening.delete(channel)
      statements.push(`unlisten ${pg.escapeIdentifier(channel)}`)
    }
    // One query, so the statements of concurrent calls never interleave (pg runs a client's queries in order anyway).
    if (statements.length) await c.query(statements.join('; '))
  }

  #reconnect (c: pg.Client): void {
    if (this.#closed || this.#client !== c || this.#retry) return
    this.#client = undefined
    c.end().catch(() => {})
    const attempt = () => {
      this.#open().then(() => {
        this.#retry = undefined
        if (this.#closed) return
        for (const handlers of [...this.#channels.values()]) for (const handler of [...handlers]) handler()
      }, () => {
        if (this.#closed) return
        this.#delay = Math.min(this.#delay * 2, LAST_RETRY_MS)
        this.#retry = setTimeout(attempt, this.#delay).unref()
      })
    }
    this.#retry = setTimeout(attempt, this.#delay).unref()
  }
}
