import fp from 'fastify-plugin'
import { Gauge } from 'prom-client'
import type { InternalEventData } from '../../schemas/events.ts'
import { LiveHub } from './hub.ts'
import { logSource } from './source.ts'

export { CLOSE_GOING_AWAY, LiveClient, clientEvent } from './client.ts'
export { LiveHub } from './hub.ts'

export interface LiveEventsOptions {
  /** How often the server pings every client; a client that leaves two pings in a row unanswered is dropped. */
  heartbeatMs?: number
  /**
   * The most bytes a client may have queued and unsent before it is dropped. A client that reads too slowly
   * would otherwise grow the server's memory without bound; dropping it keeps one stalled overlay from costing
   * the others anything, and it can reconnect.
   */
  maxBufferedBytes?: number
  /** How long a socket may stay unauthenticated before it is closed with 4401. */
  authTimeoutMs?: number
}

export default fp<LiveEventsOptions>(async function liveEvents (app, opts) {
  const hub = new LiveHub({
    log: app.log.child({ plugin: 'live-events' }),
    maxBufferedBytes: opts.maxBufferedBytes ?? 1024 * 1024,
    maxClients: app.config.LIVE_MAX_CLIENTS,
    authTimeoutMs: opts.authTimeoutMs ?? 10_000,
    authenticate: app.authenticate,
    source: logSource(app.db, app.eventLog)
  })
  const unsubscribe = app.eventLog.subscribe((event) => {
    if (event.type === 'token.revoked') {
      const { tokenId } = event.data as InternalEventData<'token.revoked'>
      app.forgetToken(tokenId) // this process's HTTP requests refuse it at once too, not after the cache's 500 ms
      hub.revoke(tokenId)
      return
    }
    hub.broadcast(event)
  })
  const heartbeat = setInterval(() => hub.heartbeat(), opts.heartbeatMs ?? 30_000)
  heartbeat.unref()
  app.decorate('liveEvents', hub)
  app.metrics.registry.registerMetric(new Gauge({
    name: 'live_clients_connected',
    help: 'Live WebSocket clients connected to this process',
    registers: [],
    collect () { this.set(hub.clientCount) }
  }))
  app.addHook('onClose', async () => {
    clearInterval(heartbeat)
    unsubscribe()
  })
}, { name: 'live-events', dependencies: ['event-log', 'auth', 'metrics'] })

declare module 'fastify' {
  interface FastifyInstance {
    liveEvents: LiveHub
  }
}
