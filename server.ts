import { loadConfig } from './plugins/config.ts'
import { buildApp } from './app.ts'

let config
try {
  config = loadConfig(process.env)
} catch (err) {
  console.error((err as Error).message)
  process.exit(1)
}

// Readable lines at a terminal, JSON (one object per line) everywhere else: `docker logs`, files, pipes.
// buildApp replaces its whole default logger config with the one given, so the pretty config repeats its redaction:
// the authorization header and a `?token=` in the URL (the live WebSocket) never reach a log line.
const pretty = process.stdout.isTTY && process.env.NODE_ENV !== 'production'
const app = buildApp(config, pretty
  ? {
      logger: {
        level: config.LOG_LEVEL,
        redact: ['req.headers.authorization', 'req.headers.cookie'],
        serializers: {
          req: (req) => ({ method: req.method, url: req.url.replace(/([?&]token=)[^&]*/g, '$1[redacted]'), remoteAddress: req.ip })
        },
        transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } }
      }
    }
  : {})

let closing = false
// A response finishing during shutdown closes its connection: a keep-alive client would otherwise hold
// server.close() open until the keep-alive timeout.
app.addHook('onSend', async (_request, reply) => {
  if (closing) reply.header('connection', 'close')
})

async function shutdown (signal: string) {
  if (closing) return
  closing = true
  app.log.info({ signal }, 'shutting down')
  // A hung close must not keep `docker stop` waiting for its SIGKILL (compose allows 15 s).
  const timer = setTimeout(() => {
    app.log.error('shutdown took longer than 8 s; exiting anyway')
    process.exit(1)
  }, 8000)
  timer.unref()
  try {
    await app.close()
    app.log.info('shut down')
    process.exit(0)
  } catch (err) {
    app.log.error({ err }, 'shutdown failed')
    process.exit(1)
  }
}
process.once('SIGINT', () => shutdown('SIGINT'))
process.once('SIGTERM', () => shutdown('SIGTERM'))

try {
  await app.listen({ port: config.PORT, host: config.HOST })
} catch (err) {
  app.log.error({ err }, 'could not start')
  process.exit(1)
}
