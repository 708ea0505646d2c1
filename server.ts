import { setFlagsFromString } from 'node:v8'
import closeWithGrace from 'close-with-grace'
import { loadConfig } from './plugins/config.ts'
import { buildApp } from './app.ts'
import { DataDirLocked } from './plugins/data-dir-lock.ts'
import { DatabaseUnreachable } from './plugins/db.ts'

// V8 lets the heap grow to several times what is live before it collects again. The service's live heap is small, but a
// large import allocates fast: a 1M-message chat import peaked 126 MB over idle RSS with the default and 17 MB with the
// heap allowed to grow 30% at a time, at the same speed (bench/chat-import). Read by V8 each time it sizes the heap.
setFlagsFromString('--heap-growing-percent=30')

let config
try {
  config = loadConfig(process.env)
} catch (err) {
  console.error((err as Error).message)
  process.exit(1)
}

// Readable lines at a terminal, JSON (one object per line) everywhere else: `docker logs`, files, pipes.
// buildApp keeps its redaction and request serializer under either.
const pretty = process.stdout.isTTY && process.env.NODE_ENV !== 'production'
const app = buildApp(config, pretty
  ? { logger: { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } } } }
  : {})

let closing = false
// A response finishing during shutdown closes its connection: a keep-alive client would otherwise hold
// server.close() open until the keep-alive timeout.
app.addHook('onSend', async (_request, reply) => {
  if (closing) reply.header('connection', 'close')
})

// Tests only (never under NODE_ENV=production): SIGUSR2 makes the process throw an uncaught error, so a test can crash
// a real process at a moment it chooses (test/crash.test.ts).
const crashOnSignal = process.env.NODE_ENV !== 'production' && process.env.TEST_CRASH_ON_SIGUSR2 === '1'

// SIGINT/SIGTERM, and also a crash (uncaughtException, unhandledRejection): every path closes the app, so live
// clients get their 1001, room leases are released for another process at once and this process's row is deleted,
// instead of all of it waiting out its TTL. A hung close must not keep `docker stop` waiting for its SIGKILL (compose
// allows 15 s): past 8 s the process exits anyway. A second signal or error exits at once.
closeWithGrace({
  delay: 8000,
  skip: crashOnSignal ? ['SIGUSR2'] : [],
  logger: { error: (message: unknown) => app.log.error(message instanceof Error ? { err: message } : {}, String(message)) },
  onTimeout: () => app.log.error('still running 8 s after the signal; exiting anyway')
}, async ({ signal, err }) => {
  closing = true
  if (err) app.log.fatal({ err }, 'crashed; shutting down')
  else app.log.info({ signal }, 'shutting down')
  await app.close()
  app.log.info('shut down')
})

if (crashOnSignal) process.once('SIGUSR2', () => setImmediate(() => { throw new Error('test crash (TEST_CRASH_ON_SIGUSR2)') }))

try {
  await app.listen({ port: config.PORT, host: config.HOST })
} catch (err) {
  // Another process on this DATA_DIR, or a database server that did not answer: one line that says so.
  if (err instanceof DataDirLocked || err instanceof DatabaseUnreachable) app.log.fatal(err.message)
  else app.log.error({ err }, 'could not start')
  process.exit(1)
}
