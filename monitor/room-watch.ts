import type { RoomInfo } from './ecast-client.ts'
import type { RoomEventType } from '../schemas/events.ts'
import { AudienceLink } from './audience-link.ts'
import { PollLoop } from './poll-loop.ts'
import { EMPTY_VIEW, countPlayers, finalCount, gameFinished, lobbyReport, type PublishedLobby } from './room-state.ts'
import { nodeTimers, type PublishedState, type RoomWatchOptions, type WatchState } from './watch-types.ts'

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
  readonly #abort = new AbortController()
  #state: WatchState = 'waiting'
  readonly #loop: PollLoop
  /** Failures in a row: of REST calls (ecast unreachable) and of whole steps (the sink failed). */
  readonly #failures = { rest: 0, step: 0 }
  /** What REST said last: the room (null until found), when it was read, the /connections total. */
  readonly #rest = { room: null as RoomInfo | null, checkedAt: -Infinity, connections: null as number | null }
  /** What was reported: the player count, whether the start was stored, the lobby facts and joins published. */
  readonly #reported = { playerCount: null as number | null, startAnnounced: false, lobby: {} as PublishedLobby, descriptionId: null as number | null }
  /** The published state last handed to the sink (as JSON), so an unchanged one is not stored again. */
  #stored = ''
  /** The audience socket and what it said (the view). */
  readonly #link: AudienceLink

  constructor (options: RoomWatchOptions) {
    this.#o = options
    this.code = options.code
    this.#now = options.now ?? Date.now
    this.#random = options.random ?? Math.random
    this.#loop = new PollLoop({
      periodMs: options.pollIntervalMs,
      timers: options.timers ?? nodeTimers,
      now: this.#now,
      step: () => this.#guardedStep(),
      nextDelay: () => this.#nextDelay(),
      done: () => this.done
    })
    this.#link = new AudienceLink({
      code: this.code,
      openSocket: options.openSocket,
      socketUrl: options.socketUrl,
      log: options.log,
      now: this.#now,
      backoff: (failures) => this.#backoff(failures),
      inLobby: () => this.#state === 'lobby',
      done: () => this.done,
      wake: () => this.#wake()
    })
    const { playerCount = null, published } = options.resume ?? {}
    this.#reported.playerCount = playerCount
    if (published) {
      // Taken over: the lobby facts and joins the earlier watch published are not published again, and the joins
      // newer than its last description id (made while no process watched) are announced at the first welcome.
      this.#reported.lobby = published.lobby
      this.#reported.descriptionId = published.descriptionId
      this.#link.view = { ...EMPTY_VIEW, lastDescriptionId: published.descriptionId }
      this.#stored = JSON.stringify(published)
    }
  }

  get state (): WatchState { return this.#state }
  /** Whether the room has been found (room.connected was published). */
  get connected (): boolean { return this.#rest.room !== null }
  get playerCount (): number | null { return this.#reported.playerCount }
  get done (): boolean { return this.#state === 'ended' || this.#state === 'failed' || this.#state === 'stopped' }

  /** Starts polling on its own schedule: the next poll is set only after the previous one finished. */
  start (): void { this.#loop.start() }

  /** Stops for good: clears the timer, aborts requests, waits for the poll in progress, closes the socket. */
  async stop (): Promise<void> {
    if (!this.done) this.#state = 'stopped'
    this.#abort.abort()
    await this.#loop.stop()
    await this.#link.close()
  }

  /** One step of the state machine. Never rejects; a tick already running is joined, not repeated. */
  tick (): Promise<void> { return this.#loop.run() }

  #guardedStep (): Promise<void> {
    return this.#step().then(() => {
      if (this.#failures.step > 0) this.#o.log.info({ roomCode: this.code }, 'room watch recovered')
      this.#failures.step = 0
    }, (err) => {
      // Storing a count failed (the database is down): retried with backoff, logged once.
      if (this.#failures.step === 0) this.#o.log.warn({ err, roomCode: this.code }, 'room watch step failed; retrying with backoff')
      this.#failures.step++
    })
  }

  /** Socket news: poll now rather than at the next period, unless REST is backing off. */
  #wake (): void {
    if (this.done || this.#failures.rest > 0) return
    this.#loop.wake()
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
    if (!resume?.connected) await this.#event('room.connected', { appTag: room.appTag, maxPlayers: room.maxPlayers })
    if (resume?.started) {
      this.#state = 'started'
      this.#reported.startAnnounced = true
    }
    this.#link.ensure(this.#rest.room)
    if (this.#state === 'started') return
    if (room.locked) return this.#enterStarted()
    // Taken over from another process: count now, not a period later (failover is timed from the owner's death). With
    // an audience the count needs the socket: its welcome asks for the poll.
    if (resume?.connected && !room.audienceEnabled) await this.#stepLobby()
  }

  async #stepLobby (): Promise<void> {
    this.#link.ensure(this.#rest.room)
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
    // Asked right after /connections, so both counts describe (nearly) the same moment.
    if (connections !== this.#rest.connections || this.#link.view.audience.connections === null) {
      await this.#link.refreshAudience(Math.min(2000, Math.max(100, this.#o.pollIntervalMs)))
    }
    if (this.done) return
    this.#rest.connections = connections
    const count = countPlayers(connections, this.#rest.room, this.#link.view.audience, this.#link)
    await this.#publishLobby(count !== null && count !== this.#reported.playerCount ? count : undefined)
  }

  async #stepStarted (): Promise<void> {
    if (!this.#reported.startAnnounced) await this.#announceStart()
    this.#link.ensure(this.#rest.room)
    const room = await this.#getRoom()
    if (this.done || room === undefined) return
    if (room === null) return this.#end('room closed')
    this.#rest.room = room
    if (gameFinished(this.#link.view.room, this.#link.view)) await this.#end(null)
  }

  /**
   * Publishes what the socket brought since the last tick (joins, a changed lobby state) and `count` when the count
   * changed, in one write (a join is both a new count and an event), then follows a start or an end it showed.
   */
  async #publishLobby (count?: number): Promise<void> {
    // The end is judged on the facts of this report: news arriving during the write is published at the next tick.
    const facts = this.#link.view.room
    const report = lobbyReport(this.#link.view, this.#reported.lobby, count ?? this.#reported.playerCount)
    if (count !== undefined || report.events.length) {
      const state: PublishedState = { lobby: report.published, descriptionId: report.view.lastDescriptionId }
      const json = JSON.stringify(state)
      const published = json === this.#stored ? undefined : state
      // The joins leave the view now (the socket may add more during the write) and come back if the write failed.
      const taken = this.#link.view.joins
      this.#link.view = { ...this.#link.view, joins: [] }
      try {
        if (count === undefined) await this.#o.sink.events(report.events, published)
        else await this.#o.sink.count(count, 'checking', published, report.events)
      } catch (err) {
        this.#link.view = { ...this.#link.view, joins: [...taken, ...this.#link.view.joins] }
        throw err
      }
      if (count !== undefined) this.#reported.playerCount = count
      this.#reported.lobby = report.published
      this.#reported.descriptionId = state.descriptionId
      this.#stored = json
    }
    if (report.started) await this.#enterStarted()
    if (!this.done && gameFinished(facts, this.#link.view)) await this.#end(null)
  }

  #event (type: RoomEventType, data: Record<string, unknown>): Promise<void> | void {
    return this.#o.sink.events([{ type, data }])
  }

  async #enterStarted (): Promise<void> {
    this.#state = 'started'
    if (this.#reported.playerCount === null) {
      const connections = await this.#getConnections()
      if (this.done) return
      if (typeof connections === 'number') {
        this.#reported.playerCount = finalCount(connections, this.#rest.room, this.#link.view.audience, this.#link)
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
    await this.#event('game.started', { playerCount })
  }

  async #end (vanished: string | null): Promise<void> {
    const wasLobby = this.#state === 'lobby'
    this.#state = 'ended'
    this.#o.log.info({ roomCode: this.code, reason: vanished ?? 'game finished' }, 'ecast room watch ended')
    try {
      // The last lobby count stands as the final one.
      if (wasLobby) await this.#o.sink.status('completed')
      await this.#event('game.ended', { playerCount: this.#reported.playerCount ?? 0 })
      if (vanished) await this.#event('room.disconnected', { reason: vanished })
    } finally {
      await this.#link.close()
      this.#o.sink.finished('ended')
    }
  }

  async #fail (): Promise<void> {
    this.#state = 'failed'
    this.#o.log.warn({ roomCode: this.code, waitedMs: this.#now() - this.#loop.startedAt }, 'ecast room never appeared')
    try {
      await this.#o.sink.status('failed')
      await this.#event('room.disconnected', { reason: 'room not found' })
    } finally {
      this.#o.sink.finished('failed')
    }
  }
}
