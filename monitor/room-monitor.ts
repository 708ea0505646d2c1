import type { FastifyInstance } from 'fastify'
import { findMonitoredGame, findTakeover, saveRoomWatchReport, updatePlayerCheck } from '../db/room-monitor.ts'
import type { HeldLease } from '../db/room-leases.ts'
import { deleteFreeRoomLease, insertMissingRoomLeases } from '../db/room-leases.ts'
import type { EcastApi } from './ecast-client.ts'
import { audienceUrl, type OpenAudienceSocket } from './audience-socket.ts'
import { RoomWatch } from './room-watch.ts'
import type { RoomWatchSink, WatchResume } from './watch-types.ts'
import { RoomLeases } from './leases.ts'
import { recordMonitorCount, recordMonitorStatus, recordRoomEvents, type WatchedRoom } from '../domain/player-check.ts'
import { report, resumeFrom } from './resume.ts'
import type { LoggedEvent } from '../plugins/event-log.ts'
import type { EventData, InternalEventData } from '../schemas/events.ts'

/**
 * The room monitor of one process. It follows the event log (`follow`): a game added with a room code starts a watch,
 * a status change away from `playing`, a removal, a count given by hand and a closed session stop it, a new room code
 * restarts it, whichever process made the change. Only start/stop-player-check call it directly.
 */
export interface RoomMonitor {
  /** Starts watching a session game's room (restarting if its room code changed); its status becomes `checking`. */
  watch (sessionGameId: number): Promise<void>
  /** Stops a session game's watch, in whichever process owns it; a `checking` status becomes `stopped`. */
  unwatch (sessionGameId: number): Promise<void>
  /** Acts on one event of the log: queues the starts, stops and restarts it implies (see `settled`). */
  follow (event: LoggedEvent): void
  /** Resolves once everything queued so far (by events, requests and lease changes) has run. */
  settled (): Promise<void>
  /** Whether a watch for this session game is running now. */
  isWatching (sessionGameId: number): boolean
  /** The room codes being watched now, by session game id. */
  watching (): Map<number, string>
  /**
   * On boot: starts following the room leases, taking over every room no live process watches (a `checking` game of
   * a `playing` session game without a lease gets one first).
   */
  resume (): Promise<void>
  /** Stops every watch without touching their stored status and releases their leases: another process (or the next boot) takes them over. */
  stopAll (): Promise<void>
}

interface Entry { watch: RoomWatch, sessionId: number, code: string, lease: HeldLease }

export function createRoomMonitor (app: FastifyInstance, ecast: EcastApi, openSocket: OpenAudienceSocket): RoomMonitor {
  const log = app.log.child({ plugin: 'room-monitor' })
  const { ECAST_BASE_URL, ECAST_POLL_INTERVAL_MS, ECAST_ROOM_WAIT_MS } = app.config
  const entries = new Map<number, Entry>()
  let closing = false
  // Starts and stops (from events, requests and lease changes) run one at a time, in the order they came: "one watch
  // per room code and per session game" holds, and a stop read after a start in the log runs after it.
  let ops: Promise<unknown> = Promise.resolve()
  const serial = <T>(op: () => Promise<T>): Promise<T> => {
    const next = ops.then(op)
    ops = next.catch(() => {})
    return next
  }

  // One watch per room across processes: a lease in the database (monitor/leases.ts) that hangs off this process's
  // row, which the process heartbeat renews every quarter of a poll period; it lasts three beats (three quarters of a
  // period): a dead owner's rooms are taken within a period of its last renewal, and the new owner polls at once: the
  // rooms of a process that dies are watched again within two poll periods, with a period to spare for the takeover's
  // own round trips (the config accepts no period under 200 ms, so that spare is at least 200 ms).
  const beatMs = Math.round(ECAST_POLL_INTERVAL_MS / 4)
  app.processHeartbeat.holdLeases(3 * beatMs)
  const leases = new RoomLeases({
    db: app.db,
    listen: app.dbListen,
    owner: app.instance,
    heartbeat: app.processHeartbeat,
    retryMs: beatMs,
    log,
    // Taken-over rooms start side by side: one after another, the tenth would wait for nine rounds of queries.
    acquired: (taken) => serial(async () => {
      await Promise.all(taken.map(({ sessionGameId, roomCode }) => start(sessionGameId, 'takeover', roomCode)))
    }),
    lost: (lost) => serial(async () => {
      for (const { sessionGameId, deleted } of lost) {
        if (!leases.holds(sessionGameId)) await leave(sessionGameId, { announce: deleted })
      }
    })
  })

  function forget (sessionGameId: number, entry: Entry) {
    if (entries.get(sessionGameId) !== entry) return
    entries.delete(sessionGameId)
  }

  function sinkFor (room: WatchedRoom, lease: HeldLease, entry: () => Entry): RoomWatchSink {
    // A watch that lost its lease (taken over while this process stalled) records nothing more: every write is made
    // under the lease it was started with, checked in the write's transaction; a refused write makes this process
    // look at its leases now (it stops the watch). A count or status not stored may just be a check ended meanwhile:
    // the next look at the leases tells.
    return {
      async events (events, published) {
        if (!await recordRoomEvents(app.db, room, events, lease, report(published))) leases.look().catch(() => {})
      },
      async count (playerCount, status, published, events) {
        await recordMonitorCount(app.db, room, playerCount, status, lease, report(published), events)
      },
      async status (status) {
        await recordMonitorStatus(app.db, room, status, lease)
      },
      finished () {
        const { sessionGameId } = room
        forget(sessionGameId, entry())
        leases.drop(sessionGameId).catch((err) => log.warn({ err: (err as Error).message, sessionGameId }, 'could not drop a room lease'))
      }
    }
  }

  function begin (sessionGameId: number, sessionId: number, code: string, lease: HeldLease, resume?: WatchResume) {
    const entry: Entry = {
      sessionId,
      code,
      lease,
      watch: new RoomWatch({
        code,
        api: ecast,
        openSocket,
        socketUrl: (host) => audienceUrl(ECAST_BASE_URL, host, code),
        pollIntervalMs: ECAST_POLL_INTERVAL_MS,
        roomWaitMs: ECAST_ROOM_WAIT_MS,
        sink: sinkFor({ sessionId, sessionGameId, roomCode: code }, lease, () => entry),
        log: log.child({ sessionGameId }),
        resume
      })
    }
    entries.set(sessionGameId, entry)
    entry.watch.start()
  }

  /** Stops this process's watch of a session game, if it has one; `announce`: room.disconnected when it was live. */
  async function leave (sessionGameId: number, { announce }: { announce: boolean }) {
    const entry = entries.get(sessionGameId)
    if (!entry) return
    forget(sessionGameId, entry)
    const wasLive = entry.watch.connected && !entry.watch.done
    await entry.watch.stop()
    if (announce && wasLive) {
      // Under the watch's lease while this process holds it (a stop here); a lease deleted by another process's stop
      // is announced by its last holder, unfenced.
      const lease = leases.holds(sessionGameId) ? entry.lease : undefined
      await recordRoomEvents(app.db, { sessionId: entry.sessionId, sessionGameId, roomCode: entry.code }, [{ type: 'room.disconnected', data: { reason: 'monitor stopped' } }], lease)
    }
  }

  // Whichever process owns the watch: deleting the lease tells the owner (NOTIFY) to stop and announce it.
  async function end (sessionGameId: number) {
    await leave(sessionGameId, { announce: true })
    await leases.drop(sessionGameId, { any: true })
    await updatePlayerCheck(app.db, sessionGameId, { status: 'stopped' }, 'checking')
  }

  /**
   * Starts (or moves to a new room code) a session game's watch in this process, unless another process watches the
   * room. `request`: start-player-check, which writes `checking`. `event`: the log says a check started (a game added
   * with a room code, a new code); it starts only while the row still says `checking`. `takeover`: a lease this
   * process took over (an owner died or handed it over) on `takenCode`, resumed from what that owner reported.
   */
  async function start (sessionGameId: number, mode: 'request' | 'event' | 'takeover', takenCode?: string) {
    if (closing) return
    // A taken-over lease dropped meanwhile (its watch was stopped by an event queued first): nothing to resume.
    if (mode === 'takeover' && !leases.holds(sessionGameId)) return
    // A takeover is timed from the owner's death: one round trip reads all it needs.
    const found = mode === 'takeover' ? await findTakeover(app.db, sessionGameId) : undefined
    const game = mode === 'takeover' ? found : await findMonitoredGame(app.db, sessionGameId)
    const current = entries.get(sessionGameId)
    // A watch running under the lease held now goes on (one under an older fence writes nothing: it is replaced).
    if (current && !current.watch.done && game?.room_code === current.code && current.lease.fence === leases.held(sessionGameId)?.fence) return
    if (!game?.room_code) {
      await end(sessionGameId)
      return
    }
    if (mode === 'event' && game.player_count_check_status !== 'checking') return
    const resume = found && resumeFrom(found)
    if (resume) {
      // A lease outliving its watch (the owner died between the end and deleting it): nothing left to watch.
      if (resume.ended || game.status !== 'playing' || !['checking', 'completed'].includes(game.player_count_check_status)) {
        await leases.drop(sessionGameId)
        return
      }
    }
    // The room code changed: the old room's watch ends here, the claim below moves the lease to the new code. (Or a
    // watch under an older fence: replaced without a word, the room is still watched.)
    if (current) await leave(sessionGameId, { announce: game.room_code !== current.code })
    // A lease taken over on the room's code is held already; otherwise it is claimed (and moved to the new code).
    const held = mode === 'takeover' && takenCode === game.room_code ? leases.held(sessionGameId) : undefined
    const claim = held ? { claimed: true as const, fence: held.fence, displaced: [] } : await leases.claim(sessionGameId, game.room_code)
    if (!claim.claimed) return // another process watches this room already
    for (const holder of claim.displaced) {
      log.info({ roomCode: game.room_code, from: holder, to: sessionGameId }, 'room code moved to another session game')
      await end(holder)
    }
    if (mode === 'request') await updatePlayerCheck(app.db, sessionGameId, { status: 'checking' })
    // A new watch (not a takeover) starts from nothing: what an earlier one published must not be resumed from.
    if (mode !== 'takeover') {
      await saveRoomWatchReport(app.db, { session_game_id: sessionGameId, fence: claim.fence, lobby_state: null, game_can_start: null, description_id: null })
    }
    begin(sessionGameId, game.session_id, game.room_code, { owner: leases.owner, fence: claim.fence }, resume)
  }

  /**
   * A change in the log ended a session game's check (the domain stored its status already): the process that owns the
   * watch stops it and gives its lease up. A lease no live process holds is deleted by whichever process sees the event
   * first, so a later takeover does not resume a watch that was stopped meanwhile.
   */
  async function stop (sessionGameId: number) {
    if (entries.has(sessionGameId) || leases.holds(sessionGameId)) {
      await leave(sessionGameId, { announce: true })
      await leases.drop(sessionGameId)
    } else {
      await deleteFreeRoomLease(app.db, sessionGameId)
    }
  }

  /** What an event of the log asks of this process's watches; undefined when nothing. */
  function react (event: LoggedEvent): (() => Promise<void>) | undefined {
    switch (event.type) {
      case 'game.added': {
        const { game } = event.data as EventData<'game.added'>
        return game.room_code ? () => start(game.id, 'event') : undefined
      }
      case 'session-game.status-changed': {
        const { sessionGameId, status } = event.data as InternalEventData<'session-game.status-changed'>
        return status === 'playing' ? undefined : () => stop(sessionGameId)
      }
      case 'session-game.removed': {
        const { sessionGameId } = event.data as InternalEventData<'session-game.removed'>
        return () => stop(sessionGameId)
      }
      case 'session-game.room-code-changed': {
        // Only the owner of a running watch moves it (a free lease's taker reads the new code from the row).
        const { sessionGameId } = event.data as InternalEventData<'session-game.room-code-changed'>
        return async () => { if (entries.has(sessionGameId)) await start(sessionGameId, 'event') }
      }
      case 'player-count.updated': {
        // A count given by hand is final: the watch has nothing left to find out.
        const { sessionGameId, source } = event.data as EventData<'player-count.updated'>
        return source === 'manual' ? () => stop(sessionGameId) : undefined
      }
      case 'session.ended': {
        return async () => {
          const ids = [...entries].filter(([, entry]) => entry.sessionId === event.sessionId).map(([id]) => id)
          for (const id of ids) await stop(id)
        }
      }
      default:
        return undefined
    }
  }

  return {
    watch: (sessionGameId) => serial(() => start(sessionGameId, 'request')),
    unwatch: (sessionGameId) => serial(() => end(sessionGameId)),
    follow (event) {
      if (closing) return
      const op = react(event)
      if (!op) return
      serial(op).catch((err) => log.error({ err, event: event.type, eventId: event.id }, 'room monitor could not follow an event'))
    },
    settled: () => serial(async () => {}),
    isWatching: (sessionGameId) => {
      const entry = entries.get(sessionGameId)
      return entry !== undefined && !entry.watch.done
    },
    watching: () => new Map([...entries].map(([id, entry]) => [id, entry.code])),
    // Not serial: the first beat's takeovers go through the queue, and resume waits for them.
    resume: async () => {
      await insertMissingRoomLeases(app.db)
      await leases.start()
      if (entries.size) log.info({ count: entries.size }, 'room watches resumed')
    },
    stopAll: () => {
      closing = true
      return serial(async () => {
        const all = [...entries.values()]
        entries.clear()
        await Promise.all(all.map((entry) => entry.watch.stop()))
        await leases.stop({ release: true })
      })
    }
  }
}
