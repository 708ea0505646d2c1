import fp from 'fastify-plugin'
import { WebSocket } from 'ws'
import type { FastifyBaseLogger } from 'fastify'
import type { LoggedEvent } from './event-log.ts'
import { EVENT_TYPES, type InternalEventData } from '../schemas/events.ts'
import type { ServerMessage } from '../schemas/live.ts'

export interface LiveEventsOptions {
  /** How often the server pings every client; a client that leaves two pings in a row unanswered is dropped. */
  heartbeatMs?: number
  /**
   * The most bytes a client may have queued and unsent before it is dropped. A client that reads too slowly
   * would otherwise grow the server's memory without bound; dropping it keeps one stalled overlay from costing
   * the others anything, and it can reconnect.
   */
  maxBufferedBytes?: number
  /** How long a socket may stay unauthenticated before it is closed with 4401. */
  authTimeoutMs?: number
}

/** Close codes: 4401 not authenticated in time, 1013 over LIVE_MAX_CLIENTS, 1001 the service shutting down (app.ts). */
export const CLOSE_UNAUTHENTICATED = 4401
export const CLOSE_TRY_AGAIN_LATER = 1013
export const CLOSE_GOING_AWAY = 1001

export class LiveClient {
  authenticated = false
  /** When the token expires, in ms since the epoch: the client is signed out then. */
  expiresAt = Infinity
  /** The scoped token the client authenticated with; null for a login token (or before auth). */
  tokenId: number | null = null
  missedPings = 0
  /**
   * The newest event id committed when the client authenticated: anything at or below it happened before the client
   * was there, however late this process's reader hands it on.
   */
  liveAfter = 0
  /** The same floor per session, taken when the client subscribed without `since`. */
  readonly sessionLiveAfter = new Map<number, number>()
  authTimer: NodeJS.Timeout | undefined
  /** Signs the client out when its token expires. */
  expiryTimer: NodeJS.Timeout | undefined
  /** While an auth message is checked: the tokens revoked meanwhile. */
  revokedDuringAuth: Set<number> | null = null
  readonly sessions = new Set<number>()
  /** Sessions whose history is being replayed (`subscribe` with `since`): their live events wait here meanwhile. */
  readonly held = new Map<number, LoggedEvent[]>()
  constructor (readonly socket: WebSocket) {}
}

const CLIENT_EVENTS = new Set<string>(EVENT_TYPES)
// setTimeout's longest wait (2^31 - 1 ms); a longer one fires at once.
const MAX_TIMER_MS = 2_147_483_647

/** An event as the live socket sends it (the timeline's shape too). */
export const clientEvent = (event: LoggedEvent) => ({ id: event.id, type: event.type, timestamp: event.timestamp, data: event.data })
const serialize = (event: LoggedEvent) => Buffer.from(JSON.stringify(clientEvent(event)))

// Text frames, never compressed: a pre-serialized Buffer goes to every client as it is.
const SEND_OPTIONS = { binary: false, compress: false } as const

/**
 * Every connected client of the live WebSocket, its auth state and its subscriptions. Events from the log (the
 * contract's types only; internal ones stay in) are serialized once and written to each recipient; a recipient too far
 * behind is dropped instead of buffered.
 */
export class LiveHub {
  readonly #clients = new Set<LiveClient>()
  readonly #subscribers = new Map<number, Set<LiveClient>>()
  readonly #maxBufferedBytes: number
  readonly #log: FastifyBaseLogger
  readonly #maxClients: number
  readonly #authTimeoutMs: number
  /** Told when a client's subscriptions change (the connected-clients registry records them for other processes). */
  onSubscriptionsChanged: ((client: LiveClient) => void) | undefined
  /** Told when a client is signed out (its token expired or was revoked): the connected-clients registry forgets it. */
  onSignedOut: ((client: LiveClient) => void) | undefined

  constructor (log: FastifyBaseLogger, { maxBufferedBytes, maxClients, authTimeoutMs }: { maxBufferedBytes: number, maxClients: number, authTimeoutMs: number }) {
    this.#log = log
    this.#maxBufferedBytes = maxBufferedBytes
    this.#maxClients = maxClients
    this.#authTimeoutMs = authTimeoutMs
  }

  get clientCount (): number { return this.#clients.size }

  /**
   * Takes a new socket, or closes it with 1013 and returns undefined when the process already holds as many as it
   * may. A socket still unauthenticated after the auth timeout is closed with 4401.
   */
  connect (socket: WebSocket): LiveClient | undefined {
    if (this.#clients.size >= this.#maxClients) {
      this.#log.warn({ clients: this.#clients.size }, 'refusing a live client: LIVE_MAX_CLIENTS reached')
      socket.close(CLOSE_TRY_AGAIN_LATER, 'Too many clients, try again later')
      return undefined
    }
    const client = new LiveClient(socket)
    this.#clients.add(client)
    this.#startAuthTimer(client)
    socket.on('pong', () => { client.missedPings = 0 })
    socket.on('close', () => this.#remove(client))
    return client
  }

  /** An auth message is being checked: revocations seen meanwhile are kept for `authenticate`. */
  beginAuth (client: LiveClient): void {
    client.revokedDuringAuth = new Set()
  }

  /**
   * `liveAfter`: the newest committed event id when the client authenticated (see LiveClient.liveAfter). False, and the
   * client stays signed out, when the token was revoked while it was being checked (its row may have been read before).
   */
  authenticate (client: LiveClient, expiresAt: number, tokenId: number | null = null, liveAfter = 0): boolean {
    const revoked = tokenId !== null && client.revokedDuringAuth?.has(tokenId)
    client.revokedDuringAuth = null
    if (revoked) return false
    clearTimeout(client.authTimer)
    client.authenticated = true
    client.liveAfter = liveAfter
    client.expiresAt = expiresAt
    client.tokenId = tokenId
    this.#startExpiryTimer(client)
    return true
  }

  /** A token was revoked (`token.revoked` in the log): every client holding it is signed out. */
  revoke (tokenId: number): void {
    for (const client of this.#clients) {
      client.revokedDuringAuth?.add(tokenId)
      if (client.authenticated && client.tokenId === tokenId) this.#signOut(client, 'Token revoked')
    }
  }

  /**
   * With `hold`, the session's live events are held back until `resume` has replayed its history. Without it,
   * `liveAfter` is the newest committed event id at the subscribe: the session's events up to it are not sent.
   */
  subscribe (client: LiveClient, sessionId: number, { hold = false, liveAfter = 0 } = {}): void {
    if (!this.#clients.has(client)) return // it disconnected while its subscribe was being checked
    if (hold) client.held.set(sessionId, [])
    else client.sessionLiveAfter.set(sessionId, liveAfter)
    client.sessions.add(sessionId)
    let set = this.#subscribers.get(sessionId)
    if (!set) this.#subscribers.set(sessionId, set = new Set())
    set.add(client)
    this.onSubscriptionsChanged?.(client)
  }

  unsubscribe (client: LiveClient, sessionId: number): void {
    if (client.sessions.delete(sessionId)) this.onSubscriptionsChanged?.(client)
    client.held.delete(sessionId)
    client.sessionLiveAfter.delete(sessionId)
    const set = this.#subscribers.get(sessionId)
    if (!set) return
    set.delete(client)
    if (set.size === 0) this.#subscribers.delete(sessionId)
  }

  send (client: LiveClient, message: ServerMessage): void {
    this.#write(client, Buffer.from(JSON.stringify(message)))
  }

  /**
   * Replays a session's history to a client subscribed with `hold`: every event after `since` (`read` pages through
   * the log), then the live events held meanwhile that the history did not include, then live ones as they come: no
   * gap and no duplicate. `caughtUp` resolves once this process's reader has handed on every event committed before
   * the call, so after it nothing at or below the last replayed id can still arrive live.
   */
  async resume (client: LiveClient, sessionId: number, since: number,
    read: (afterId: number) => Promise<LoggedEvent[]>, caughtUp: () => Promise<void>): Promise<void> {
    let last = since
    try {
      for (;;) {
        const page = await read(last)
        for (const event of page) {
          if (!client.held.has(sessionId)) return // unsubscribed or gone meanwhile
          this.#write(client, serialize(event))
          last = event.id
        }
        if (page.length === 0) break
      }
      await caughtUp()
    } catch (err) {
      this.unsubscribe(client, sessionId)
      throw err
    }
    const held = client.held.get(sessionId)
    client.held.delete(sessionId)
    for (const event of held ?? []) {
      if (event.id <= last) continue
      this.#write(client, serialize(event))
      last = event.id
    }
    // Everything up to `last` was sent. `caughtUp` resolves even when this process's reader failed to read the log (it
    // retries on its next poll), so the reader may still hand on events the history already replayed: never send them again.
    if (client.sessions.has(sessionId)) client.sessionLiveAfter.set(sessionId, last)
  }

  /** session.started reaches every authenticated client; every other event, the subscribers of its session. */
  broadcast (event: LoggedEvent): void {
    if (!CLIENT_EVENTS.has(event.type)) return
    const recipients = event.type === 'session.started'
      ? this.#clients
      : event.sessionId === null ? undefined : this.#subscribers.get(event.sessionId)
    if (!recipients?.size) return
    let bytes: Buffer | undefined
    for (const client of recipients) {
      if (!client.authenticated || event.id <= client.liveAfter) continue
      if (event.sessionId !== null && event.id <= (client.sessionLiveAfter.get(event.sessionId) ?? 0)) continue
      const held = event.sessionId === null ? undefined : client.held.get(event.sessionId)
      if (held) {
        held.push(event)
        continue
      }
      bytes ??= serialize(event)
      this.#write(client, bytes)
    }
  }

  /** One heartbeat: drop the clients that left the last two pings unanswered, ping the rest, sign out expired tokens. */
  heartbeat (): void {
    const now = Date.now()
    for (const client of this.#clients) {
      if (client.missedPings >= 2) {
        this.#log.info('dropping a live client that missed two pings')
        this.#drop(client)
        continue
      }
      client.missedPings++
      client.socket.ping()
      if (client.authenticated && client.expiresAt <= now) this.#signOut(client, 'Token expired')
    }
  }

  /**
   * The client loses its auth and its subscriptions and is told why; like a new socket, it is closed with 4401 unless
   * it authenticates again within the auth timeout.
   */
  #signOut (client: LiveClient, message: string): void {
    clearTimeout(client.expiryTimer)
    client.authenticated = false
    client.tokenId = null
    for (const sessionId of [...client.sessions]) this.unsubscribe(client, sessionId)
    this.onSignedOut?.(client)
    this.send(client, { type: 'auth_error', message })
    this.#startAuthTimer(client)
  }

  /** At the token's expiry, not at the next heartbeat (a timer fires at most ~24.8 days ahead: it re-arms until then). */
  #startExpiryTimer (client: LiveClient): void {
    clearTimeout(client.expiryTimer)
    if (client.expiresAt === Infinity) return
    const wait = Math.min(Math.max(client.expiresAt - Date.now(), 0), MAX_TIMER_MS)
    client.expiryTimer = setTimeout(() => {
      if (!client.authenticated) return
      if (client.expiresAt <= Date.now()) this.#signOut(client, 'Token expired')
      else this.#startExpiryTimer(client)
    }, wait)
    client.expiryTimer.unref()
  }

  #startAuthTimer (client: LiveClient): void {
    clearTimeout(client.authTimer)
    client.authTimer = setTimeout(() => {
      if (!client.authenticated) client.socket.close(CLOSE_UNAUTHENTICATED, 'Not authenticated')
    }, this.#authTimeoutMs)
    client.authTimer.unref()
  }

  #write (client: LiveClient, bytes: Buffer): void {
    const { socket } = client
    if (socket.readyState !== WebSocket.OPEN) return
    if (socket.bufferedAmount > this.#maxBufferedBytes) {
      this.#log.warn({ bufferedAmount: socket.bufferedAmount }, 'dropping a live client that fell too far behind')
      this.#drop(client)
      return
    }
    socket.send(bytes, SEND_OPTIONS)
  }

  #drop (client: LiveClient): void {
    this.#remove(client)
    client.socket.terminate()
  }

  #remove (client: LiveClient): void {
    clearTimeout(client.authTimer)
    clearTimeout(client.expiryTimer)
    if (!this.#clients.delete(client)) return
    for (const sessionId of [...client.sessions]) this.unsubscribe(client, sessionId)
  }
}

export default fp<LiveEventsOptions>(async function liveEvents (app, opts) {
  const hub = new LiveHub(app.log.child({ plugin: 'live-events' }), {
    maxBufferedBytes: opts.maxBufferedBytes ?? 1024 * 1024,
    maxClients: app.config.LIVE_MAX_CLIENTS,
    authTimeoutMs: opts.authTimeoutMs ?? 10_000
  })
  const unsubscribe = app.eventLog.subscribe((event) => {
    if (event.type === 'token.revoked') {
      const { tokenId } = event.data as InternalEventData<'token.revoked'>
      app.forgetToken(tokenId) // this process's HTTP requests refuse it at once too, not after the cache's 500 ms
      hub.revoke(tokenId)
      return
    }
    hub.broadcast(event)
  })
  const heartbeat = setInterval(() => hub.heartbeat(), opts.heartbeatMs ?? 30_000)
  heartbeat.unref()
  app.decorate('liveEvents', hub)
  app.addHook('onClose', async () => {
    clearInterval(heartbeat)
    unsubscribe()
  })
}, { name: 'live-events', dependencies: ['event-log', 'auth'] })

declare module 'fastify' {
  interface FastifyInstance {
    liveEvents: LiveHub
  }
}
