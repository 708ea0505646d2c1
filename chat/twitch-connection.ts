import { ChatClient, LogLevel } from '@twurple/chat'
import type { TwitchClientTarget } from './twitch-url.ts'
import type { BackgroundLogger } from '../lib/logger.ts'

/** One chat message as the reader needs it. */
export interface ChatLine {
  /** The platform's id of the message (the `id` tag). */
  id: string
  /** The chatter's login. */
  login: string
  text: string
  /** The platform's send time (the `tmi-sent-ts` tag). */
  sentAt: Date
}

export type ConnectionStatus = 'connecting' | 'connected' | 'error'

export interface TwitchConnectionOptions {
  channel: string
  target: TwitchClientTarget
  message (line: ChatLine): void
  status (status: ConnectionStatus, message: string | null): void
  log: BackgroundLogger
  /** The first wait before reconnecting, doubled after each failure up to `maxBackoffMs` (1 s and 60 s). */
  minBackoffMs?: number
  maxBackoffMs?: number
}

// A NOTICE that refuses a JOIN: the channel is gone or suspended, or this connection is banned from it.
const JOIN_REFUSALS = new Set(['msg_channel_suspended', 'msg_banned'])

/**
 * An anonymous, read-only connection to one Twitch channel. It knows nothing of Fastify or the database: it reports
 * messages and status changes. Reconnection is its own (1 s, doubling up to 60 s; a join resets it), so it can say in
 * its status when it tries again: each attempt is a fresh ChatClient, and a retired one is quit before it can retry on
 * its own. A RECONNECT from the server (Twitch is about to restart the socket) reconnects at once.
 */
export class TwitchConnection {
  readonly #o: TwitchConnectionOptions
  readonly #minMs: number
  readonly #maxMs: number
  #client: ChatClient | undefined
  #timer: NodeJS.Timeout | undefined
  #failures = 0
  #refused: string | null = null
  #stopped = false

  constructor (options: TwitchConnectionOptions) {
    this.#o = options
    this.#minMs = options.minBackoffMs ?? 1000
    this.#maxMs = options.maxBackoffMs ?? 60_000
  }

  start (): void {
    this.#connect()
  }

  /** Closes the socket (a close frame after QUIT, not a dropped connection); resolves once it is closed, 2 s at most. */
  async stop (): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    const client = this.#client
    this.#client = undefined
    if (!client || (!client.isConnected && !client.isConnecting)) {
      client?.quit()
      return
    }
    const closed = new Promise<void>((resolve) => {
      client.onDisconnect(() => resolve())
      setTimeout(resolve, 2000).unref()
    })
    if (client.isConnected) client.irc.quit()
    client.quit()
    await closed
  }

  #connect (): void {
    if (this.#stopped) return
    // After a refused join, the status keeps the platform's words until a join succeeds.
    if (this.#refused === null) this.#o.status('connecting', this.#failures ? 'Reconnecting' : null)
    const { channel } = this.#o
    const client = new ChatClient({
      ...this.#o.target,
      channels: [channel],
      readOnly: true,
      logger: { minLevel: LogLevel.CRITICAL }
    })
    this.#client = client
    const current = () => client === this.#client && !this.#stopped
    const notices = new Map<string, string>()
    client.irc.onAnyMessage((msg) => {
      if (!current()) return
      if (msg.command === 'NOTICE') {
        const msgId = msg.tags.get('msg-id')
        if (msgId) notices.set(msgId, (msg as unknown as { text?: string }).text ?? msgId)
      } else if (msg.command === 'RECONNECT') {
        this.#o.log.info({ channel }, 'the chat server asked to reconnect')
        this.#retry(client, 0, 'The server asked to reconnect')
      }
    })
    client.onJoin((joined) => {
      if (!current() || joined !== channel) return
      this.#failures = 0
      this.#refused = null
      this.#o.status('connected', null)
    })
    client.onJoinFailure((joined, reason) => {
      if (!current() || joined !== channel || !JOIN_REFUSALS.has(reason)) return
      this.#refused = notices.get(reason) ?? reason
      this.#o.log.warn({ channel, reason }, 'the chat server refused to join the channel')
      this.#o.status('error', this.#refused)
      this.#retry(client, this.#nextDelay(), this.#refused)
    })
    client.onMessage((_channel, _user, text, msg) => {
      if (!current()) return
      this.#o.message({ id: msg.id, login: msg.userInfo.userName, text, sentAt: msg.date })
    })
    client.onDisconnect((manually, reason) => {
      if (!current() || manually) return
      // Quit at once: a retired client must not reconnect by itself (the library would, without a bound).
      this.#retry(client, this.#nextDelay(), reason?.message ?? 'Disconnected')
    })
    client.connect()
  }

  #nextDelay (): number {
    this.#failures++
    return Math.min(this.#maxMs, this.#minMs * 2 ** (this.#failures - 1))
  }

  #retry (client: ChatClient, delayMs: number, why: string): void {
    this.#client = undefined
    client.quit()
    // A socket the library opened again in the same turn (after a drop it reconnects synchronously) goes too.
    setImmediate(() => client.quit())
    if (this.#stopped) return
    if (this.#refused === null && delayMs > 0) {
      this.#o.status('connecting', `${why}; reconnecting in ${Math.round(delayMs / 1000)} s`)
    }
    this.#o.log.info({ channel: this.#o.channel, delayMs, why }, 'chat connection lost; reconnecting')
    this.#timer = setTimeout(() => this.#connect(), delayMs)
    this.#timer.unref()
  }
}
