import type { EcastApi, RoomInfo } from './ecast-client.ts'
import type { AudienceConnection, EcastEntity, OpenAudienceSocket, Welcome } from './audience-socket.ts'
import type { RoomEventType } from '../schemas/events.ts'
import {
  EMPTY_VIEW, applyEntity, applyWelcome, countPlayers, finalCount, gameFinished, lobbyReport, withAudienceAnswer,
  withoutAudienceAnswer, type PublishedLobby, type SocketView
} from './room-state.ts'

export type WatchState = 'waiting' | 'lobby' | 'started' | 'ended' | 'failed' | 'stopped'

/** What a watch has published so far: a process taking the room over resumes from it rather than repeat or skip it. */
export interface PublishedState {
  /** The lobby facts of the last lobby.updated. */
  lobby: PublishedLobby
  /** The textDescriptions id up to which joins were announced (or were there when the watch first connected). */
  descriptionId: number | null
}

/**
 * Where a watch reports what it learns. Each call is awaited before the watch goes on, so reports stay in order.
 * `published`, when given, changed since the last call that carried it: store it with the event or count.
 */
export interface RoomWatchSink {
  /** A room event; the sink adds the session ids and the room code. */
  event (type: RoomEventType, data: Record<string, unknown>, published?: PublishedState): Promise<void> | void
  /** A new player count, stored with the player-check status (`checking` in the lobby, `completed` once final). */
  count (playerCount: number, status: 'checking' | 'completed', published?: PublishedState): Promise<void>
  /** A status without a new count (`completed` when the room ends, `failed` when it never appeared). */
  status (status: 'completed' | 'failed'): Promise<void>
  /** The watch ended by itself (`ended` or `failed`); it schedules nothing more. */
  finished (state: 'ended' | 'failed'): void
}

/** The subset of a pino logger the watch uses. */
export interface WatchLogger {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
}

export interface RoomWatchOptions {
  code: string
  api: EcastApi
  openSocket: OpenAudienceSocket
  /** The audience WebSocket URL for a room served by `audienceHost`. */
  socketUrl (audienceHost: string): string
  pollIntervalMs: number
  roomWaitMs: number
  sink: RoomWatchSink
  log: WatchLogger
  now?: () => number
  random?: () => number
  /** Sets and clears the poll timer; default: unref'd Node timers. */
  timers?: WatchTimers
  /** What an earlier watch of this room (another process's, before a takeover) already reported, so it is not repeated. */
  resume?: WatchResume
}

export interface WatchResume {
  /** room.connected was published. */
  connected: boolean
  /** game.started was published: the count is final. */
  started: boolean
  /** The count stored last; only a different one is stored again. */
  playerCount: number | null
  /** What the earlier watch published last; undefined when it stored nothing. */
  published?: PublishedState
}

export interface WatchTimers {
  /** Calls `fn` once after `delayMs`; the timer must not keep the process alive. */
  set (fn: () => void, delayMs: number): unknown
  clear (timer: unknown): void
}

const nodeTimers: WatchTimers = {
  set: (fn, delayMs) => setTimeout(fn, delayMs).unref(),
  clear: (timer) => clearTimeout(timer as NodeJS.Timeout)
}

/**
 * Watches one ecast room: waiting (polling until the code exists) → lobby (counting players) → started (count
 * final, waiting for the end) → ended; or failed (the room never appeared) / stopped (by its owner).
 *
 * All work happens in `tick()`, one at a time: socket messages only update the view (room-state.ts) and ask for an
 * early tick, so events are published in order and a poll never overlaps another.
 */
export class RoomWatch {
  readonly code: string
  readonly #o: RoomWatchOptions
  readonly #now: () => number
  readonly #random: () => number
  readonly #timers: WatchTimers
  readonly #abort = new AbortController()
  #state: WatchState = 'waiting'
  /** The poll loop: started or not, the next poll's timer, the tick in progress, an early poll asked during it. */
  readonly #loop: { scheduling: boolean, startedAt: number, timer: unknown, running: Promise<void> | null, wakeAgain: boolean }
  /** Failures in a row: of REST calls (ecast unreachable) and of whole steps (the sink failed). */
  readonly #failures = { rest: 0, step: 0 }
  /** What REST said last: the room (null until found), when it was read, the /connections total. */
  readonly #rest = { room: null as RoomInfo | null, checkedAt: -Infinity, connections: null as number | null }
  /** What was reported: the player count, whether the start was stored, the lobby facts and joins published. */
  readonly #reported = { playerCount: null as number | null, startAnnounced: false, lobby: {} as PublishedLobby, descriptionId: null as number | null }
  /** The published state last handed to the sink (as JSON), so an unchanged one is not stored again. */
  #stored = ''
  /** The audience socket: the connection, whether it was welcomed, failed connections in a row, when to retry. */
  readonly #link = { socket: null as AudienceConnection | null, live: false, failures: 0, retryAt: 0 }
  #view: SocketView = EMPTY_VIEW

  constructor (options: RoomWatchOptions) {
    this.#o = options
    this.code = options.code
    this.#now = options.now ?? Date.now
    this.#random = options.random ?? Math.random
    this.#timers = options.timers ?? nodeTimers
    this.#loop = { scheduling: false, startedAt: this.#now(), timer: null, running: null, wakeAgain: false }
    const { playerCount = null, published } = options.resume ?? {}
    this.#reported.playerCount = playerCount
    if (published) {
      // Taken over: the lobby facts and joins the earlier watch published are not published again, and the joins
      // newer than its last description id (made while no process watched) are announced at the first welcome.
      this.#reported.lobby = published.lobby
      this.#reported.descriptionId = published.descriptionId
      this.#view = { ...EMPTY_VIEW, lastDescriptionId: published.descriptionId }
      this.#stored = JSON.stringify(published)
    }
  }

  get state (): WatchState { return this.#state }
  /** Whether the room has been found (room.connected was published). */
  get connected (): boolean { return this.#rest.room !== null }
  get playerCount (): number | null { return this.#reported.playerCount }
  get done (): boolean { return this.#state === 'ended' || this.#state === 'failed' || this.#state === 'stopped' }

  /** Starts polling on its own schedule: the next poll is set only after the previous one finished. */
  start (): void {
    if (this.#loop.scheduling || this.done) return
    this.#loop.scheduling = true
    this.#loop.startedAt = this.#now()
    this.#schedule(0)
  }

  /** Stops for good: clears the timer, aborts requests, waits for the poll in progress, closes the socket. */
  async stop (): Promise<void> {
    if (!this.done) this.#state = 'stopped'
    this.#loop.scheduling = false
    this.#clearTimer()
    this.#abort.abort()
    await this.#loop.running
    await this.#closeSocket()
  }

  /** One step of the state machine. Never rejects; a tick already running is joined, not repeated. */
  tick (): Promise<void> {
    const loop = this.#loop
    if (loop.running) return loop.running
    if (this.done) return Promise.resolve()
    loop.running = this.#step()
      .then(() => {
        if (this.#failures.step > 0) this.#o.log.info({ roomCode: this.code }, 'room watch recovered')
        this.#failures.step = 0
      }, (err) => {
        // Storing a count failed (the database is down): retried with backoff, logged once.
        if (this.#failures.step === 0) this.#o.log.warn({ err, roomCode: this.code }, 'room watch step failed; retrying with backoff')
        this.#failures.step++
      })
      .finally(() => { loop.running = null })
    return loop.running
  }

  #clearTimer (): void {
    if (this.#loop.timer !== null) this.#timers.clear(this.#loop.timer)
    this.#loop.timer = null
  }

  #schedule (delay: number): void {
    const loop = this.#loop
    if (!loop.scheduling || this.done) return
    this.#clearTimer()
    if (delay > 0) {
      // Polls of many watches land on a shared quarter-period grid, so the process wakes for batches of them rather
      // than once per poll: about a third less CPU with 200 rooms (bench/monitor.ts).
      const grid = Math.max(10, Math.floor(this.#o.pollIntervalMs / 4))
      const now = this.#now()
      delay = Math.max(0, Math.round((now + delay) / grid) * grid - now)
    }
    loop.timer = this.#timers.set(() => {
      loop.timer = null
      this.tick().then(() => {
        const again = loop.wakeAgain
        loop.wakeAgain = false
        this.#schedule(again ? 0 : this.#nextDelay())
      })
    }, delay)
  }

  /** Socket news: poll now rather than at the next period, unless REST is backing off. */
  #wake (): void {
    if (this.done || this.#failures.rest > 0) return
    if (this.#loop.running) {
      this.#loop.wakeAgain = true
      return
    }
    if (this.#loop.scheduling) this.#schedule(0)
  }

  #backoff (failures: number): number {
    const base = this.#o.pollIntervalMs
    const cap = Math.min(30_000, base * 16)
    const delay = Math.min(cap, base * 2 ** Math.min(failures - 1, 16))
    return delay / 2 + this.#random() * delay / 2
  }

  #nextDelay (): number {
    const failures = Math.max(this.#failures.rest, this.#failures.step)
    return failures > 0 ? this.#backoff(failures) : this.#o.pollIntervalMs
  }

  async #step (): Promise<void> {
    switch (this.#state) {
      case 'waiting': return this.#stepWaiting()
      case 'lobby': return this.#stepLobby()
      case 'started': return this.#stepStarted()
    }
  }

  /** A REST call; undefined when it failed (logged once per run of failures) or the watch was stopped. */
  async #call<T> (call: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
    try {
      const value = await call(this.#abort.signal)
      if (this.#failures.rest > 0) {
        this.#o.log.info({ roomCode: this.code, failures: this.#failures.rest }, 'ecast reachable again')
        this.#failures.rest = 0
      }
      return value
    } catch (err) {
      if (this.#abort.signal.aborted) return undefined
      if (this.#failures.rest === 0) {
        this.#o.log.warn({ roomCode: this.code, err: (err as Error).message }, 'ecast request failed; retrying with backoff')
      }
      this.#failures.rest++
      return undefined
    }
  }

  #getRoom (): Promise<RoomInfo | null | undefined> {
    return this.#call((signal) => this.#o.api.getRoom(this.code, signal))
  }

  #getConnections (): Promise<number | null | undefined> {
    return this.#call((signal) => this.#o.api.getConnections(this.code, signal))
  }

  async #stepWaiting (): Promise<void> {
    const room = await this.#getRoom()
    if (this.done) return
    if (!room) {
      if (this.#now() - this.#loop.startedAt >= this.#o.roomWaitMs) await this.#fail()
      return
    }
    this.#rest.room = room
    this.#rest.checkedAt = this.#now()
    this.#state = 'lobby'
    const resume = this.#o.resume
    this.#o.log.info({ roomCode: this.code, appTag: room.appTag, locked: room.locked, resumed: resume?.connected ?? false }, 'ecast room found')
    if (!resume?.connected) await this.#o.sink.event('room.connected', { appTag: room.appTag, maxPlayers: room.maxPlayers })
    if (resume?.started) {
      this.#state = 'started'
      this.#reported.startAnnounced = true
    }
    this.#ensureSocket()
    if (this.#state === 'started') return
    if (room.locked) return this.#enterStarted()
    // Taken over from another process: count now, not a period later (failover is timed from the owner's death). With
    // an audience the count needs the socket: its welcome asks for the poll.
    if (resume?.connected && !room.audienceEnabled) await this.#stepLobby()
  }

  async #stepLobby (): Promise<void> {
    this.#ensureSocket()
    // Room info is only needed for `locked` (a vanished room also shows in /connections). With a live socket, the
    // start arrives as room.state Gameplay at once, so `locked` is only a fallback, checked every fourth period.
    if (!this.#link.live || this.#now() - this.#rest.checkedAt >= 3.5 * this.#o.pollIntervalMs) {
      const room = await this.#getRoom()
      if (this.done || room === undefined) return
      if (room === null) return this.#end('room closed')
      this.#rest.room = room
      this.#rest.checkedAt = this.#now()
      if (room.locked) return this.#enterStarted()
    }
    const connections = await this.#getConnections()
    if (this.done || connections === undefined) return
    if (connections === null) return this.#end('room closed')
    // The audience is asked again only when the total moved or the counter changed, not on every poll.
    if (connections !== this.#rest.connections || this.#view.audience.connections === null) await this.#refreshAudience()
    if (this.done) return
    this.#rest.connections = connections
    const count = countPlayers(connections, this.#rest.room, this.#view.audience, this.#link)
    if (count !== null && count !== this.#reported.playerCount) {
      // Joins still to announce keep the description id where it was, so a takeover now would announce them.
      if (!this.#view.joins.length) this.#reported.descriptionId = this.#view.lastDescriptionId
      await this.#o.sink.count(count, 'checking', this.#published())
      this.#reported.playerCount = count
    }
    await this.#applyLobbyNews()
  }

  // Asked right after /connections, so both counts describe (nearly) the same moment.
  async #refreshAudience (): Promise<void> {
    const link = this.#link
    if (!link.live || !link.socket) return
    const connections = await link.socket.audienceCount(Math.min(2000, Math.max(100, this.#o.pollIntervalMs)))
    if (connections === null || !link.live) return
    this.#view = withAudienceAnswer(this.#view, connections)
  }

  async #stepStarted (): Promise<void> {
    if (!this.#reported.startAnnounced) await this.#announceStart()
    this.#ensureSocket()
    const room = await this.#getRoom()
    if (this.done || room === undefined) return
    if (room === null) return this.#end('room closed')
    this.#rest.room = room
    await this.#applyLobbyNews()
  }

  /** Turns what the socket reported since the last tick into events and transitions. */
  async #applyLobbyNews (): Promise<void> {
    const facts = this.#view.room
    if (this.#state === 'lobby') {
      const report = lobbyReport(this.#view, this.#reported.lobby, this.#reported.playerCount)
      this.#view = report.view
      this.#reported.lobby = report.published
      this.#reported.descriptionId = report.view.lastDescriptionId
      // The state after the report goes with its last event: a takeover between two of its events would repeat the
      // first ones rather than lose the others.
      for (const [i, { type, data }] of report.events.entries()) {
        const last = i === report.events.length - 1
        await this.#o.sink.event(type, data, last ? this.#published() : undefined)
      }
      if (report.started) await this.#enterStarted()
    }
    if (!this.done && gameFinished(facts, this.#view)) await this.#end(null)
  }

  /** The published state, when it changed since it was last handed to the sink. */
  #published (): PublishedState | undefined {
    const state: PublishedState = { lobby: this.#reported.lobby, descriptionId: this.#reported.descriptionId }
    const json = JSON.stringify(state)
    if (json === this.#stored) return undefined
    this.#stored = json
    return state
  }

  async #enterStarted (): Promise<void> {
    this.#state = 'started'
    if (this.#reported.playerCount === null) {
      const connections = await this.#getConnections()
      if (this.done) return
      if (typeof connections === 'number') {
        this.#reported.playerCount = finalCount(connections, this.#rest.room, this.#view.audience, this.#link)
      }
    }
    this.#o.log.info({ roomCode: this.code, playerCount: this.#reported.playerCount }, 'ecast game started; player count final')
    await this.#announceStart()
  }

  // Retried by the next tick if storing the final count fails.
  async #announceStart (): Promise<void> {
    const playerCount = this.#reported.playerCount ?? 0
    await this.#o.sink.count(playerCount, 'completed')
    this.#reported.startAnnounced = true
    await this.#o.sink.event('game.started', { playerCount })
  }

  async #end (vanished: string | null): Promise<void> {
    const wasLobby = this.#state === 'lobby'
    this.#state = 'ended'
    this.#o.log.info({ roomCode: this.code, reason: vanished ?? 'game finished' }, 'ecast room watch ended')
    try {
      // The last lobby count stands as the final one.
      if (wasLobby) await this.#o.sink.status('completed')
      await this.#o.sink.event('game.ended', { playerCount: this.#reported.playerCount ?? 0 })
      if (vanished) await this.#o.sink.event('room.disconnected', { reason: vanished })
    } finally {
      await this.#closeSocket()
      this.#o.sink.finished('ended')
    }
  }

  async #fail (): Promise<void> {
    this.#state = 'failed'
    this.#o.log.warn({ roomCode: this.code, waitedMs: this.#now() - this.#loop.startedAt }, 'ecast room never appeared')
    try {
      await this.#o.sink.status('failed')
      await this.#o.sink.event('room.disconnected', { reason: 'room not found' })
    } finally {
      this.#o.sink.finished('failed')
    }
  }

  #ensureSocket (): void {
    const link = this.#link
    const room = this.#rest.room
    if (link.socket || this.done || !room?.audienceEnabled || this.#now() < link.retryAt) return
    const socket: AudienceConnection = this.#o.openSocket(this.#o.socketUrl(room.audienceHost), {
      welcome: (welcome) => { if (link.socket === socket) this.#onWelcome(welcome) },
      entity: (entity) => { if (link.socket === socket) this.#onEntity(entity) },
      closed: (reason) => { if (link.socket === socket) this.#onSocketClosed(reason) }
    })
    link.socket = socket
  }

  #onWelcome (welcome: Welcome): void {
    const link = this.#link
    if (link.failures > 0) this.#o.log.info({ roomCode: this.code, failures: link.failures }, 'audience socket connected again')
    link.live = true
    link.failures = 0
    this.#view = applyWelcome(this.#view, welcome, this.#state === 'lobby')
    this.#wake()
  }

  #onEntity (entity: EcastEntity): void {
    const { view, wake } = applyEntity(this.#view, entity, this.#state === 'lobby')
    this.#view = view
    if (wake) this.#wake()
  }

  #onSocketClosed (reason: string): void {
    const link = this.#link
    link.socket = null
    link.live = false
    this.#view = withoutAudienceAnswer(this.#view)
    if (this.done) return
    if (link.failures === 0) this.#o.log.warn({ roomCode: this.code, reason }, 'audience socket lost; reconnecting with backoff')
    link.failures++
    link.retryAt = this.#now() + this.#backoff(link.failures)
  }

  async #closeSocket (): Promise<void> {
    const link = this.#link
    const socket = link.socket
    link.socket = null
    link.live = false
    await socket?.close()
  }
}
