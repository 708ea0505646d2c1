import t from 'tap'
import { createServer, connect, Socket } from 'node:net'
import { createServer as createHttpServer } from 'node:http'
import { once } from 'node:events'
import { buildApp } from '../app.ts'
import { loadConfig } from '../plugins/config.ts'
import { testDatabase, TEST_SECRET } from './helper.ts'

// A database outage needs a real server to lose: this runs where TEST_DATABASE_URL points at one (CI does).
const serverUrl = process.env.TEST_DATABASE_URL

/** A TCP proxy in front of Postgres that can cut every connection and refuse new ones, then heal. */
async function outageProxy (target: URL) {
  let down = false
  const sockets = new Set<Socket>()
  const track = (socket: Socket) => { sockets.add(socket); socket.on('close', () => sockets.delete(socket)) }
  const server = createServer((client) => {
    if (down) return client.destroy()
    const upstream = connect(Number(target.port), target.hostname)
    track(client)
    track(upstream)
    client.pipe(upstream).pipe(client)
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as { port: number }).port,
    cut () {
      down = true
      for (const socket of sockets) socket.destroy()
    },
    heal () { down = false },
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

t.test('database outage', { skip: serverUrl ? false : 'needs TEST_DATABASE_URL (a PostgreSQL server)' }, async (t) => {
  const { DATABASE_URL } = await testDatabase(t)
  const direct = new URL(DATABASE_URL)
  const proxy = await outageProxy(direct)
  t.teardown(() => proxy.close())
  const viaProxy = new URL(DATABASE_URL)
  viaProxy.host = `127.0.0.1:${proxy.port}`

  const app = buildApp(loadConfig({ LOG_LEVEL: 'silent', JWT_SECRET: TEST_SECRET, DATABASE_URL: viaProxy.toString() }))
  t.teardown(() => app.close())
  await app.ready()

  t.equal((await app.inject('/api/health')).statusCode, 200, 'healthy while the database answers')
  t.equal((await app.inject('/api/sessions')).statusCode, 200)

  proxy.cut()
  const health = await app.inject('/api/health')
  t.equal(health.statusCode, 503)
  t.match(health.json(), { db: 'down' })
  const route = await app.inject('/api/sessions')
  t.equal(route.statusCode, 503)
  t.same(route.json(), { error: 'Database unavailable' })

  proxy.heal()
  t.equal((await app.inject('/api/health')).statusCode, 200, 'recovers by itself')
  const after = await app.inject('/api/sessions')
  t.equal(after.statusCode, 200)
  t.same(after.json(), [])
})

t.test('an attempt whose outcome could not be recorded in an outage is recorded once the database returns, not sent again after its claim',
  { skip: serverUrl ? false : 'needs TEST_DATABASE_URL (a PostgreSQL server)' }, async (t) => {
    const { DATABASE_URL } = await testDatabase(t)
    const proxy = await outageProxy(new URL(DATABASE_URL))
    t.teardown(() => proxy.close())
    const viaProxy = new URL(DATABASE_URL)
    viaProxy.host = `127.0.0.1:${proxy.port}`
    // The receiver cuts the database while it answers: the attempt succeeds, its outcome cannot be stored.
    let requests = 0
    const receiver = createHttpServer((req, res) => {
      requests++
      req.resume()
      if (requests === 1) proxy.cut()
      res.end('ok')
      if (requests === 1) setTimeout(() => proxy.heal(), 1000)
    })
    receiver.listen(0, '127.0.0.1')
    await once(receiver, 'listening')
    t.teardown(() => { receiver.closeAllConnections(); receiver.close() })

    const app = buildApp(loadConfig({ LOG_LEVEL: 'silent', JWT_SECRET: TEST_SECRET, DATABASE_URL: viaProxy.toString(), WEBHOOK_ALLOW_LOOPBACK: 'true' }))
    t.teardown(() => app.close())
    await app.ready()
    const headers = { authorization: `Bearer ${app.jwt.sign({ role: 'admin' })}` }
    const hook = await app.inject({ method: 'POST', url: '/api/webhooks', headers, payload: { name: 'Outage', url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/`, events: ['session.started'] } })
    t.equal(hook.statusCode, 201)
    t.equal((await app.inject({ method: 'POST', url: '/api/sessions', headers, payload: {} })).statusCode, 201)

    // The claim lasts 60 s: well before it runs out, the success is stored.
    const started = Date.now()
    const status = async () => (await app.db.selectFrom('webhook_deliveries').select(['status', 'attempts']).execute().catch(() => []))[0]
    while (Date.now() - started < 20_000 && (await status())?.status !== 'succeeded') await new Promise((resolve) => setTimeout(resolve, 100))
    t.same(await status(), { status: 'succeeded', attempts: 1 }, `recorded ${Date.now() - started} ms after the event`)
    t.equal(requests, 1, 'sent once')
    t.match(await app.db.selectFrom('webhook_logs').select(['attempt', 'success']).execute(), [{ attempt: 1, success: true }])
  })

t.test('every PostgreSQL connection (pool and listener) has TCP keepalive on', { skip: serverUrl ? false : 'needs TEST_DATABASE_URL (a PostgreSQL server)' }, async (t) => {
  const calls: unknown[][] = []
  const original = Socket.prototype.setKeepAlive
  Socket.prototype.setKeepAlive = function (...args: unknown[]) {
    calls.push(args)
    return original.apply(this, args as Parameters<typeof original>)
  }
  t.teardown(() => { Socket.prototype.setKeepAlive = original })
  const app = buildApp(loadConfig({ LOG_LEVEL: 'silent', JWT_SECRET: TEST_SECRET, ...await testDatabase(t) }))
  t.teardown(() => app.close())
  await app.ready()
  t.ok(calls.length >= 2, `set on the pool's and the listener's connections (${calls.length})`)
  t.ok(calls.every(([on, delay]) => on === true && delay === 10_000), 'on, after 10 s idle')
})
