import fp from 'fastify-plugin'
import { SharedClientRegistry } from './shared.ts'

export { MAX_WAITING_COMMANDS, NEVER_RESPONDED, type ClientRegistry } from './registry.ts'

export interface ClientsOptions {
  /** How often commands and outcomes are read without a notification (default 1 s). */
  pollMs?: number
}

// The bots and overlays connected to the live socket of any process (GET /api/clients): this process's own in
// memory (local.ts), every process's in the database with the commands routed between them (shared.ts).
export default fp<ClientsOptions>(async function clients (app, opts) {
  const registry = new SharedClientRegistry({
    db: app.db,
    listen: app.dbListen,
    hub: app.liveEvents,
    heartbeat: app.processHeartbeat,
    log: app.log.child({ plugin: 'clients' }),
    timeoutMs: app.config.CLIENT_COMMAND_TIMEOUT_MS,
    pollMs: opts.pollMs ?? 1000
  })
  app.decorate('clients', registry)
  app.addHook('onReady', async () => registry.start())
  app.addHook('onClose', async () => registry.close())
}, { name: 'clients', dependencies: ['db', 'live-events', 'process-heartbeat'] })

declare module 'fastify' {
  interface FastifyInstance {
    clients: SharedClientRegistry
  }
}
