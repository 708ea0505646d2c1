import { setFlagsFromString } from 'node:v8'
import { loadConfig } from './plugins/config.ts'
import { buildApp } from './app.ts'
import { DataDirLocked } from './plugins/data-dir-lock.ts'

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

async function shutdown (signal: string) {
  if (closing) return
  closing = true
  app.log.info({ signal }, 'shutting down')
  // A hung close, or work left running after it, must not keep `docker stop` waiting for its SIGKILL (compose
  // allows 15 s). Unref'd, this timer fires only while something else still keeps the process alive.
  const timer = setTimeout(() => {
    app.log.error('still running 8 s after the signal; exiting anyway')
    process.exit(1)
  }, 8000)
  timer.unref()
  try {
    await app.close()
    // No process.exit(0): the process ends when nothing is left running, so a clean exit shows that every plugin
    // stopped its work, and the last log lines get flushed.
    app.log.info('shut down')
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
  // Another process on this DATA_DIR: one line that says so (the database was never opened).
  if (err instanceof DataDirLocked) app.log.fatal(err.message)
  else app.log.error({ err }, 'could not start')
  process.exit(1)
}
