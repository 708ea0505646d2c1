import fp from 'fastify-plugin'
import { Agent, type Dispatcher } from 'undici'
import type { FastifyInstance } from 'fastify'
import { findMonitoredGame, listResumableGames, updatePlayerCheck } from '../db/room-monitor.ts'
import { EcastClient, EcastError, type EcastApi } from './ecast-client.ts'
import { audienceUrl, openAudienceSocket, type OpenAudienceSocket } from './audience-socket.ts'
import { RoomWatch, type RoomWatchSink } from './room-watch.ts'
import { recordMonitorCount, recordRoomEvent } from '../domain/player-check.ts'

export interface RoomMonitorOptions {
  /** Outbound HTTP for ecast REST calls; tests pass a MockAgent or a local Agent. Default: an Agent owned here. */
  dispatcher?: Dispatcher
  /** Opens audience sockets; tests may substitute it. */
  openSocket?: OpenAudienceSocket
}

/** What the session routes need from the room monitor. */
export interface RoomMonitor {
  /** Starts watching a session game's room (restarting if its room code changed); its status becomes `checking`. */
  watch (sessionGameId: number): Promise<void>
  /** Stops a session game's watch if it has one; a `checking` status becomes `stopped`. */
  unwatch (sessionGameId: number): Promise<void>
  /** Whether a watch for this session game is running now. */
  isWatching (sessionGameId: number): boolean
  /** The room codes being watched now, by session game id. */
  watching (): Map<number, string>
  /** Restarts the watches the database marks as `checking` for `playing` games (on boot). */
  resume (): Promise<void>
  /** Stops every watch without touching their stored status, so the next boot resumes them. */
  stopAll (): Promise<void>
}

interface Entry { watch: RoomWatch, sessionId: number, code: string }

export function createRoomMonitor (app: FastifyInstance, ecast: EcastApi, openSocket: OpenAudienceSocket): RoomMonitor {
  const log = app.log.child({ plugin: 'room-monitor' })
  const { ECAST_BASE_URL, ECAST_POLL_INTERVAL_MS, ECAST_ROOM_WAIT_MS } = app.config
  const entries = new Map<number, Entry>()
  const byCode = new Map<string, number>()
  let closing = false
  // watch/unwatch run one at a time, so "one watch per room code and per session game" holds under concurrent calls.
  let ops: Promise<unknown> = Promise.resolve()
  const serial = <T>(op: () => Promise<T>): Promise<T> => {
    const next = ops.then(op)
    ops = next.catch(() => {})
    return next
  }

  function forget (sessionGameId: number, entry: Entry) {
    if (entries.get(sessionGameId) !== entry) return
    entries.delete(sessionGameId)
    if (byCode.get(entry.code) === sessionGameId) byCode.delete(entry.code)
  }

  function sinkFor (sessionGameId: number, sessionId: number, roomCode: string, entry: () => Entry): RoomWatchSink {
    const room = { sessionId, sessionGameId, roomCode }
    return {
      async event (type, data) {
        await recordRoomEvent(app.db, room, type, data)
      },
      async count (playerCount, status) {
        await recordMonitorCount(app.db, room, playerCount, status)
      },
      async status (status) {
        await updatePlayerCheck(app.db, sessionGameId, { status }, 'checking')
      },
      finished () { forget(sessionGameId, entry()) }
    }
  }

  function begin (sessionGameId: number, sessionId: number, code: string) {
    const entry: Entry = {
      sessionId,
      code,
      watch: new RoomWatch({
        code,
        api: ecast,
        openSocket,
        socketUrl: (host) => audienceUrl(ECAST_BASE_URL, host, code),
        pollIntervalMs: ECAST_POLL_INTERVAL_MS,
        roomWaitMs: ECAST_ROOM_WAIT_MS,
        sink: sinkFor(sessionGameId, sessionId, code, () => entry),
        log: log.child({ sessionGameId })
      })
    }
    entries.set(sessionGameId, entry)
    byCode.set(code, sessionGameId)
    entry.watch.start()
  }

  async function end (sessionGameId: number) {
    const entry = entries.get(sessionGameId)
    if (entry) {
      forget(sessionGameId, entry)
      const wasLive = entry.watch.connected && !entry.watch.done
      await entry.watch.stop()
      if (wasLive) {
        await recordRoomEvent(app.db, { sessionId: entry.sessionId, sessionGameId, roomCode: entry.code }, 'room.disconnected', { reason: 'monitor stopped' })
      }
    }
    await updatePlayerCheck(app.db, sessionGameId, { status: 'stopped' }, 'checking')
  }

  async function start (sessionGameId: number, { resuming }: { resuming: boolean }) {
    if (closing) return
    const game = await findMonitoredGame(app.db, sessionGameId)
    const current = entries.get(sessionGameId)
    if (current && !current.watch.done && game?.room_code === current.code) return
    if (current || !game?.room_code) {
      await end(sessionGameId)
      if (!game?.room_code) return
    }
    const holder = byCode.get(game.room_code)
    if (holder !== undefined) {
      log.info({ roomCode: game.room_code, from: holder, to: sessionGameId }, 'room code moved to another session game')
      await end(holder)
    }
    if (!resuming) await updatePlayerCheck(app.db, sessionGameId, { status: 'checking' })
    begin(sessionGameId, game.session_id, game.room_code)
  }

  return {
    watch: (sessionGameId) => serial(() => start(sessionGameId, { resuming: false })),
    unwatch: (sessionGameId) => serial(() => end(sessionGameId)),
    isWatching: (sessionGameId) => {
      const entry = entries.get(sessionGameId)
      return entry !== undefined && !entry.watch.done
    },
    watching: () => new Map([...entries].map(([id, entry]) => [id, entry.code])),
    resume: () => serial(async () => {
      const games = await listResumableGames(app.db)
      for (const game of games) await start(game.id, { resuming: true })
      if (games.length) log.info({ count: games.length }, 'room watches resumed')
    }),
    stopAll: () => {
      closing = true
      return serial(async () => {
        const all = [...entries.values()]
        entries.clear()
        byCode.clear()
        await Promise.all(all.map((entry) => entry.watch.stop()))
      })
    }
  }
}

export default fp<RoomMonitorOptions>(async function roomMonitor (app, opts) {
  const ownAgent = opts.dispatcher ? null : new Agent({ keepAliveTimeout: 30_000, connect: { timeout: 5000 } })
  const ecast = new EcastClient({
    baseUrl: app.config.ECAST_BASE_URL,
    dispatcher: opts.dispatcher ?? ownAgent!,
    // A poll must not hang for much longer than its period; 5 s at most.
    timeoutMs: Math.min(5000, Math.max(250, 2 * app.config.ECAST_POLL_INTERVAL_MS))
  })
  // Failed ecast calls are counted for /metrics (the watch itself logs and retries them).
  const counted = <T>(call: Promise<T>) => call.catch((err: unknown) => {
    if (err instanceof EcastError && app.hasDecorator('metrics')) app.metrics.ecastFailures.inc()
    throw err
  })
  const api: EcastApi = {
    getRoom: (code, signal) => counted(ecast.getRoom(code, signal)),
    getConnections: (code, signal) => counted(ecast.getConnections(code, signal))
  }
  const monitor = createRoomMonitor(app, api, opts.openSocket ?? openAudienceSocket)
  app.decorate('roomMonitor', monitor)
  app.addHook('onReady', async () => {
    try {
      await monitor.resume()
    } catch (err) {
      app.log.error({ err }, 'could not resume room watches')
    }
  })
  app.addHook('onClose', async () => {
    await monitor.stopAll()
    await ownAgent?.close()
  })
}, { name: 'room-monitor', dependencies: ['db', 'event-log'] })

declare module 'fastify' {
  interface FastifyInstance {
    roomMonitor: RoomMonitor
  }
}
