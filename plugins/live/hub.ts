import { EventEmitter } from 'node:events'
import { WebSocket } from 'ws'
import type { FastifyBaseLogger } from 'fastify'
import type { LoggedEvent } from '../event-log.ts'
import type { Identity } from '../auth.ts'
import { Unauthorized } from '../errors.ts'
import { EVENT_TYPES } from '../../schemas/events.ts'
import type { ServerMessage } from '../../schemas/live.ts'
import { CLOSE_TRY_AGAIN_LATER, CLOSE_UNAUTHENTICATED, LiveClient, serialize } from './client.ts'
import { replay } from './resume.ts'
import type { LiveSource } from './source.ts'

export interface LiveHubOptions {
  log: FastifyBaseLogger
  /** The most bytes a client may have queued and unsent before it is dropped. */
  maxBufferedBytes: number
  /** Sockets this process holds at most (LIVE_MAX_CLIENTS). */
  maxClients: number
  /** How long a socket may stay unauthenticated before it is closed with 4401. */
  authTimeoutMs: number
  /** Checks a token (the auth plugin's, so a scoped token is checked against its row like on any route). */
  authenticate: (token: string) => Promise<Identity>
  source: LiveSource
}

interface HubEvents {
  /** A client's subscriptions changed (the connected-clients registry records them for other processes). */
  subscriptions: [client: LiveClient]
  /** A client was signed out: its token expired or was revoked. */
  'signed-out': [client: LiveClient]
}

const CLIENT_EVENTS = new Set<string>(EVENT_TYPES)
// setTimeout's longest wait (2^31 - 1 ms); a longer one fires at once.
const MAX_TIMER_MS = 2_147_483_647

// Text frames, never compressed: a pre-serialized Buffer goes to every client as it is.
const SEND_OPTIONS = { binary: false, compress: false } as const

/**
 * Every connected client of the live WebSocket, its auth state and its subscriptions. Events from the log (of the
 * public EVENT_TYPES only; internal ones stay in) are serialized once and written to each recipient; a recipient too
 * far behind is dropped instead of buffered. The hub decides what a client has yet to see: it takes the floors at auth and
 * at subscribe, and replays a session's history on a resume.
 */
export class LiveHub extends EventEmitter<HubEvents> {
  readonly #clients = new Set<LiveClient>()
  readonly #subscribers = new Map<number, Set<LiveClient>>()
  readonly #maxBufferedBytes: number
  readonly #log: FastifyBaseLogger
  readonly #maxClients: number
  readonly #authTimeoutMs: number
  readonly #authenticate: (token: string) => Promise<Identity>
  /** Where the floors and the replayed history are read (public so a test can watch a resume wait on the reader). */
  readonly source: LiveSource

  constructor (options: LiveHubOptions) {
    super()
    this.#log = options.log
    this.#maxBufferedBytes = options.maxBufferedBytes
    this.#maxClients = options.maxClients
    this.#authTimeoutMs = options.authTimeoutMs
    this.#authenticate = options.authenticate
    this.source = options.source
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

  /**
   * Checks the token and signs the client in (`auth_success`), or tells it why not (`auth_error`). Events committed
   * before the check ends are not live for the client, even if this process's reader has yet to hand them on.
   */
  async authenticate (client: LiveClient, token: string | undefined): Promise<void> {
    if (!token) return this.send(client, { type: 'auth_error', message: 'Token is required' })
    // Revocations seen while the token is checked: its row may have been read before one of them.
    client.revokedDuringAuth = new Set()
    let identity: Identity
    let liveAfter: number
    try {
      identity = await this.#authenticate(token)
      liveAfter = await this.source.newestId()
    } catch (err) {
      client.revokedDuringAuth = null
      if (!(err instanceof Unauthorized)) throw err
      return this.send(client, { type: 'auth_error', message: err.message })
    }
    const revoked = identity.tokenId !== null && client.revokedDuringAuth?.has(identity.tokenId)
    client.revokedDuringAuth = null
    if (revoked) return this.send(client, { type: 'auth_error', message: 'Token revoked' })
    clearTimeout(client.authTimer)
    client.authenticated = true
    client.liveAfter = liveAfter
    client.expiresAt = identity.expiresAt
    client.tokenId = identity.tokenId
    this.#startExpiryTimer(client)
    this.send(client, { type: 'auth_success' })
  }

  /** A token was revoked (`token.revoked` in the log): every client holding it is signed out. */
  revoke (tokenId: number): void {
    for (const client of this.#clients) {
      client.revokedDuringAuth?.add(tokenId)
      if (client.authenticated && client.tokenId === tokenId) this.#signOut(client, 'Token revoked')
    }
  }

  /**
   * Subscribes the client to a session and acks it (`subscribed`). Without `since`, the session's events committed
   * before the subscribe are not sent; with it, the session's history after `since` is replayed first while its live
   * events wait, then those the history did not include.
   */
  async subscribe (client: LiveClient, sessionId: number, since?: number): Promise<void> {
    if (since === undefined) {
      const liveAfter = await this.source.newestId()
      this.#join(client, sessionId, () => client.sessionLiveAfter.set(sessionId, liveAfter))
      return this.send(client, { type: 'subscribed', sessionId })
    }
    this.#join(client, sessionId, () => client.held.set(sessionId, []))
    this.send(client, { type: 'subscribed', sessionId })
    await replay(client, sessionId, since, this.source, {
      write: (bytes) => this.#write(client, bytes),
      abandon: () => this.unsubscribe(client, sessionId)
    })
  }

  #join (client: LiveClient, sessionId: number, setFloor: () => void): void {
    if (!this.#clients.has(client)) return // it disconnected while its subscribe was being checked
    setFloor()
    client.sessions.add(sessionId)
    let set = this.#subscribers.get(sessionId)
    if (!set) this.#subscribers.set(sessionId, set = new Set())
    set.add(client)
    this.emit('subscriptions', client)
  }

  unsubscribe (client: LiveClient, sessionId: number): void {
    if (client.sessions.delete(sessionId)) this.emit('subscriptions', client)
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
    this.emit('signed-out', client)
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
