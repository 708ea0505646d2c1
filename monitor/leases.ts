import type { Kysely } from 'kysely'
import type { Database } from '../db/types.ts'
import {
  claimRoomLease, deleteRoomLease, listLeasedSessionGames, listOwnedRoomLeases, releaseRoomLeases, takeFreeRoomLeases,
  type ClaimOutcome, type HeldLease
} from '../db/room-leases.ts'
import type { Listen } from '../plugins/db.ts'
import type { ProcessHeartbeat } from '../plugins/process-heartbeat.ts'
import { coalesce } from '../lib/coalesce.ts'
import { serial } from '../lib/serial.ts'
import type { BackgroundLogger } from '../lib/logger.ts'

// Why a lease row and not a session-level advisory lock on a dedicated connection: an advisory lock lives and dies
// with its connection. If that connection drops (a database restart, a proxy timeout) the lock is gone while the
// process goes on watching, unaware, and another process starts a second watch; if the owner host hangs or is cut
// off, the lock is held until TCP keepalive gives up (hours by default), far past "two poll periods". A row with an
// expiry in database time fails over on a bounded clock, tells its owner that it lost a room, costs no extra
// connection, and is visible to an operator (`select * from room_leases`).
//
// The leases hang off their owner's `live_processes` row: the process heartbeat renews that one row (its
// `leases_expire_at`) and so every lease of the process at once, and says at each beat whether a lease is free (the
// lease ttl and the beat are chosen by the monitor, see `ProcessHeartbeat.holdLeases`). A dead owner's rooms are so
// taken within one lease ttl plus one beat of its last renewal. A released lease (graceful shutdown), a pruned owner
// and a taken or deleted lease are noticed at once through NOTIFY (and after the listener reconnects).

/** How many free leases one look takes at most (more are taken by the next look, at once). */
const TAKE_LIMIT = 100

export interface RoomLeasesOptions {
  db: Kysely<Database>
  listen: Listen
  /** This process's id, unique among the processes sharing the database. */
  owner: string
  /** This process's heartbeat, which keeps the leases (its `owner` is this process's instance). */
  heartbeat: Pick<ProcessHeartbeat, 'on' | 'off'>
  /** How soon a failed look at the leases is retried. */
  retryMs: number
  log: BackgroundLogger
  /** Rooms this process took over (an owner died or released them): start watching them. */
  acquired (leases: { sessionGameId: number, roomCode: string }[]): Promise<void>
  /**
   * Rooms this process no longer owns: stop watching them (unless claimed again meanwhile: check `owned`).
   * `deleted`: the watch was ended elsewhere rather than taken over.
   */
  lost (leases: { sessionGameId: number, deleted: boolean }[]): Promise<void>
}

/**
 * The room leases one process holds. Every change (claim, release, look) runs one at a time, so the set of owned
 * leases always matches what the last database statement said.
 */
export class RoomLeases {
  readonly #o: RoomLeasesOptions
  /** The leases held, by session game id, with the fencing number each was taken with. */
  readonly #owned = new Map<number, string>()
  /** Lease changes, one at a time. */
  readonly #serial = serial()
  #retry: NodeJS.Timeout | undefined
  #unlisten: (() => Promise<void>) | undefined
  #stopped = false
  #failing = false
  // Notifications arrive in bursts: one look waiting behind the running one covers them all.
  readonly #look = coalesce(() => this.#lookAndTake())
  // A NOTIFY (a lease taken, released or deleted; the listener reconnected), or a heartbeat that saw a free lease or
  // found this process's row gone (pruned while cut off: its leases were set free).
  readonly #onChange = () => { this.look() }

  constructor (options: RoomLeasesOptions) {
    this.#o = options
  }

  get owner (): string { return this.#o.owner }
  /** The session games whose leases this process holds now. */
  get owned (): ReadonlySet<number> { return new Set(this.#owned.keys()) }

  /** Whether this process holds a session game's lease (as far as its last statement said). */
  holds (sessionGameId: number): boolean { return this.#owned.has(sessionGameId) }

  /** The lease held on a session game, for writes on its behalf (see holdRoomLease); undefined when not held. */
  held (sessionGameId: number): HeldLease | undefined {
    const fence = this.#owned.get(sessionGameId)
    return fence === undefined ? undefined : { owner: this.#o.owner, fence }
  }

  /** Listens for lease changes and to the heartbeat; takes free leases at once. */
  async start (): Promise<void> {
    this.#unlisten = await this.#o.listen('room_leases', this.#onChange)
    this.#o.heartbeat.on('leasesFree', this.#onChange)
    this.#o.heartbeat.on('recreated', this.#onChange)
    await this.look()
  }

  /** Takes a room's lease for a new or restarted watch (see claimRoomLease). */
  claim (sessionGameId: number, roomCode: string): Promise<ClaimOutcome> {
    return this.#serial(async () => {
      const outcome = await claimRoomLease(this.#o.db, sessionGameId, roomCode, this.#o.owner)
      if (outcome.claimed) this.#owned.set(sessionGameId, outcome.fence)
      return outcome
    })
  }

  /** A watch ended or was stopped: its lease is deleted. Without `any`, only when this process owns it. */
  drop (sessionGameId: number, { any = false } = {}): Promise<void> {
    return this.#serial(async () => {
      this.#owned.delete(sessionGameId)
      await deleteRoomLease(this.#o.db, sessionGameId, any ? undefined : this.#o.owner)
    })
  }

  /**
   * Looks at which leases this process still holds and takes the free ones, then reports what was lost and taken
   * (outside the queue, so the handlers may claim or drop). Never rejects: a failure is logged once per run of
   * failures and the look retried after `retryMs`.
   */
  look (): Promise<void> {
    return this.#look().then(({ reported }) => reported)
  }

  async #lookAndTake (): Promise<{ reported: Promise<void> }> {
    clearTimeout(this.#retry)
    let more = false
    const changes = await this.#serial(async () => {
      if (this.#stopped) return { lost: [], taken: [] }
      const lost = await this.#lost()
      const { taken, all } = await this.#takeFree()
      more = all
      return { lost, taken }
    }).catch((err) => {
      if (!this.#failing) this.#o.log.warn({ err: (err as Error).message }, 'could not look at the room leases; retrying')
      this.#failing = true
      if (!this.#stopped) this.#retry = setTimeout(this.#onChange, this.#o.retryMs).unref()
    })
    if (!changes) return { reported: Promise.resolve() }
    if (this.#failing) this.#o.log.info({}, 'room leases read again')
    this.#failing = false
    // As many free leases as one look takes: there may be more.
    if (more) setImmediate(this.#onChange)
    // Not awaited by the run: a slow handler (a watch stopping mid-poll) must not hold the next look back.
    return { reported: this.#report(changes.lost, changes.taken) }
  }

  async #report (lost: Parameters<RoomLeasesOptions['lost']>[0], taken: Parameters<RoomLeasesOptions['acquired']>[0]) {
    if (lost.length) await this.#o.lost(lost)
    if (taken.length) await this.#o.acquired(taken)
  }

  /** Stops following the leases and hands every held lease over to the other processes at once. */
  async stop ({ release = true } = {}): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    clearTimeout(this.#retry)
    this.#o.heartbeat.off('leasesFree', this.#onChange)
    this.#o.heartbeat.off('recreated', this.#onChange)
    await this.#unlisten?.().catch(() => {})
    await this.#serial(async () => {
      if (release && this.#owned.size) {
        const count = await releaseRoomLeases(this.#o.db, this.#o.owner)
        this.#o.log.info({ count }, 'room leases released')
      }
      this.#owned.clear()
    }).catch((err) => this.#o.log.warn({ err: (err as Error).message }, 'could not release room leases'))
  }

  async #lost (): Promise<{ sessionGameId: number, deleted: boolean }[]> {
    if (!this.#owned.size) return []
    const held = new Set(await listOwnedRoomLeases(this.#o.db, this.#o.owner))
    const gone = [...this.#owned.keys()].filter((id) => !held.has(id))
    if (!gone.length) return []
    for (const id of gone) this.#owned.delete(id)
    const stillLeased = new Set(await listLeasedSessionGames(this.#o.db, gone))
    this.#o.log.info({ sessionGameIds: gone }, 'room leases lost')
    return gone.map((sessionGameId) => ({ sessionGameId, deleted: !stillLeased.has(sessionGameId) }))
  }

  async #takeFree (): Promise<{ taken: { sessionGameId: number, roomCode: string }[], all: boolean }> {
    const rows = await takeFreeRoomLeases(this.#o.db, this.#o.owner, TAKE_LIMIT)
    const taken = rows.filter((row) => !this.#owned.has(row.session_game_id))
    for (const row of rows) this.#owned.set(row.session_game_id, row.fence)
    if (taken.length) this.#o.log.info({ sessionGameIds: taken.map((row) => row.session_game_id) }, 'room leases taken over')
    return { taken: taken.map((row) => ({ sessionGameId: row.session_game_id, roomCode: row.room_code })), all: rows.length === TAKE_LIMIT }
  }
}
