import t, { type Test } from 'tap'
import { createHmac } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { sql } from 'kysely'
import { build, resetDb, authHeaders } from '../helper.ts'
import { buildApp } from '../../app.ts'
import { loadConfig } from '../../plugins/config.ts'
import { insertEvent } from '../../db/events.ts'
import { TEST_SECRET } from '../helper.ts'

interface Received {
  headers: IncomingMessage['headers']
  raw: string
  body: { event: string, timestamp: string, data: unknown }
}

/**
 * A real HTTP receiver on loopback. `respond` decides each answer (default 200); every request is recorded, and
 * `next()` resolves with the next one, in arrival order.
 */
async function receiver (t: Test) {
  const received: Received[] = []
  const waiting: Array<(r: Received) => void> = []
  let respond: (req: Received, res: ServerResponse, n: number) => void = (_req, res) => { res.end('ok') }
  const server = createServer((req, res) => {
    let raw = ''
    req.setEncoding('utf8')
    req.on('data', (chunk) => { raw += chunk })
    req.on('end', () => {
      const entry = { headers: req.headers, raw, body: JSON.parse(raw) }
      received.push(entry)
      respond(entry, res, received.length)
      const resolve = waiting.shift()
      if (resolve) resolve(entry)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const { port } = server.address() as { port: number }
  let seen = 0
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    /** Decides each answer from now on. */
    answerWith (fn: typeof respond) { respond = fn },
    next (): Promise<Received> {
      const index = seen++
      if (received[index]) return Promise.resolve(received[index])
      return new Promise((resolve) => waiting.push(resolve))
    }
  }
}

t.test('webhooks', async (t) => {
  // Receivers listen on loopback; retries wait the contract's minimum backoff.
  const app = await build(t, { WEBHOOK_ALLOW_LOOPBACK: 'true' }, { webhookRetryDelaysMs: [1000, 1000] })
  t.beforeEach(() => resetDb(app))
  const auth = authHeaders(app)

  const create = async (payload: Record<string, unknown>) => {
    const res = await app.inject({ method: 'POST', url: '/api/webhooks', headers: auth, payload })
    t.equal(res.statusCode, 201, `created ${String(payload.name)}`)
    return res.json()
  }

  /** Records an event in the log, as a domain write does; the trigger on the log writes its deliveries. */
  const record = (type: string, data: unknown) => insertEvent(app.db, type, 1, data)

  const pendingDeliveries = async () => Number((await app.db.selectFrom('webhook_deliveries')
    .select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'pending').executeTakeFirstOrThrow()).n)

  /** Waits until no delivery is pending and nothing is in flight. */
  const settled = async () => {
    while (await pendingDeliveries() > 0 || app.webhooks.pendingCount > 0) await new Promise((resolve) => setTimeout(resolve, 20))
  }

  const logs = async (id: number) => (await app.inject({ url: `/api/webhooks/${id}/logs`, headers: auth })).json()

  t.test('CRUD: create, list, get, update, delete; the secret is never returned', async (t) => {
    const created = await create({ name: 'Overlay', url: 'https://example.com/hook', events: ['session.started', 'game.added'], secret: 's3cret' })
    t.match(created, { id: 1, name: 'Overlay', url: 'https://example.com/hook', events: ['session.started', 'game.added'], enabled: 1, has_secret: true, created_at: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/ })
    t.same(Object.keys(created).sort(), ['created_at', 'enabled', 'events', 'has_secret', 'id', 'name', 'url'])

    const list = await app.inject({ url: '/api/webhooks', headers: auth })
    t.same(list.json(), [created])
    const one = await app.inject({ url: '/api/webhooks/1', headers: auth })
    t.same(one.json(), created)

    const patched = await app.inject({ method: 'PATCH', url: '/api/webhooks/1', headers: auth, payload: { enabled: 0, events: ['vote.received'], secret: null } })
    t.equal(patched.statusCode, 200)
    t.same(patched.json(), { ...created, enabled: 0, events: ['vote.received'], has_secret: false })
    const renamed = await app.inject({ method: 'PATCH', url: '/api/webhooks/1', headers: auth, payload: { name: 'Bot', secret: 'again' } })
    t.same(renamed.json(), { ...created, name: 'Bot', enabled: 0, events: ['vote.received'], has_secret: true })

    const plain = await create({ name: 'Plain', url: 'http://10.0.0.1:8080/x', events: ['session.ended'], enabled: 0 })
    t.match(plain, { id: 2, enabled: 0, has_secret: false })

    const deleted = await app.inject({ method: 'DELETE', url: '/api/webhooks/1', headers: auth })
    t.same(deleted.json(), { message: 'Webhook deleted successfully', webhookId: 1 })
    t.equal((await app.inject({ url: '/api/webhooks/1', headers: auth })).statusCode, 404)
    t.same((await app.inject({ url: '/api/webhooks', headers: auth })).json(), [plain])
  })

  t.test('unknown ids are 404 "Webhook not found" on every route', async (t) => {
    const routes: Array<[string, string, unknown?]> = [['GET', '/api/webhooks/9'], ['PATCH', '/api/webhooks/9', { name: 'x' }],
      ['DELETE', '/api/webhooks/9'], ['POST', '/api/webhooks/9/test'], ['GET', '/api/webhooks/9/logs']]
    for (const [method, url, payload] of routes) {
      const res = await app.inject({ method: method as 'GET', url, headers: auth, payload: payload as object })
      t.equal(res.statusCode, 404, `${method} ${url}`)
      t.same(res.json(), { error: 'Webhook not found' }, `${method} ${url}`)
    }
  })

  t.test('every route needs auth', async (t) => {
    for (const [method, url] of [['GET', '/api/webhooks'], ['POST', '/api/webhooks'], ['GET', '/api/webhooks/1'], ['PATCH', '/api/webhooks/1'],
      ['DELETE', '/api/webhooks/1'], ['POST', '/api/webhooks/1/test'], ['GET', '/api/webhooks/1/logs']]) {
      const res = await app.inject({ method: method as 'GET', url })
      t.equal(res.statusCode, 401, `${method} ${url}`)
    }
  })

  t.test('bad input is a 400 naming the problem', async (t) => {
    const good = { name: 'Hook', url: 'https://example.com/h', events: ['session.started'] }
    const eventsRule = 'events must be a non-empty list of distinct event names from: session.started, game.added, session.ended, vote.received, player-count.updated'
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['ftp url', { ...good, url: 'ftp://example.com/h' }, 'url must be an http or https URL'],
      ['not a url', { ...good, url: 'example.com' }, 'url must be an http or https URL'],
      ['a host the URL parser refuses', { ...good, url: 'http://127.0.0.1%2509:5199/x' }, 'url must be an http or https URL'],
      ['unknown event', { ...good, events: ['session.started', 'game.exploded'] }, eventsRule],
      ['duplicate events', { ...good, events: ['game.added', 'game.added'] }, eventsRule],
      ['no events', { ...good, events: [] }, eventsRule],
      ['events not a list', { ...good, events: 'game.added' }, eventsRule],
      ['missing name', { url: good.url, events: good.events }, 'name is required'],
      ['missing url', { name: 'x', events: good.events }, 'url is required'],
      ['missing events', { name: 'x', url: good.url }, 'events is required'],
      ['enabled not a flag', { ...good, enabled: 'yes' }, 'enabled must be 0, 1, true or false']
    ]
    for (const [name, payload, error] of cases) {
      const res = await app.inject({ method: 'POST', url: '/api/webhooks', headers: auth, payload })
      t.equal(res.statusCode, 400, name)
      t.match(res.json(), { error: error.startsWith('enabled') ? /^enabled / : error }, name)
    }
    await create(good)
    const empty = await app.inject({ method: 'PATCH', url: '/api/webhooks/1', headers: auth, payload: {} })
    t.same(empty.json(), { error: 'body must be an object with at least one field to update' })
    const badPatch = await app.inject({ method: 'PATCH', url: '/api/webhooks/1', headers: auth, payload: { url: 'javascript:alert(1)' } })
    t.same(badPatch.json(), { error: 'url must be an http or https URL' })
    const badHost = await app.inject({ method: 'PATCH', url: '/api/webhooks/1', headers: auth, payload: { url: 'http://127.0.0.1%2509:5199/x' } })
    t.same([badHost.statusCode, badHost.json()], [400, { error: 'url must be an http or https URL' }])
    const badId = await app.inject({ url: '/api/webhooks/abc', headers: auth })
    t.equal(badId.statusCode, 400)
  })

  t.test('a delivery is signed with the secret, and carries the event, delivery id and JSON body', async (t) => {
    const hook = await receiver(t)
    const secret = 'shh-its-a-secret'
    await create({ name: 'Signed', url: hook.url, events: ['session.started'], secret })
    const data = { session: { id: 1, notes: null, is_active: 1, created_at: '2026-03-15T19:00:00.000Z', closed_at: null, games_played: 0 } }
    const event = await record('session.started', data)
    const got = await hook.next()
    t.same(got.body, { event: 'session.started', timestamp: event.created_at.toISOString(), data })
    t.equal(got.headers['content-type'], 'application/json')
    t.equal(got.headers['x-webhook-event'], 'session.started')
    t.match(got.headers['x-webhook-delivery'], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    const expected = 'sha256=' + createHmac('sha256', secret).update(got.raw).digest('hex')
    t.equal(got.headers['x-webhook-signature'], expected, 'the signature verifies with the secret over the raw body')
    const wrong = 'sha256=' + createHmac('sha256', 'another').update(got.raw).digest('hex')
    t.not(got.headers['x-webhook-signature'], wrong)
    await settled()
  })

  t.test('without a secret there is no signature header', async (t) => {
    const hook = await receiver(t)
    await create({ name: 'Unsigned', url: hook.url, events: ['session.ended'] })
    await record('session.ended', { session: { id: 1 } })
    const got = await hook.next()
    t.equal(got.headers['x-webhook-signature'], undefined)
    t.equal(got.body.event, 'session.ended')
    await settled()
  })

  t.test('a 500 is retried with the same delivery id, and every attempt is logged', async (t) => {
    const hook = await receiver(t)
    hook.answerWith((_req, res, n) => { res.statusCode = n === 1 ? 500 : 204; res.end() })
    const webhook = await create({ name: 'Flaky', url: hook.url, events: ['game.added'] })
    const data = { session: { id: 1, is_active: 1, games_played: 1 }, game: { id: 1 } }
    await record('game.added', data)
    const first = await hook.next()
    const second = await hook.next()
    t.equal(first.headers['x-webhook-delivery'], second.headers['x-webhook-delivery'])
    t.equal(first.raw, second.raw, 'the retry sends the same bytes')
    await settled()
    const rows = await logs(webhook.id)
    t.match(rows, [
      { id: 2, event: 'game.added', status_code: 204, success: true, error: null, attempt: 2, duration_ms: Number, created_at: String },
      { id: 1, event: 'game.added', status_code: 500, success: false, error: 'The receiver answered 500', attempt: 1, duration_ms: Number, created_at: String }
    ])
    t.same(Object.keys(rows[0]).sort(), ['attempt', 'created_at', 'duration_ms', 'error', 'event', 'id', 'status_code', 'success'])
    const stored = await app.db.selectFrom('webhook_logs').select(['delivery_id', 'payload']).orderBy('id').execute()
    t.equal(stored[0].delivery_id, first.headers['x-webhook-delivery'])
    t.equal(stored[1].delivery_id, first.headers['x-webhook-delivery'])
    t.same(stored[0].payload, JSON.parse(first.raw), 'the payload is stored as JSON')
    const times = await app.db.selectFrom('webhook_logs').select('created_at').orderBy('id').execute()
    t.ok(times[1].created_at.getTime() - times[0].created_at.getTime() >= 1000, 'the retry waited at least 1 s')
    t.same(await app.db.selectFrom('webhook_deliveries').select(['id', 'status', 'attempts', 'claimed_until']).execute(),
      [{ id: first.headers['x-webhook-delivery'], status: 'succeeded', attempts: 2, claimed_until: null }], 'the delivery row holds the outcome')
  })

  t.test('three failures in a row give up after the third attempt', async (t) => {
    const hook = await receiver(t)
    hook.answerWith((_req, res) => { res.statusCode = 503; res.end() })
    const webhook = await create({ name: 'Down', url: hook.url, events: ['vote.received'] })
    await record('vote.received', { sessionId: 1 })
    await settled()
    t.equal(hook.received.length, 3)
    t.same((await logs(webhook.id)).map((r: { attempt: number, success: boolean }) => [r.attempt, r.success]), [[3, false], [2, false], [1, false]])
    t.same(await app.db.selectFrom('webhook_deliveries').select(['status', 'attempts']).execute(), [{ status: 'failed', attempts: 3 }])
  })

  t.test('a network error is a logged failure', async (t) => {
    const hook = await receiver(t)
    const closedPort = new URL(hook.url)
    const server = createServer().listen(0, '127.0.0.1')
    await once(server, 'listening')
    closedPort.port = String((server.address() as { port: number }).port)
    server.close()
    const webhook = await create({ name: 'Nowhere', url: closedPort.toString(), events: ['session.started'] })
    const res = await app.inject({ method: 'POST', url: `/api/webhooks/${webhook.id}/test`, headers: auth })
    t.equal(res.statusCode, 200)
    t.match(res.json(), { event: 'webhook.test', status_code: null, success: false, error: /ECONNREFUSED/, attempt: 1 })
  })

  t.test('only subscribed events and only enabled webhooks are delivered', async (t) => {
    const hook = await receiver(t)
    await create({ name: 'Votes', url: hook.url + '?who=votes', events: ['vote.received'] })
    await create({ name: 'Off', url: hook.url + '?who=off', events: ['vote.received', 'session.ended'], enabled: 0 })
    await create({ name: 'Ends', url: hook.url + '?who=ends', events: ['session.ended'] })
    await record('game.added', {})
    await record('room.connected', {})
    await record('session.started', {})
    await record('vote.received', { n: 1 })
    await record('session.ended', { n: 2 })
    await settled()
    const seen = hook.received.map((r) => r.body.event).sort()
    t.same(seen, ['session.ended', 'vote.received'])
    t.same((await logs(2)), [], 'the disabled webhook logged nothing')
  })

  t.test('a change through the routes applies to the very next event', async (t) => {
    const hook = await receiver(t)
    const { id } = await create({ name: 'Votes', url: hook.url, events: ['vote.received'] })
    const publishVote = async (n: number) => {
      await record('vote.received', { n })
      await settled()
    }
    await publishVote(1)
    await app.inject({ method: 'PATCH', url: `/api/webhooks/${id}`, headers: auth, payload: { enabled: 0 } })
    await publishVote(2)
    await app.inject({ method: 'PATCH', url: `/api/webhooks/${id}`, headers: auth, payload: { enabled: 1, events: ['session.ended'] } })
    await publishVote(3)
    await app.inject({ method: 'PATCH', url: `/api/webhooks/${id}`, headers: auth, payload: { events: ['vote.received'] } })
    await publishVote(4)
    await app.inject({ method: 'DELETE', url: `/api/webhooks/${id}`, headers: auth })
    await publishVote(5)
    t.same(hook.received.map((r) => r.body.data), [{ n: 1 }, { n: 4 }])
  })

  t.test('the test route sends webhook.test now and returns its log entry', async (t) => {
    const hook = await receiver(t)
    const webhook = await create({ name: 'Tested', url: hook.url, events: ['session.started'], secret: 'k', enabled: 0 })
    const res = await app.inject({ method: 'POST', url: `/api/webhooks/${webhook.id}/test`, headers: auth })
    t.equal(res.statusCode, 200)
    t.match(res.json(), { id: 1, event: 'webhook.test', status_code: 200, success: true, error: null, attempt: 1, duration_ms: Number, created_at: String })
    const got = hook.received[0]
    t.same(got.body, { event: 'webhook.test', timestamp: got.body.timestamp, data: { webhookId: webhook.id, message: 'This is a test delivery from the Jackbox game-night service' } })
    t.equal(got.headers['x-webhook-signature'], 'sha256=' + createHmac('sha256', 'k').update(got.raw).digest('hex'))
    t.same(await logs(webhook.id), [res.json()])
  })

  t.test('the API answers before a slow receiver does: delivery never delays the response', async (t) => {
    const hook = await receiver(t)
    const order: string[] = []
    let release = () => {}
    const released = new Promise<void>((resolve) => { release = resolve })
    hook.answerWith((_req, res) => {
      // Held until the API response is in (or 10 s pass, so a regression fails on the order instead of hanging).
      const timer = setTimeout(release, 10_000)
      released.then(() => { clearTimeout(timer); order.push('receiver answered'); res.end('ok') })
    })
    const webhook = await create({ name: 'Slow', url: hook.url, events: ['session.started'] })
    const res = await app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: {} })
    order.push('API responded')
    t.equal(res.statusCode, 201)
    const got = await hook.next()
    release()
    await settled()
    t.same(order, ['API responded', 'receiver answered'])
    t.match(got.body, { event: 'session.started', timestamp: String, data: { session: res.json() } }, 'the data is the created session')
    t.match(await logs(webhook.id), [{ event: 'session.started', status_code: 200, success: true, attempt: 1 }])
  })

  t.test('logs are the last 100, newest first', async (t) => {
    const webhook = await create({ name: 'Busy', url: 'http://127.0.0.1:9/never', events: ['session.started'] })
    await app.db.insertInto('webhook_logs').values(Array.from({ length: 105 }, (_, i) => ({
      webhook_id: webhook.id, event: 'session.started', delivery_id: crypto.randomUUID(), payload: '{}', status_code: 200, success: true, error: null, attempt: 1, duration_ms: i
    }))).execute()
    const rows = await logs(webhook.id)
    t.equal(rows.length, 100)
    t.equal(rows[0].id, 105)
    t.equal(rows[99].id, 6)
  })

  t.test('a change made with plain SQL applies to the very next event too', async (t) => {
    const hook = await receiver(t)
    const { id } = await create({ name: 'Votes', url: hook.url, events: ['vote.received'] })
    await sql`update webhooks set enabled = 0 where id = ${id}`.execute(app.db)
    await record('vote.received', { n: 1 })
    await sql`update webhooks set enabled = 1, events = '{session.ended}' where id = ${id}`.execute(app.db)
    await record('vote.received', { n: 2 })
    await record('session.ended', { n: 3 })
    await settled()
    t.same(hook.received.map((r) => r.body.data), [{ n: 3 }])
  })

  t.test('targets: link-local, metadata and unspecified addresses are refused when saved; loopback with the flag and LAN are not', async (t) => {
    const forbidden = 'url must not point at a link-local, cloud metadata or unspecified address'
    for (const url of ['http://169.254.169.254/latest/meta-data', 'http://169.254.1.1:8080/', 'http://[fe80::1]/', 'http://[::ffff:169.254.169.254]/',
      'http://0.0.0.0:5000/', 'http://0/', 'http://[::]/', 'http://metadata.google.internal/computeMetadata/v1/', 'http://0xa9fea9fe/', 'http://2852039166/']) {
      const res = await app.inject({ method: 'POST', url: '/api/webhooks', headers: auth, payload: { name: 'x', url, events: ['session.started'] } })
      t.equal(res.statusCode, 400, url)
      t.same(res.json(), { error: forbidden }, url)
    }
    const { id } = await create({ name: 'Loopback allowed by WEBHOOK_ALLOW_LOOPBACK', url: 'http://127.0.0.1:9/x', events: ['session.started'] })
    await create({ name: 'LAN', url: 'http://192.168.1.20:8080/hook', events: ['session.started'] })
    await create({ name: 'LAN', url: 'http://10.1.2.3/hook', events: ['session.started'] })
    await create({ name: 'localhost', url: 'http://localhost:9/hook', events: ['session.started'] })
    const patched = await app.inject({ method: 'PATCH', url: `/api/webhooks/${id}`, headers: auth, payload: { url: 'http://169.254.169.254/' } })
    t.equal(patched.statusCode, 400)
    t.same(patched.json(), { error: forbidden })
    t.equal((await app.inject({ url: `/api/webhooks/${id}`, headers: auth })).json().url, 'http://127.0.0.1:9/x', 'nothing changed')
  })

  t.test('two app instances on one PostgreSQL send each delivery once', { skip: process.env.TEST_DATABASE_URL ? false : 'needs PostgreSQL (TEST_DATABASE_URL): one embedded PGlite cannot be opened by two instances' }, async (t) => {
    const other = buildApp(loadConfig({ LOG_LEVEL: 'silent', JWT_SECRET: TEST_SECRET, DATABASE_URL: app.config.DATABASE_URL!, WEBHOOK_ALLOW_LOOPBACK: 'true' }))
    t.teardown(() => other.close())
    await other.ready()
    const hook = await receiver(t)
    await create({ name: 'Both', url: hook.url, events: ['vote.received'] })
    await create({ name: 'Both again', url: hook.url + '?second', events: ['vote.received'] })
    // Both dispatchers wake on the same notifications and race for the same rows.
    for (let n = 0; n < 20; n++) await record('vote.received', { n })
    await settled()
    while (other.webhooks.pendingCount > 0) await new Promise((resolve) => setTimeout(resolve, 20))
    t.equal(hook.received.length, 40, 'one request per event and webhook')
    t.equal(new Set(hook.received.map((r) => r.headers['x-webhook-delivery'])).size, 40, 'each with its own delivery id')
    t.same(await app.db.selectFrom('webhook_logs').select(['attempt', 'success']).distinct().execute(), [{ attempt: 1, success: true }])
    t.equal((await app.db.selectFrom('webhook_logs').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n, 40)
  })
})
