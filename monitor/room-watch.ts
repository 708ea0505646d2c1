import type { EcastApi, RoomInfo } from './ecast-client.ts'
import type { AudienceConnection, EcastEntity, OpenAudienceSocket, Welcome } from './audience-socket.ts'

export type WatchState = 'waiting' | 'lobby' | 'started' | 'ended' | 'failed' | 'stopped'

export type RoomEvent = 'room.connected' | 'lobby.player-joined' | 'lobby.updated' | 'game.started' | 'game.ended' | 'room.disconnected'

/** Where a watch reports what it learns. Each call is awaited before the watch goes on, so reports stay in order. */
export interface RoomWatchSink {
  /** A room event; the sink adds the session ids and the room code. */
  event (type: RoomEvent, data: Record<string, unknown>): Promise<void> | void
  /** A new player count, stored with the player-check status (`checking` in the lobby, `completed` once final). */
  count (playerCount: number, status: 'checking' | 'completed'): Promise<void>
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
}

const JOINED = new Set(['TEXT_DESCRIPTION_PLAYER_JOINED', 'TEXT_DESCRIPTION_PLAYER_JOINED_VIP'])
// After this many failed audience connections in a row the count falls back to REST alone (see #playerCountFrom).
const SOCKET_DEGRADED_AFTER = 3

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

interface RoomFacts { state?: string, lobbyState?: string, gameCanStart?: boolean, gameFinished?: boolean }

/**
 * Watches one ecast room: waiting (polling until the code exists) → lobby (counting players) → started (count
 * final, waiting for the end) → ended; or failed (the room never appeared) / stopped (by its owner).
 *
 * All work happens in `tick()`, one at a time: socket messages only record facts and ask for an early tick, so
 * events are published in order and a poll never overlaps another.
 */
export class RoomWatch {
  readonly code: string
  readonly #o: RoomWatchOptions
  readonly #now: () => number
  readonly #random: () => number
  readonly #abort = new AbortController()
  #state: WatchState = 'waiting'
  #scheduling = false
  #timer: NodeJS.Timeout | null = null
  #running: Promise<void> | null = null
  #wakeAgain = false
  #startedAt: number
  #room: RoomInfo | null = null
  #playerCount: number | null = null
  #restFailures = 0
  #roomCheckedAt = -Infinity
  #lastConnections: number | null = null
  #stepFailures = 0
  #startAnnounced = false

  #socket: AudienceConnection | null = null
  #socketLive = false
  #socketFailures = 0
  #socketRetryAt = 0
  #audienceConnections: number | null = null
  #audienceCounter = 0
  #otherAudience = 0
  #shards = 0
  readonly #versions = new Map<string, number>()
  #facts: RoomFacts = {}
  #finishedSeenFalse = false
  #published: { lobbyState?: string, gameCanStart?: boolean } = {}
  #lastDescriptionId: number | null = null
  #joins: string[] = []

  constructor (options: RoomWatchOptions) {
    this.#o = options
    this.code = options.code
    this.#now = options.now ?? Date.now
    this.#random = options.random ?? Math.random
    this.#startedAt = this.#now()
  }

  get state (): WatchState { return this.#state }
  /** Whether the room has been found (room.connected was published). */
  get connected (): boolean { return this.#room !== null }
  get playerCount (): number | null { return this.#playerCount }
  get done (): boolean { return this.#state === 'ended' || this.#state === 'failed' || this.#state === 'stopped' }

  /** Starts polling on its own schedule: the next poll is set only after the previous one finished. */
  start (): void {
    if (this.#scheduling || this.done) return
    this.#scheduling = true
    this.#startedAt = this.#now()
    this.#schedule(0)
  }

  /** Stops for good: clears the timer, aborts requests, waits for the poll in progress, closes the socket. */
  async stop (): Promise<void> {
    if (!this.done) this.#state = 'stopped'
    this.#scheduling = false
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    this.#abort.abort()
    await this.#running
    await this.#closeSocket()
  }

  /** One step of the state machine. Never rejects; a tick already running is joined, not repeated. */
  tick (): Promise<void> {
    if (this.#running) return this.#running
    if (this.done) return Promise.resolve()
    this.#running = this.#step()
      .then(() => {
        if (this.#stepFailures > 0) this.#o.log.info({ roomCode: this.code }, 'room watch recovered')
        this.#stepFailures = 0
      }, (err) => {
        // Storing a count failed (the database is down): retried with backoff, logged once.
        if (this.#stepFailures === 0) this.#o.log.warn({ err, roomCode: this.code }, 'room watch step failed; retrying with backoff')
        this.#stepFailures++
      })
      .finally(() => { this.#running = null })
    return this.#running
  }

  #schedule (delay: number): void {
    if (!this.#scheduling || this.done) return
    if (this.#timer) clearTimeout(this.#timer)
    if (delay > 0) {
      // Polls of many watches land on a shared quarter-period grid, so the process wakes for batches of them rather
      // than once per poll: about a third less CPU with 200 rooms (bench/monitor.ts).
      const grid = Math.max(10, Math.floor(this.#o.pollIntervalMs / 4))
      const at = Date.now() + delay
      delay = Math.max(0, Math.round(at / grid) * grid - Date.now())
    }
    this.#timer = setTimeout(() => {
      this.#timer = null
      this.tick().then(() => {
        const again = this.#wakeAgain
        this.#wakeAgain = false
        this.#schedule(again ? 0 : this.#nextDelay())
      })
    }, delay)
    this.#timer.unref()
  }

  /** Socket news: poll now rather than at the next period, unless REST is backing off. */
  #wake (): void {
    if (this.done || this.#restFailures > 0) return
    if (this.#running) {
      this.#wakeAgain = true
      return
    }
    if (this.#scheduling) this.#schedule(0)
  }

  #backoff (failures: number): number {
    const base = this.#o.pollIntervalMs
    const cap = Math.min(30_000, base * 16)
    const delay = Math.min(cap, base * 2 ** Math.min(failures - 1, 16))
    return delay / 2 + this.#random() * delay / 2
  }

  #nextDelay (): number {
    const failures = Math.max(this.#restFailures, this.#stepFailures)
    return failures > 0 ? this.#backoff(failures) : this.#o.pollIntervalMs
  }

  get #halted (): boolean { return this.done }

  async #step (): Promise<void> {
    switch (this.#state) {
      case 'waiting': return this.#stepWaiting()
      case 'lobby': return this.#stepLobby()
      case 'started': return this.#stepStarted()
    }
  }

  /** A REST call; undefined when it failed (logged once per run of failures) or the watch was stopped. */
  async #rest<T> (call: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
    try {
      const value = await call(this.#abort.signal)
      if (this.#restFailures > 0) {
        this.#o.log.info({ roomCode: this.code, failures: this.#restFailures }, 'ecast reachable again')
        this.#restFailures = 0
      }
      return value
    } catch (err) {
      if (this.#abort.signal.aborted) return undefined
      if (this.#restFailures === 0) {
        this.#o.log.warn({ roomCode: this.code, err: (err as Error).message }, 'ecast request failed; retrying with backoff')
      }
      this.#restFailures++
      return undefined
    }
  }

  async #stepWaiting (): Promise<void> {
    const room = await this.#rest((signal) => this.#o.api.getRoom(this.code, signal))
    if (this.#halted) return
    if (!room) {
      if (this.#now() - this.#startedAt >= this.#o.roomWaitMs) await this.#fail()
      return
    }
    this.#room = room
    this.#state = 'lobby'
    this.#o.log.info({ roomCode: this.code, appTag: room.appTag, locked: room.locked }, 'ecast room found')
    await this.#o.sink.event('room.connected', { appTag: room.appTag, maxPlayers: room.maxPlayers })
    this.#ensureSocket()
    if (room.locked) await this.#enterStarted()
  }

  async #stepLobby (): Promise<void> {
    this.#ensureSocket()
    // Room info is only needed for `locked` (a vanished room also shows in /connections). With a live socket, the
    // start arrives as room.state Gameplay at once, so `locked` is only a fallback, checked every fourth period.
    if (!this.#socketLive || this.#now() - this.#roomCheckedAt >= 3.5 * this.#o.pollIntervalMs) {
      const room = await this.#rest((signal) => this.#o.api.getRoom(this.code, signal))
      if (this.#halted || room === undefined) return
      if (room === null) return this.#end('room closed')
      this.#room = room
      this.#roomCheckedAt = this.#now()
      if (room.locked) return this.#enterStarted()
    }
    const connections = await this.#rest((signal) => this.#o.api.getConnections(this.code, signal))
    if (this.#halted || connections === undefined) return
    if (connections === null) return this.#end('room closed')
    // The audience is asked again only when the total moved or the counter changed, not on every poll.
    if (connections !== this.#lastConnections || this.#audienceConnections === null) await this.#refreshAudience()
    if (this.#halted) return
    this.#lastConnections = connections
    const count = this.#playerCountFrom(connections)
    if (count !== null && count !== this.#playerCount) {
      await this.#o.sink.count(count, 'checking')
      this.#playerCount = count
    }
    await this.#applyFacts()
  }

  // Asked right after /connections, so both counts describe (nearly) the same moment.
  async #refreshAudience (): Promise<void> {
    if (!this.#socketLive || !this.#socket) return
    const connections = await this.#socket.audienceCount(Math.min(2000, Math.max(100, this.#o.pollIntervalMs)))
    if (connections === null || !this.#socketLive) return
    this.#audienceConnections = connections
    this.#otherAudience = Math.max(0, connections - 1)
  }

  async #stepStarted (): Promise<void> {
    if (!this.#startAnnounced) await this.#announceStart()
    this.#ensureSocket()
    const room = await this.#rest((signal) => this.#o.api.getRoom(this.code, signal))
    if (this.#halted || room === undefined) return
    if (room === null) return this.#end('room closed')
    this.#room = room
    await this.#applyFacts()
  }

  /**
   * Players = connections − host − audience − shards (seed 003, "How to count players").
   * - Audience: `room/get-audience` answers with the live audience connection count, this monitor's own connection
   *   included, so it is asked right after every /connections poll. Without an answer, the `audience` pn-counter
   *   stands in, plus one for ourselves: the raw audience welcome shows `count: 0` on the very connection that
   *   received it, so the counter does not include the connection reading it. (/info's numAudience is documented
   *   as lagging for WebSocket audience, so it is not used.)
   * - Shards: only visible in a welcome's `here` roles, which ecast sends as null to audience connections; when it
   *   is null no shard can be told apart, so none is subtracted.
   * - While the socket is (re)connecting, the server may or may not count our own connection yet: no count then.
   *   After repeated socket failures, REST alone counts, with the last known audience other than ourselves.
   * Without audience, everything but the host is a player. A count never exceeds maxPlayers.
   */
  #playerCountFrom (connections: number): number | null {
    let others = 1 + this.#shards
    if (this.#room?.audienceEnabled) {
      if (this.#socketLive) others += this.#audienceConnections ?? this.#audienceCounter + 1
      else if (this.#socketFailures >= SOCKET_DEGRADED_AFTER) others += this.#otherAudience
      else return null
    }
    const max = this.#room && this.#room.maxPlayers > 0 ? this.#room.maxPlayers : Infinity
    return Math.max(0, Math.min(max, connections - others))
  }

  /** Turns what the socket reported since the last tick into events and transitions. */
  async #applyFacts (): Promise<void> {
    const facts = this.#facts
    if (this.#state === 'lobby') {
      const joins = this.#joins
      this.#joins = []
      for (const playerName of joins) {
        await this.#o.sink.event('lobby.player-joined', { playerName, playerCount: this.#playerCount ?? 0 })
      }
      if (facts.lobbyState !== undefined && (facts.lobbyState !== this.#published.lobbyState || facts.gameCanStart !== this.#published.gameCanStart)) {
        this.#published = { lobbyState: facts.lobbyState, gameCanStart: facts.gameCanStart }
        await this.#o.sink.event('lobby.updated', { lobbyState: facts.lobbyState, gameCanStart: facts.gameCanStart === true, playerCount: this.#playerCount ?? 0 })
      }
      if (facts.state === 'Gameplay') await this.#enterStarted()
    }
    // A room reused for another round may still say gameFinished from the last one: only a change counts.
    if (!this.done && facts.gameFinished === true && this.#finishedSeenFalse) await this.#end(null)
  }

  async #enterStarted (): Promise<void> {
    this.#state = 'started'
    if (this.#playerCount === null) {
      const connections = await this.#rest((signal) => this.#o.api.getConnections(this.code, signal))
      if (this.#halted) return
      if (typeof connections === 'number') {
        this.#playerCount = this.#playerCountFrom(connections) ?? Math.max(0, connections - 1 - this.#shards - this.#otherAudience)
      }
    }
    this.#o.log.info({ roomCode: this.code, playerCount: this.#playerCount }, 'ecast game started; player count final')
    await this.#announceStart()
  }

  // Retried by the next tick if storing the final count fails.
  async #announceStart (): Promise<void> {
    const playerCount = this.#playerCount ?? 0
    await this.#o.sink.count(playerCount, 'completed')
    this.#startAnnounced = true
    await this.#o.sink.event('game.started', { playerCount })
  }

  async #end (vanished: string | null): Promise<void> {
    const wasLobby = this.#state === 'lobby'
    this.#state = 'ended'
    this.#o.log.info({ roomCode: this.code, reason: vanished ?? 'game finished' }, 'ecast room watch ended')
    try {
      // The last lobby count stands as the final one.
      if (wasLobby) await this.#o.sink.status('completed')
      await this.#o.sink.event('game.ended', { playerCount: this.#playerCount ?? 0 })
      if (vanished) await this.#o.sink.event('room.disconnected', { reason: vanished })
    } finally {
      await this.#closeSocket()
      this.#o.sink.finished('ended')
    }
  }

  async #fail (): Promise<void> {
    this.#state = 'failed'
    this.#o.log.warn({ roomCode: this.code, waitedMs: this.#now() - this.#startedAt }, 'ecast room never appeared')
    try {
      await this.#o.sink.status('failed')
      await this.#o.sink.event('room.disconnected', { reason: 'room not found' })
    } finally {
      this.#o.sink.finished('failed')
    }
  }

  #ensureSocket (): void {
    if (this.#socket || this.done || !this.#room?.audienceEnabled || this.#now() < this.#socketRetryAt) return
    const url = this.#o.socketUrl(this.#room.audienceHost)
    const socket: AudienceConnection = this.#o.openSocket(url, {
      welcome: (welcome) => { if (this.#socket === socket) this.#onWelcome(welcome) },
      entity: (entity) => { if (this.#socket === socket) this.#onEntity(entity) },
      closed: (reason) => { if (this.#socket === socket) this.#onSocketClosed(reason) }
    })
    this.#socket = socket
  }

  #onWelcome (welcome: Welcome): void {
    if (this.#socketFailures > 0) this.#o.log.info({ roomCode: this.code, failures: this.#socketFailures }, 'audience socket connected again')
    this.#socketLive = true
    this.#socketFailures = 0
    this.#audienceConnections = null
    this.#shards = welcome.here
      ? Object.values(welcome.here).filter((client) => isObject(client?.roles) && 'shard' in client.roles).length
      : 0
    this.#versions.clear()
    for (const entity of Object.values(welcome.entities)) this.#onEntity(entity, true)
    this.#wake()
  }

  #onEntity (entity: EcastEntity, initial = false): void {
    if (entity.version !== undefined) {
      const seen = this.#versions.get(entity.key)
      if (seen !== undefined && entity.version <= seen) return
      this.#versions.set(entity.key, entity.version)
    }
    if (entity.key === 'audience' && entity.count !== undefined) {
      // The newest audience fact wins until the next get-audience answer.
      this.#audienceCounter = entity.count
      this.#audienceConnections = null
      this.#otherAudience = entity.count
      return
    }
    if (!isObject(entity.val)) return
    if (entity.key === 'room') {
      const val = entity.val
      const facts: RoomFacts = { ...this.#facts }
      if (typeof val.state === 'string') facts.state = val.state
      if (typeof val.lobbyState === 'string') facts.lobbyState = val.lobbyState
      if (typeof val.gameCanStart === 'boolean') facts.gameCanStart = val.gameCanStart
      if (typeof val.gameFinished === 'boolean') facts.gameFinished = val.gameFinished
      if (val.gameFinished !== true) this.#finishedSeenFalse = true
      const before = this.#facts
      this.#facts = facts
      // During gameplay the room entity changes all the time: only a fact the watch acts on is worth a poll.
      const relevant = (facts.gameFinished === true && before.gameFinished !== true) || (this.#state === 'lobby' &&
        (facts.state !== before.state || facts.lobbyState !== before.lobbyState || facts.gameCanStart !== before.gameCanStart))
      if (!initial && relevant) this.#wake()
    } else if (entity.key === 'textDescriptions') {
      const latest = Array.isArray(entity.val.latestDescriptions) ? entity.val.latestDescriptions : []
      let maxId = this.#lastDescriptionId ?? -Infinity
      for (const description of latest) {
        if (!isObject(description) || typeof description.id !== 'number') continue
        // Descriptions already there when we connected are joins from before: no event for them.
        if (!initial && this.#state === 'lobby' && this.#lastDescriptionId !== null && description.id > this.#lastDescriptionId &&
          typeof description.category === 'string' && JOINED.has(description.category)) {
          const name = typeof description.text === 'string' ? description.text.replace(/ joined.*$/s, '').trim() : ''
          if (name) this.#joins.push(name)
        }
        maxId = Math.max(maxId, description.id)
      }
      if (initial || this.#lastDescriptionId === null) this.#lastDescriptionId = Number.isFinite(maxId) ? maxId : 0
      else this.#lastDescriptionId = Math.max(this.#lastDescriptionId, maxId)
      if (this.#joins.length) this.#wake()
    }
  }

  #onSocketClosed (reason: string): void {
    this.#socket = null
    this.#socketLive = false
    this.#audienceConnections = null
    if (this.done) return
    if (this.#socketFailures === 0) this.#o.log.warn({ roomCode: this.code, reason }, 'audience socket lost; reconnecting with backoff')
    this.#socketFailures++
    this.#socketRetryAt = this.#now() + this.#backoff(this.#socketFailures)
  }

  async #closeSocket (): Promise<void> {
    const socket = this.#socket
    this.#socket = null
    this.#socketLive = false
    await socket?.close()
  }
}
