import t from 'tap'
import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { freePort } from '../bench/lib/server.ts'
import { testDatabase } from './helper.ts'
import { api, startServer, PROCESS_ADMIN_KEY, type ServerProcess } from './server-process.ts'

// Real processes: a delivery whose receiver is down survives a SIGKILL of the service and is sent by the next start,
// once, with the delivery id it was given when its event was recorded.
t.test('a pending delivery survives SIGKILL and arrives once, after the restart, with its original delivery id', async (t) => {
  const receiverPort = await freePort() // nothing listens there yet: the receiver is down
  const env = { WEBHOOK_ALLOW_LOOPBACK: 'true', LOG_LEVEL: 'debug', ...await testDatabase(t, { onDisk: true }) }
  const login = async (server: ServerProcess) => (await api(server, '/api/auth/login', { method: 'POST', body: { key: PROCESS_ADMIN_KEY } })).body.token as string
  const lineOf = (message: string) => (line: string) => line.includes(`"msg":"${message}"`)

  const first = await startServer(t, env)
  const token = await login(first)
  const hook = await api(first, '/api/webhooks', { method: 'POST', token, body: { name: 'Down', url: `http://127.0.0.1:${receiverPort}/hook`, events: ['session.started'] } })
  t.equal(hook.status, 201)
  const session = await api(first, '/api/sessions', { method: 'POST', token, body: { notes: 'crash night' } })
  t.equal(session.status, 201)

  // The failed first attempt is logged once it is recorded (attempt, outcome and next attempt time stored together).
  const failed = JSON.parse(await first.waitForLine(lineOf('webhook attempt failed; will retry')))
  process.kill(first.pid, 'SIGKILL')
  t.same(await first.exited, { code: null, signal: 'SIGKILL' })
  t.match(failed, { attempt: 1, event: 'session.started', deliveryId: /^[0-9a-f-]{36}$/, error: /ECONNREFUSED/, retryInMs: Number })
  t.ok(failed.retryInMs >= 1000, 'the backoff is at least 1 s')

  const second = await startServer(t, env)
  const received: Array<{ headers: IncomingHttpHeaders, body: { event: string, timestamp: string, data: unknown } }> = []
  let arrived = () => {}
  const arrival = new Promise<void>((resolve) => { arrived = resolve })
  const receiver = createServer((req, res) => {
    let raw = ''
    req.setEncoding('utf8')
    req.on('data', (chunk) => { raw += chunk })
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(raw) })
      res.end('ok')
      arrived()
    })
  })
  receiver.listen(receiverPort, '127.0.0.1')
  await once(receiver, 'listening')
  t.teardown(() => { receiver.closeAllConnections(); receiver.close() })

  await arrival
  await second.waitForLine(lineOf('webhook delivered'))
  const token2 = await login(second)
  const logs = (await api(second, `/api/webhooks/${hook.body.id}/logs`, { token: token2 })).body as Array<{ attempt: number, success: boolean, created_at: string }>
  process.kill(second.pid, 'SIGTERM')
  t.same(await second.exited, { code: 0, signal: null })

  t.equal(received.length, 1, 'the delivery arrived once')
  t.equal(received[0].headers['x-webhook-delivery'], failed.deliveryId, 'with the delivery id of the attempt made before the crash')
  t.match(received[0].body.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  t.same(received[0].body, { event: 'session.started', timestamp: received[0].body.timestamp, data: { session: { ...session.body, games_played: 0 } } })

  // Newest first: the success, after every failure, with attempts numbered across the restart (the second process
  // may have tried once more while the receiver was still down) and at least 1 s between two attempts.
  const attempts = logs.slice().reverse()
  t.same(attempts.map((entry) => [entry.attempt, entry.success]),
    attempts.map((_entry, i) => [i + 1, i === attempts.length - 1]), 'attempts 1..n, only the last one succeeded')
  t.ok(attempts.length >= 2 && attempts.length <= 3, `${attempts.length} attempts in all`)
  for (let i = 1; i < attempts.length; i++) {
    t.ok(Date.parse(attempts[i].created_at) - Date.parse(attempts[i - 1].created_at) >= 1000, `attempt ${i + 1} waited its backoff`)
  }
})
