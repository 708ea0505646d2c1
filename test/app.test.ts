import t from 'tap'
import { build } from './helper.ts'
import { loadConfig, trustProxy } from '../plugins/config.ts'
import { buildApp } from '../app.ts'
import Fastify from 'fastify'

t.test('config', async (t) => {
  t.test('defaults are the contract table', async (t) => {
    t.same(loadConfig({}), {
      PORT: 5000,
      HOST: '0.0.0.0',
      DATA_DIR: './data',
      JWT_EXPIRES_IN: '24h',
      ECAST_BASE_URL: 'https://ecast.jackboxgames.com',
      ECAST_POLL_INTERVAL_MS: 5000,
      ECAST_ROOM_WAIT_MS: 120000,
      LOG_LEVEL: 'info',
      WEBHOOK_ALLOW_LOOPBACK: false,
      LIVE_MAX_CLIENTS: 5000,
      CLIENT_COMMAND_TIMEOUT_MS: 60000,
      EVENT_RETENTION_DAYS: 30,
      TWITCH_CHAT_URL: 'wss://irc-ws.chat.twitch.tv:443'
    })
  })
  t.test('hardening rules: a long admin key, a bounded token lifetime, a trust-proxy setting Fastify reads', async (t) => {
    t.throws(() => loadConfig({ ADMIN_KEY: 'fifteen-chars-x' }), { message: 'invalid environment: ADMIN_KEY: Expected string length greater or equal to 16' })
    t.equal(loadConfig({ ADMIN_KEY: 'sixteen-chars-xx' }).ADMIN_KEY, 'sixteen-chars-xx')
    t.throws(() => loadConfig({ JWT_EXPIRES_IN: '100000000d' }), { message: 'invalid environment: JWT_EXPIRES_IN: must be at most 30 days' })
    t.throws(() => loadConfig({ JWT_EXPIRES_IN: '31d' }), { message: 'invalid environment: JWT_EXPIRES_IN: must be at most 30 days' })
    t.equal(loadConfig({ JWT_EXPIRES_IN: '30d' }).JWT_EXPIRES_IN, '30d')
    t.throws(() => loadConfig({ TRUST_PROXY: 'yes' }), { message: /^invalid environment: TRUST_PROXY: must be true, false, a hop count/ })
    const [all, none, hops, list] = ['true', 'false', '2', '10.0.0.0/8, ::1'].map((v) => trustProxy(loadConfig({ TRUST_PROXY: v }).TRUST_PROXY))
    t.same([all, none, list], [true, false, ['10.0.0.0/8', '::1']])
    t.equal(typeof hops, 'function', 'a hop count is a function: Fastify trusts nothing for a bare number')
    t.equal(trustProxy(loadConfig({}).TRUST_PROXY), false)
    t.throws(() => loadConfig({ LIVE_MAX_CLIENTS: '0' }), { message: /^invalid environment: LIVE_MAX_CLIENTS/ })
    t.throws(() => loadConfig({ WEBHOOK_ALLOW_LOOPBACK: 'maybe' }), { message: 'invalid environment: WEBHOOK_ALLOW_LOOPBACK: Expected boolean' })
    t.equal(loadConfig({ WEBHOOK_ALLOW_LOOPBACK: 'true' }).WEBHOOK_ALLOW_LOOPBACK, true)
    for (const url of ['https://irc-ws.chat.twitch.tv', 'wss://irc-ws.chat.twitch.tv/chat', 'irc-ws.chat.twitch.tv:443']) {
      t.throws(() => loadConfig({ TWITCH_CHAT_URL: url }), { message: 'invalid environment: TWITCH_CHAT_URL: must be a ws:// or wss:// URL with a host and an optional port, no path' }, url)
    }
    t.equal(loadConfig({ TWITCH_CHAT_URL: 'ws://127.0.0.1:4567' }).TWITCH_CHAT_URL, 'ws://127.0.0.1:4567')
  })
  t.test('strings become numbers, unknown keys and empty values are dropped', async (t) => {
    const config = loadConfig({ PORT: '8080', PATH: '/usr/bin', ADMIN_KEY: '' })
    t.equal(config.PORT, 8080)
    t.notOk('PATH' in config)
    t.notOk('ADMIN_KEY' in config)
  })
  t.test('a bad value is one clear line naming the variable', async (t) => {
    t.throws(() => loadConfig({ PORT: 'abc' }), { message: 'invalid environment: PORT: Expected integer' })
    t.throws(() => loadConfig({ JWT_SECRET: 'short' }), { message: /^invalid environment: JWT_SECRET: Expected string length greater or equal to 32$/ })
    t.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), { message: 'invalid environment: LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent' })
    t.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), { message: /^invalid environment: DATABASE_URL/ })
    t.throws(() => loadConfig({ ECAST_POLL_INTERVAL_MS: '199' }), {
      message: 'invalid environment: ECAST_POLL_INTERVAL_MS: must be an integer of at least 200 (ms): a dead process\'s rooms are taken over within two poll periods, which a shorter period cannot guarantee'
    })
    t.equal(loadConfig({ ECAST_POLL_INTERVAL_MS: '200' }).ECAST_POLL_INTERVAL_MS, 200)
  })
  t.test('every TRUST_PROXY form decides the client address of a real request with a forged X-Forwarded-For', async (t) => {
    // From loopback, as a proxy on the same host would send it: the client, then the hop in between.
    const forwarded = '203.0.113.1, 198.51.100.2'
    const cases: Array<[string | undefined, string]> = [
      [undefined, '127.0.0.1'],
      ['false', '127.0.0.1'],
      ['true', '203.0.113.1'],
      ['1', '198.51.100.2'],
      ['2', '203.0.113.1'],
      ['127.0.0.1/8', '198.51.100.2'],
      ['127.0.0.1, 198.51.100.0/24', '203.0.113.1'],
      ['10.0.0.1', '127.0.0.1']
    ]
    for (const [value, ip] of cases) {
      const server = Fastify({ trustProxy: trustProxy(loadConfig(value === undefined ? {} : { TRUST_PROXY: value }).TRUST_PROXY) })
      server.get('/', async (request) => ({ ip: request.ip }))
      await server.listen({ port: 0, host: '127.0.0.1' })
      const { port } = server.server.address() as { port: number }
      const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { 'x-forwarded-for': forwarded } })
      t.same(await res.json(), { ip }, `TRUST_PROXY=${value}`)
      await server.close()
    }
  })
  t.test('an unreachable database stops the boot', async (t) => {
    const app = buildApp(loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }))
    await t.rejects(async () => { await app.ready() })
    await app.close().catch(() => {})
  })
})

t.test('the app', async (t) => {
  const app = await build(t)

  t.test('health reports the database', async (t) => {
    const res = await app.inject('/api/health')
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.same(Object.keys(body).sort(), ['db', 'instance', 'rooms', 'status', 'uptime'])
    t.match(body, { status: 'ok', db: 'ok', uptime: Number, instance: app.instance, rooms: 0 })
  })

  t.test('unknown routes are a 404 in the error shape', async (t) => {
    const res = await app.inject('/api/nowhere?x=1')
    t.equal(res.statusCode, 404)
    t.same(res.json(), { error: 'Route GET /api/nowhere not found' })
  })

  t.test('invalid JSON is a 400 in the error shape', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'application/json' }, payload: '{"key":' })
    t.equal(res.statusCode, 400)
    t.same(res.json(), { error: "Body is not valid JSON but content-type is set to 'application/json'" })
  })

  t.test('an oversized body is a 413 in the error shape', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { key: 'x'.repeat(2 * 1024 * 1024) } })
    t.equal(res.statusCode, 413)
    t.same(res.json(), { error: 'Request body is too large' })
  })

  t.test('every response carries a request id; a client\'s own is kept only when short and safe', async (t) => {
    const res = await app.inject({ url: '/api/health', headers: { 'x-request-id': 'abc-123' } })
    t.equal(res.headers['x-request-id'], 'abc-123')
    t.equal((await app.inject({ url: '/api/health', headers: { 'x-request-id': 'a'.repeat(64) } })).headers['x-request-id'], 'a'.repeat(64))
    const jwt = app.jwt.sign({ role: 'admin' })
    for (const id of ['a'.repeat(65), 'x'.repeat(15_000), jwt, 'two words', 'a/b', '']) {
      const answered = (await app.inject({ url: '/api/health', headers: { 'x-request-id': id } })).headers['x-request-id']
      t.match(answered, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, `${id.slice(0, 20)}… is replaced by a generated id`)
    }
  })

  t.test('the bundled catalog is loaded on first boot', async (t) => {
    const { count } = await app.db.selectFrom('games').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow()
    t.equal(Number(count), 67)
  })

  t.test('the OpenAPI description is served, every route with a tag, summary and responses', async (t) => {
    const res = await app.inject('/docs/json')
    t.equal(res.statusCode, 200)
    const spec = res.json()
    t.equal(spec.openapi, '3.0.3')
    t.ok(spec.components.securitySchemes.bearer)
    const operations = Object.entries(spec.paths).flatMap(([path, ops]) =>
      Object.entries(ops as Record<string, Record<string, unknown>>).map(([method, op]) => ({ path, method, op })))
    t.ok(operations.length > 0)
    for (const { path, method, op } of operations) {
      t.ok(Array.isArray(op.tags) && (op.tags as string[]).length > 0, `${method} ${path} has a tag`)
      t.type(op.summary, 'string', `${method} ${path} has a summary`)
      t.ok(op.responses && Object.keys(op.responses as object).length > 0, `${method} ${path} has responses`)
    }
    const ui = await app.inject('/docs/')
    t.equal(ui.statusCode, 200)
    t.match(ui.headers['content-type'], /text\/html/)
  })
})
