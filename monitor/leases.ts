import type { Kysely } from 'kysely'
import type { Database } from '../db/types.ts'
import {
  claimRoomLease, deleteRoomLease, listLeasedSessionGames, releaseRoomLeases, renewRoomLeases, takeFreeRoomLeases,
  type ClaimOutcome, type HeldLease
} from '../db/room-leases.ts'
import type { Listen } from '../plugins/db.ts'
import { coalesce } from '../lib/coalesce.ts'
import { serial } from '../lib/serial.ts'
import type { BackgroundLogger } from '../lib/logger.ts'

// Why a lease row and not a session-level advisory lock on a dedicated connection: an advisory lock lives and dies
// with its connection. If that connection drops (a database restart, a proxy timeout) the lock is gone while the
// process goes on watching, unaware, and another process starts a second watch; if the owner host hangs or is cut
// off, the lock is held until TCP keepalive gives up (hours by default), far past "two poll periods". A row with an
// expiry in database time fails over on a bounded clock (`ttlMs`), tells its owner at the next renewal that it lost
// a room, costs no extra connection, and is visible to an operator (`select * from room_leases`).
//
// Timing (chosen by the monitor): a lease lasts a few beats; at every beat the owner renews its leases and every
// process looks for expired or released ones, so a dead owner's rooms are taken within one lease plus one beat of
// its last renewal. A released lease (graceful shutdown) or a taken one is noticed at once through NOTIFY.

export interface RoomLeasesOptions {
  db: Kysely<Database>
  listen: Listen
  /** This process's id, unique among the processes sharing the database. */
  owner: string
  /** How long a lease lasts without renewal. */
  ttlMs: number
  /** How often leases are renewed and free ones looked for; default a quarter of `ttlMs`. */
  beatMs?: number
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
 * The room leases one process holds. Every change (claim, release, beat) runs one at a time, so the set of owned
 * leases always matches what the last database statement said.
 */
export class RoomLeases {
  readonly #o: RoomLeasesOptions
  readonly #beatMs: number
  /** The leases held, by session game id, with the fencing number each was taken with. */
  readonly #owned = new Map<number, string>()
  /** Lease changes, one at a time. */
  readonly #serial = serial()
  #timer: NodeJS.Timeout | undefined
  #unlisten: (() => Promise<void>) | undefined
  #stopped = false
  #failing = false
  // Notifications arrive in bursts: one renewal waiting behind the running one covers them all.
  readonly #renewal = coalesce(() => this.#renewAndTake())

  constructor (options: RoomLeasesOptions) {
    this.#o = options
    this.#beatMs = options.beatMs ?? Math.max(10, Math.floor(options.ttlMs / 4))
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

  /** Starts the heartbeat and listens for lease changes; takes free leases at once. */
  async start (): Promise<void> {
    this.#unlisten = await this.#o.listen('room_leases', () => { this.beat() })
    await this.beat()
    this.#schedule()
  }

  /** Takes a room's lease for a new or restarted watch (see claimRoomLease). */
  claim (sessionGameId: number, roomCode: string): Promise<ClaimOutcome> {
    return this.#serial(async () => {
      const outcome = await claimRoomLease(this.#o.db, sessionGameId, roomCode, this.#o.owner, this.#o.ttlMs)
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
   * Renews the held leases and takes the free ones, then reports what was lost and taken (outside the queue, so the
   * handlers may claim or drop). Never rejects: a failure is logged once per run of failures.
   */
  beat (): Promise<void> {
    return this.#renewal().then(({ reported }) => reported)
  }

  async #renewAndTake (): Promise<{ reported: Promise<void> }> {
    const changes = await this.#serial(async () => {
      if (this.#stopped) return { lost: [], taken: [] }
      return { lost: await this.#renew(), taken: await this.#takeFree() }
    }).catch((err) => {
      if (!this.#failing) this.#o.log.warn({ err: (err as Error).message }, 'room lease heartbeat failed; retrying')
      this.#failing = true
    })
    if (!changes) return { reported: Promise.resolve() }
    if (this.#failing) this.#o.log.info({}, 'room leases renewed again')
    this.#failing = false
    // Not awaited by the run: a slow handler (a watch stopping mid-poll) must not hold the next renewal back.
    return { reported: this.#report(changes.lost, changes.taken) }
  }

  async #report (lost: Parameters<RoomLeasesOptions['lost']>[0], taken: Parameters<RoomLeasesOptions['acquired']>[0]) {
    if (lost.length) await this.#o.lost(lost)
    if (taken.length) await this.#o.acquired(taken)
  }

  /** Stops the heartbeat and hands every held lease over to the other processes at once. */
  async stop ({ release = true } = {}): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#unlisten?.().catch(() => {})
    await this.#serial(async () => {
      if (release && this.#owned.size) {
        const count = await releaseRoomLeases(this.#o.db, this.#o.owner)
        this.#o.log.info({ count }, 'room leases released')
      }
      this.#owned.clear()
    }).catch((err) => this.#o.log.warn({ err: (err as Error).message }, 'could not release room leases'))
  }

  async #renew (): Promise<{ sessionGameId: number, deleted: boolean }[]> {
    const held = new Set(await renewRoomLeases(this.#o.db, this.#o.owner, this.#o.ttlMs))
    const gone = [...this.#owned.keys()].filter((id) => !held.has(id))
    if (!gone.length) return []
    for (const id of gone) this.#owned.delete(id)
    const stillLeased = new Set(await listLeasedSessionGames(this.#o.db, gone))
    this.#o.log.info({ sessionGameIds: gone }, 'room leases lost')
    return gone.map((sessionGameId) => ({ sessionGameId, deleted: !stillLeased.has(sessionGameId) }))
  }

  async #takeFree (): Promise<{ sessionGameId: number, roomCode: string }[]> {
    const rows = await takeFreeRoomLeases(this.#o.db, this.#o.owner, this.#o.ttlMs, 100)
    const taken = rows.filter((row) => !this.#owned.has(row.session_game_id))
    for (const row of rows) this.#owned.set(row.session_game_id, row.fence)
    if (taken.length) this.#o.log.info({ sessionGameIds: taken.map((row) => row.session_game_id) }, 'room leases taken over')
    return taken.map((row) => ({ sessionGameId: row.session_game_id, roomCode: row.room_code }))
  }

  #schedule (): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => { this.beat().finally(() => this.#schedule()) }, this.#beatMs).unref()
  }
}
