import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import Fastify, { type FastifyLoggerOptions } from 'fastify'
import type { DestinationStream, LoggerOptions as PinoLoggerOptions } from 'pino'
import websocket from '@fastify/websocket'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Dispatcher } from 'undici'
import { trustProxy, type Config } from './plugins/config.ts'
import { ajv, schemaController } from './plugins/validation.ts'
import metrics from './plugins/metrics.ts'
import errors, { clientErrorHandler, frameworkErrors, websocketErrorHandler } from './plugins/errors.ts'
import { loggerOptions } from './plugins/logging.ts'
import input from './plugins/input.ts'
import db from './plugins/db.ts'
import swagger from './plugins/swagger.ts'
import asyncapi from './plugins/asyncapi.ts'
import auth from './plugins/auth.ts'
import domain from './plugins/domain.ts'
import eventLog from './plugins/event-log.ts'
import liveEvents, { CLOSE_GOING_AWAY } from './plugins/live/index.ts'
import processHeartbeat from './plugins/process-heartbeat.ts'
import clients from './plugins/clients/index.ts'
import webhooks from './webhooks/index.ts'
import type { Lookup } from './webhooks/targets.ts'
import roomMonitor from './monitor/index.ts'
import chatSources, { type ChatReaderOptions } from './chat/index.ts'
import authRoutes from './routes/auth.ts'
import healthRoutes from './routes/health.ts'
import gamesRoutes from './routes/games.ts'
import pickerRoutes from './routes/picker.ts'
import statsRoutes from './routes/stats.ts'
import sessionsRoutes from './routes/sessions.ts'
import sessionGamesRoutes from './routes/session-games.ts'
import playerCheckRoutes from './routes/player-check.ts'
import chatImportRoutes from './routes/chat-import.ts'
import exportRoutes from './routes/export.ts'
import votesRoutes from './routes/votes.ts'
import webhooksRoutes from './routes/webhooks.ts'
import liveRoutes from './routes/live.ts'
import clientsRoutes from './routes/clients.ts'
import timelineRoutes from './routes/timeline.ts'
import pages from './plugins/pages.ts'
import chatSourcesRoutes from './routes/chat-sources.ts'

export interface AppOptions {
  /** pino options laid over the defaults (level from config, redaction, request serializer): e.g. a transport or a stream. */
  logger?: Omit<FastifyLoggerOptions & PinoLoggerOptions, 'level'> & { stream?: DestinationStream }
  /** Outbound HTTP for webhook deliveries (tests pass a MockAgent or a local Agent); bypasses the connect-time target check. */
  webhookDispatcher?: Dispatcher
  /** Name resolution for webhook targets (tests resolve their own names). */
  webhookLookup?: Lookup
  /** The waits between webhook attempts (default 2 s, then 10 s). */
  webhookRetryDelaysMs?: number[]
  /** Outbound HTTP for the ecast REST client. */
  ecastDispatcher?: Dispatcher
  /** How often each process reads the event log without a notification (default 1 s). */
  eventLogPollMs?: number
  /** Postgres pool size when DATABASE_URL is set. */
  dbPoolSize?: number
  /** How long a request may take to arrive in full, and how often Node checks it (tests shorten both). */
  requestTimeoutMs?: number
  connectionsCheckingIntervalMs?: number
  /** How long a live socket may stay unauthenticated (10 s). */
  liveAuthTimeoutMs?: number
  /** Chat sources: lease timing and reconnection backoff (tests shorten them). */
  chatReader?: ChatReaderOptions
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/

// Longer than the 60 s a client command may wait (CLIENT_COMMAND_TIMEOUT_MS's default), so that route times out first.
const REQUEST_TIMEOUT_MS = 90_000

export function buildApp (config: Config, options: AppOptions = {}) {
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS
  const app = Fastify({
    logger: {
      level: config.LOG_LEVEL,
      ...loggerOptions,
      ...options.logger
    },
    ajv,
    schemaController,
    trustProxy: trustProxy(config.TRUST_PROXY),
    // A trickled body or an idle socket must not hold a connection for ever.
    requestTimeout,
    connectionTimeout: REQUEST_TIMEOUT_MS,
    // Node checks the deadlines every connectionsCheckingInterval (30 s by default), and ignores a requestTimeout shorter
    // than headersTimeout: both are set where the server is created.
    http: {
      requestTimeout,
      headersTimeout: Math.min(60_000, requestTimeout),
      connectionsCheckingInterval: options.connectionsCheckingIntervalMs ?? 5000
    },
    frameworkErrors,
    clientErrorHandler,
    // Every response carries its request id so a log line can be found from a client report. A client's own
    // X-Request-Id is kept only when it is a short safe id: anything else (a token, 15 KB of text) is never logged.
    requestIdHeader: false,
    genReqId: (req) => {
      const id = req.headers['x-request-id']
      return typeof id === 'string' && SAFE_REQUEST_ID.test(id) ? id : crypto.randomUUID()
    },
    // Let the runtime finish in-flight requests on close, but refuse new ones with a clear 503.
    return503OnClosing: true,
    // A new embedded database runs initdb and the migrations before the app is ready: seconds on an idle machine,
    // far more on a loaded one. Fastify's 10 s default would abort that boot.
    pluginTimeout: 120_000
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.decorate('config', config)
  // Names this process among those sharing the database (room leases, /api/health): host and pid for an operator,
  // random bytes so that a restarted process with a reused pid is never taken for its predecessor.
  app.decorate('instance', `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`)
  app.addHook('onSend', async (request, reply) => { reply.header('x-request-id', request.id) })

  app.register(errors)
  app.register(input)
  app.register(db, { poolSize: options.dbPoolSize })
  app.register(metrics)
  app.register(swagger)
  app.register(asyncapi)
  app.register(websocket, {
    options: { maxPayload: 64 * 1024 },
    errorHandler: websocketErrorHandler,
    // Shutdown closes every socket with 1001 (going away), where the default closes without a code (1005).
    preClose (done) {
      for (const client of this.websocketServer.clients) client.close(CLOSE_GOING_AWAY, 'Server shutting down')
      this.websocketServer.close(done)
    }
  })
  app.register(auth)
  app.register(eventLog, { pollMs: options.eventLogPollMs })
  app.register(domain)
  app.register(liveEvents, { authTimeoutMs: options.liveAuthTimeoutMs })
  app.register(processHeartbeat)
  app.register(clients)
  app.register(webhooks, { dispatcher: options.webhookDispatcher, lookup: options.webhookLookup, retryDelaysMs: options.webhookRetryDelaysMs })
  app.register(roomMonitor, { dispatcher: options.ecastDispatcher })
  app.register(chatSources, options.chatReader ?? {})

  app.register(authRoutes, { prefix: '/api/auth' })
  app.register(healthRoutes, { prefix: '/api/health' })
  app.register(gamesRoutes, { prefix: '/api/games' })
  app.register(pickerRoutes, { prefix: '/api/pick' })
  app.register(statsRoutes, { prefix: '/api/stats' })
  app.register(sessionsRoutes, { prefix: '/api/sessions' })
  app.register(sessionGamesRoutes, { prefix: '/api/sessions' })
  app.register(playerCheckRoutes, { prefix: '/api/sessions' })
  app.register(chatImportRoutes, { prefix: '/api/sessions' })
  app.register(exportRoutes, { prefix: '/api/sessions' })
  app.register(liveRoutes, { prefix: '/api/sessions' })
  app.register(timelineRoutes, { prefix: '/api/sessions' })
  app.register(votesRoutes, { prefix: '/api' })
  app.register(webhooksRoutes, { prefix: '/api/webhooks' })
  app.register(clientsRoutes, { prefix: '/api/clients' })
  app.register(chatSourcesRoutes, { prefix: '/api/chat-sources' })
  // The console and the overlay: static files with their own headers, clients of the routes above.
  app.register(pages)

  return app
}

export type App = ReturnType<typeof buildApp>

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    /** This process's id, unique among the processes sharing the database. */
    instance: string
  }
}
