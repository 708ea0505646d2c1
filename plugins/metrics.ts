import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { countRoomLeases } from '../db/room-leases.ts'
import { isDatabaseDown } from './errors.ts'

/** The counters other plugins move; `GET /metrics` reads them and the gauges (a plugin may register its own on `registry`). */
export interface Metrics {
  registry: Registry
  /** A failed ecast REST call of the room monitor (unreachable, timed out, 5xx, malformed). */
  ecastFailures: Counter
  /** A webhook delivery attempt, by outcome: `delivered`, `retrying` (failed, another attempt is due), `failed` (none left), `test`. */
  webhookDeliveries: Counter<'outcome'>
  /** Rows of chat logs imported, by result: `stored` or `duplicate`. */
  chatImportRows: Counter<'result'>
  /** Messages read from a chat source (`twitch/<channel>`), votes or not. */
  chatSourceMessages: Counter<'source'>
  /** Votes read from a chat source, by result: `counted` or `refused` (by the live-vote rules). */
  chatSourceVotes: Counter<'source' | 'result'>
}

export default fp(async function metrics (app) {
  // One registry per app: tests build several apps in one process.
  const registry = new Registry()
  const requests = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry]
  })
  // The rooms this process watches, as /api/health counts them: its room leases in the database (0 while it is down).
  registry.registerMetric(new Gauge({
    name: 'rooms_watched',
    help: 'Jackbox rooms this process watches now (its live room leases)',
    registers: [],
    async collect () {
      try {
        this.set(await countRoomLeases(app.db, app.instance))
      } catch (err) {
        if (!isDatabaseDown(err)) throw err
        this.set(0)
      }
    }
  }))
  const metrics: Metrics = {
    registry,
    ecastFailures: new Counter({ name: 'ecast_request_failures_total', help: 'Failed ecast REST calls of the room monitor', registers: [registry] }),
    webhookDeliveries: new Counter({
      name: 'webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry]
    }),
    chatImportRows: new Counter({
      name: 'chat_import_rows_total',
      help: 'Chat log rows imported, stored or skipped as duplicates',
      labelNames: ['result'] as const,
      registers: [registry]
    }),
    chatSourceMessages: new Counter({
      name: 'chat_source_messages_total',
      help: 'Chat messages read from each chat source by this process',
      labelNames: ['source'] as const,
      registers: [registry]
    }),
    chatSourceVotes: new Counter({
      name: 'chat_source_votes_total',
      help: 'Votes read from each chat source by this process, counted or refused by the live-vote rules',
      labelNames: ['source', 'result'] as const,
      registers: [registry]
    })
  }
  app.decorate('metrics', metrics)

  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the raw URL, so ids do not multiply the series; unknown URLs share one label.
    const route = request.routeOptions.url ?? 'unmatched'
    requests.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000)
  })

  app.get('/metrics', {
    schema: {
      tags: ['health'],
      operationId: 'getMetrics',
      summary: 'Prometheus metrics',
      description: 'Prometheus text exposition of this process: request latency by route and status, live clients, ' +
        'rooms watched, ecast failures, webhook deliveries by outcome, chat-import rows, and chat-source messages and votes. Public, like /api/health: ' +
        'it holds counts only.',
      security: [],
      response: {
        200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } }
      }
    }
  }, async (_request, reply) => {
    reply.type(registry.contentType)
    return registry.metrics()
  })
}, { name: 'metrics', dependencies: ['db'] })

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}
