import t, { type Test } from 'tap'
import { createHmac } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { build, resetDb, authHeaders } from '../helper.ts'

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
  const app = await build(t, {}, {})
  t.beforeEach(() => resetDb(app))
  const auth = authHeaders(app)

  const create = async (payload: Record<string, unknown>) => {
    const res = await app.inject({ method: 'POST', url: '/api/webhooks', headers: auth, payload })
    t.equal(res.statusCode, 201, `created ${String(payload.name)}`)
    return res.json()
  }

  /** Waits until the dispatcher has nothing in flight. */
  const settled = async () => {
    while (app.webhooks.pendingCount > 0) await new Promise((resolve) => setTimeout(resolve, 10))
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
      ['unknown event', { ...good, events: ['session.started', 'game.exploded'] }, eventsRule],
      ['duplicate events', { ...good, events: ['game.added', 'game.added'] }, eventsRule],
      ['no events', { ...good, events: [] }, eventsRule],
      ['events not a list', { ...good, events: 'game.added' }, eventsRule],
      ['missing name', { url: good.url, events: good.events }, 'name is required'],
      ['missing url', { name: 'x', events: good.events }, 'url is required'],
      ['missing events', { name: 'x', url: good.url }, 'events is required'],
      ['enabled as boolean', { ...good, enabled: true }, 'enabled must be equal to one of the allowed values']
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
    const badId = await app.inject({ url: '/api/webhooks/abc', headers: auth })
    t.equal(badId.statusCode, 400)
  })

  t.test('a delivery is signed with the secret, and carries the event, delivery id and JSON body', async (t) => {
    const hook = await receiver(t)
    const secret = 'shh-its-a-secret'
    await create({ name: 'Signed', url: hook.url, events: ['session.started'], secret })
    const data = { session: { id: 1, notes: null, is_active: 1, created_at: '2026-03-15T19:00:00.000Z', closed_at: null, games_played: 0 } }
    const event = app.events.publish('session.started', 1, data)
    const got = await hook.next()
    t.same(got.body, { event: 'session.started', timestamp: event.timestamp, data })
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
    app.events.publish('session.ended', 1, { session: { id: 1 } })
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
    app.events.publish('game.added', 1, data)
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
  })

  t.test('three failures in a row give up after the third attempt', async (t) => {
    const hook = await receiver(t)
    hook.answerWith((_req, res) => { res.statusCode = 503; res.end() })
    const webhook = await create({ name: 'Down', url: hook.url, events: ['vote.received'] })
    app.events.publish('vote.received', 1, { sessionId: 1 })
    await settled()
    t.equal(hook.received.length, 3)
    t.same((await logs(webhook.id)).map((r: { attempt: number, success: boolean }) => [r.attempt, r.success]), [[3, false], [2, false], [1, false]])
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
    app.events.publish('game.added', 1, {})
    app.events.publish('room.connected', 1, {})
    app.events.publish('session.started', 1, {})
    app.events.publish('vote.received', 1, { n: 1 })
    app.events.publish('session.ended', 1, { n: 2 })
    await settled()
    const seen = hook.received.map((r) => r.body.event).sort()
    t.same(seen, ['session.ended', 'vote.received'])
    t.same((await logs(2)), [], 'the disabled webhook logged nothing')
  })

  t.test('a change through the routes applies to the very next event', async (t) => {
    const hook = await receiver(t)
    const { id } = await create({ name: 'Votes', url: hook.url, events: ['vote.received'] })
    const publishVote = async (n: number) => {
      app.events.publish('vote.received', 1, { n })
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
})
