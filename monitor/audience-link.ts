import type { RoomInfo } from './ecast-client.ts'
import type { AudienceConnection, OpenAudienceSocket } from './audience-socket.ts'
import type { EcastEntity, Welcome } from './ecast-frames.ts'
import type { BackgroundLogger } from '../lib/logger.ts'
import { EMPTY_VIEW, applyEntity, applyWelcome, withAudienceAnswer, withoutAudienceAnswer, type SocketView } from './room-state.ts'

export interface AudienceLinkOptions {
  code: string
  openSocket: OpenAudienceSocket
  /** The audience WebSocket URL for a room served by `audienceHost`. */
  socketUrl (audienceHost: string): string
  log: BackgroundLogger
  now: () => number
  /** How long to wait before the next connection after this many failures in a row. */
  backoff (failures: number): number
  /** Whether the watch is in the lobby (joins and lobby changes only count there). */
  inLobby (): boolean
  /** Whether the watch is over (a closed socket is then not reopened). */
  done (): boolean
  /** News worth a poll now rather than at the next period. */
  wake (): void
}

/**
 * A room watch's audience socket: opens it (again, after a backoff, when it was lost), and folds what it says into
 * the view (room-state.ts). The watch reads `view`, `live` and `failures`, and takes the joins out of the view.
 */
export class AudienceLink {
  readonly #o: AudienceLinkOptions
  #socket: AudienceConnection | null = null
  #retryAt = 0
  /** Welcomed, and not closed since. */
  live = false
  /** Failed connections in a row. */
  failures = 0
  view: SocketView

  constructor (options: AudienceLinkOptions, view: SocketView = EMPTY_VIEW) {
    this.#o = options
    this.view = view
  }

  /** Opens the socket unless it is open, the room has no audience, or a retry is not due yet. */
  ensure (room: RoomInfo | null): void {
    if (this.#socket || this.#o.done() || !room?.audienceEnabled || this.#o.now() < this.#retryAt) return
    const socket: AudienceConnection = this.#o.openSocket(this.#o.socketUrl(room.audienceHost), {
      welcome: (welcome) => { if (this.#socket === socket) this.#onWelcome(welcome) },
      entity: (entity) => { if (this.#socket === socket) this.#onEntity(entity) },
      closed: (reason) => { if (this.#socket === socket) this.#onClosed(reason) }
    })
    this.#socket = socket
  }

  /** Asks the audience count (`room/get-audience`) and folds the answer into the view; nothing without an answer. */
  async refreshAudience (timeoutMs: number): Promise<void> {
    if (!this.live || !this.#socket) return
    const connections = await this.#socket.audienceCount(timeoutMs)
    if (connections === null || !this.live) return
    this.view = withAudienceAnswer(this.view, connections)
  }

  async close (): Promise<void> {
    const socket = this.#socket
    this.#socket = null
    this.live = false
    await socket?.close()
  }

  #onWelcome (welcome: Welcome): void {
    if (this.failures > 0) this.#o.log.info({ roomCode: this.#o.code, failures: this.failures }, 'audience socket connected again')
    this.live = true
    this.failures = 0
    this.view = applyWelcome(this.view, welcome, this.#o.inLobby())
    this.#o.wake()
  }

  #onEntity (entity: EcastEntity): void {
    const { view, wake } = applyEntity(this.view, entity, this.#o.inLobby())
    this.view = view
    if (wake) this.#o.wake()
  }

  #onClosed (reason: string): void {
    this.#socket = null
    this.live = false
    this.view = withoutAudienceAnswer(this.view)
    if (this.#o.done()) return
    if (this.failures === 0) this.#o.log.warn({ roomCode: this.#o.code, reason }, 'audience socket lost; reconnecting with backoff')
    this.failures++
    this.#retryAt = this.#o.now() + this.#o.backoff(this.failures)
  }
}
