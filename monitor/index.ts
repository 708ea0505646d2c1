import fp from 'fastify-plugin'
import { Agent, type Dispatcher } from 'undici'
import { EcastClient, EcastError, type EcastApi } from './ecast-client.ts'
import { openAudienceSocket } from './audience-socket.ts'
import { createRoomMonitor, type RoomMonitor } from './room-monitor.ts'

export interface RoomMonitorOptions {
  /** Outbound HTTP for ecast REST calls; tests pass a MockAgent or a local Agent. Default: an Agent owned here. */
  dispatcher?: Dispatcher
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
    if (err instanceof EcastError) app.metrics.ecastFailures.inc()
    throw err
  })
  const api: EcastApi = {
    getRoom: (code, signal) => counted(ecast.getRoom(code, signal)),
    getConnections: (code, signal) => counted(ecast.getConnections(code, signal))
  }
  const monitor = createRoomMonitor(app, api, openAudienceSocket)
  // Every process reads the whole log, so a change made through any process reaches the one that owns the watch.
  const unsubscribe = app.eventLog.subscribe((event) => monitor.follow(event))
  app.decorate('roomMonitor', monitor)
  app.addHook('onReady', async () => {
    try {
      await monitor.resume()
    } catch (err) {
      app.log.error({ err }, 'could not resume room watches')
    }
  })
  // preClose, before the server drains its connections: the other processes take the rooms over meanwhile.
  app.addHook('preClose', () => monitor.stopAll())
  app.addHook('onClose', async () => {
    unsubscribe()
    await monitor.stopAll()
    await ownAgent?.close()
  })
}, { name: 'room-monitor', dependencies: ['db', 'event-log', 'metrics', 'process-heartbeat'] })

declare module 'fastify' {
  interface FastifyInstance {
    roomMonitor: RoomMonitor
  }
}
