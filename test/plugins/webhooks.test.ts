import t, { type Test } from 'tap'
import { once } from 'node:events'
import { createServer, type ServerResponse } from 'node:http'
import { sql } from 'kysely'
import { Agent } from 'undici'
import { WebhookDispatcher, type WebhooksOptions } from '../../webhooks/queue.ts'
import { guardedConnector, targetProblem, type Lookup } from '../../webhooks/targets.ts'
import { insertWebhook } from '../../db/webhooks.ts'
import { insertEvent } from '../../db/events.ts'
import { WEBHOOK_EVENTS } from '../../schemas/events.ts'
import { build, resetDb, authHeaders } from '../helper.ts'

/** A receiver that counts requests and holds each until `release()` (or answers at once with `answer: true`). */
async function receiver (t: Test, { answer = false } = {}) {
  const held: ServerResponse[] = []
  const deliveries: string[] = []
  let answering = answer
  let arrived = () => {}
  const firstArrival = new Promise<void>((resolve) => { arrived = resolve })
  const server = createServer((req, res) => {
    req.resume()
    deliveries.push(String(req.headers['x-webhook-delivery']))
    if (answering) res.end('ok')
    else held.push(res)
    arrived()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const { port } = server.address() as { port: number }
  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    held,
    deliveries,
    firstArrival,
    /** Answers the held requests, and every later one at once. */
    release () {
      answering = true
      for (const res of held.splice(0)) res.end('ok')
    }
  }
}

// The whole app with its default environment (loopback not allowed). Its own dispatcher is stopped at once, so each
// test runs dispatchers of its own, with options buildApp does not expose (short timeouts and delays), on this database.
const app = await build(t)
await app.webhooks.close(0)
t.beforeEach(() => resetDb(app, { catalog: false }))
const auth = authHeaders(app)

function dispatcher (t: Test, opts: WebhooksOptions & { allowLoopback?: boolean } = {}) {
  const agent = new Agent({ connect: guardedConnector(opts.allowLoopback ?? true, opts.lookup) })
  const d = new WebhookDispatcher(app.db, app.dbListen, app.log, opts.dispatcher ?? agent, opts)
  t.teardown(async () => {
    await d.close(0)
    await agent.close()
  })
  return d
}

const deliveries = () => app.db.selectFrom('webhook_deliveries').select(['id', 'status', 'attempts', 'claimed_until']).orderBy('created_at').execute()
const logRows = () => app.db.selectFrom('webhook_logs').select(['delivery_id', 'attempt', 'success', 'status_code', 'error']).orderBy('id').execute()

/** Waits until no delivery is pending and the dispatcher has nothing in flight. */
async function settled (d: WebhookDispatcher) {
  for (;;) {
    const pending = (await deliveries()).filter((row) => row.status === 'pending')
    if (pending.length === 0 && d.pendingCount === 0) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

// The trigger that queues deliveries names the webhook events in its SQL (a migration cannot import the schema):
// this ties that list, as the database has it after every migration, to the one the API validates against.
t.test('the trigger that queues deliveries routes exactly the events a webhook may subscribe to', async (t) => {
  const { rows } = await sql<{ def: string }>`select pg_get_triggerdef(oid) as def from pg_trigger
    where tgname = 'events_enqueue_webhook_deliveries'`.execute(app.db)
  t.equal(rows.length, 1, 'the trigger exists')
  const list = /\(new\.type = ANY \(ARRAY\[(.*?)\]\)\)/.exec(rows[0].def)?.[1]
  t.ok(list, `the trigger's condition is a list of event types: ${rows[0].def}`)
  const routed = [...(list ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1])
  t.same(routed.toSorted(), [...WEBHOOK_EVENTS].toSorted())
})

t.test('an attempt that gets no answer in time is a failure, retried, then given up', async (t) => {
  const hook = await receiver(t)
  await insertWebhook(app.db, { name: 'Slow', url: hook.url, events: ['session.started'] })
  const d = dispatcher(t, { timeoutMs: 100, retryDelaysMs: [10, 10] })
  await d.start()
  await insertEvent(app.db, 'session.started', 1, { session: { id: 1 } })
  await settled(d)
  const [delivery] = await deliveries()
  t.same((await logRows()).map((row) => ({ ...row, delivery_id: row.delivery_id === delivery.id })),
    [1, 2, 3].map((attempt) => ({ delivery_id: true, attempt, success: false, status_code: null, error: 'Timed out after 100 ms' })))
  t.same(await deliveries(), [{ id: delivery.id, status: 'failed', attempts: 3, claimed_until: null }])
})

t.test('on close, an attempt still in flight gets the grace period, is aborted and logged, and stays pending for the next start', async (t) => {
  const hook = await receiver(t)
  await insertWebhook(app.db, { name: 'Hung', url: hook.url, events: ['game.added'] })
  const first = dispatcher(t, { retryDelaysMs: [10, 10] })
  await first.start()
  await insertEvent(app.db, 'game.added', 1, {})
  await hook.firstArrival
  await first.close(100)
  t.equal(hook.held.length, 1, 'the receiver never answered')
  const [delivery] = await deliveries()
  t.same(await logRows(), [{ delivery_id: delivery.id, attempt: 1, success: false, status_code: null, error: 'Aborted: the service is shutting down' }], 'no retry after the abort')
  t.match(await deliveries(), [{ id: delivery.id, status: 'pending', attempts: 1, claimed_until: null }])

  hook.release()
  const next = dispatcher(t, { retryDelaysMs: [10, 10] })
  await next.start()
  await settled(next)
  t.same(hook.deliveries, [delivery.id, delivery.id], 'the next start sent it again with the same delivery id')
  t.same((await logRows()).map((row) => [row.attempt, row.success]), [[1, false], [2, true]], 'attempts counted across starts')
})

t.test('on close, an attempt that finishes within the grace period is delivered and logged', async (t) => {
  const hook = await receiver(t)
  await insertWebhook(app.db, { name: 'Late', url: hook.url, events: ['session.ended'] })
  const d = dispatcher(t)
  await d.start()
  await insertEvent(app.db, 'session.ended', 1, {})
  await hook.firstArrival
  const closed = d.close(10_000)
  hook.release()
  await closed
  t.match(await logRows(), [{ attempt: 1, success: true, status_code: 200 }])
  t.match(await deliveries(), [{ status: 'succeeded', attempts: 1 }])
})

t.test('on start, pending deliveries are sent: attempts already made count, and a dead process\'s claim expires', async (t) => {
  const hook = await receiver(t, { answer: true })
  const webhook = await insertWebhook(app.db, { name: 'Recovering', url: hook.url, events: ['vote.received'] })
  const d = dispatcher(t, { retryDelaysMs: [10, 10] })
  // Left by earlier runs: two attempts already failed; one claimed by a process that died (its claim has expired);
  // one claimed by a process that is still within its claim.
  await insertEvent(app.db, 'vote.received', 1, { n: 1 })
  await insertEvent(app.db, 'vote.received', 1, { n: 2 })
  await insertEvent(app.db, 'vote.received', 1, { n: 3 })
  const rows = await app.db.selectFrom('webhook_deliveries').select(['id', 'data']).orderBy('created_at').execute()
  const [twoDone, expired, live] = rows.map((row) => row.id)
  await sql`update webhook_deliveries set attempts = 2 where id = ${twoDone}`.execute(app.db)
  await sql`update webhook_deliveries set claimed_until = now() - interval '1 second' where id = ${expired}`.execute(app.db)
  await sql`update webhook_deliveries set claimed_until = now() + interval '1 hour' where id = ${live}`.execute(app.db)
  hook.deliveries.length = 0
  await d.start()
  for (;;) {
    const states = await deliveries()
    if (states.filter((row) => row.status !== 'pending').length === 2 && d.pendingCount === 0) break
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.same(hook.deliveries.sort(), [twoDone, expired].sort(), 'the live claim was left alone')
  t.same(await app.db.selectFrom('webhook_logs').select(['delivery_id', 'attempt']).where('webhook_id', '=', webhook.id).orderBy('attempt').execute(),
    [{ delivery_id: expired, attempt: 1 }, { delivery_id: twoDone, attempt: 3 }].sort((a, b) => a.attempt - b.attempt))
})

t.test('the last attempt failing ends the delivery, even when earlier attempts were made before a restart', async (t) => {
  const webhook = await insertWebhook(app.db, { name: 'Gone', url: 'http://127.0.0.1:9/closed', events: ['session.started'] })
  await insertEvent(app.db, 'session.started', 1, {})
  await sql`update webhook_deliveries set attempts = 2`.execute(app.db)
  const d = dispatcher(t, { retryDelaysMs: [10, 10] })
  await d.start()
  await settled(d)
  t.match(await deliveries(), [{ status: 'failed', attempts: 3 }])
  t.match(await app.db.selectFrom('webhook_logs').select(['attempt', 'error']).where('webhook_id', '=', webhook.id).execute(),
    [{ attempt: 3, error: /ECONNREFUSED/ }])
})

t.test('targets are checked when saved: loopback is refused by default, link-local, metadata and unspecified always', async (t) => {
  const loopback = 'url must not point at a loopback address unless WEBHOOK_ALLOW_LOOPBACK=true'
  const forbidden = 'url must not point at a link-local, cloud metadata or unspecified address'
  const cases: Array<[string, string]> = [
    ['http://127.0.0.1:8080/hook', loopback],
    ['http://127.8.9.10/', loopback],
    ['http://0x7f000001/', loopback],
    ['http://2130706433/', loopback],
    ['http://0177.0.0.1/', loopback],
    ['http://127.1/', loopback],
    ['http://[::1]:5000/', loopback],
    ['http://[::ffff:127.0.0.1]/', loopback],
    ['http://localhost:5000/', loopback],
    ['http://LOCALHOST./', loopback],
    ['http://app.localhost/', loopback],
    ['http://169.254.169.254/latest/meta-data/', forbidden],
    ['http://[fe80::1]/', forbidden],
    ['http://0.0.0.0/', forbidden],
    ['http://[::]/', forbidden],
    ['http://metadata.google.internal/', forbidden]
  ]
  for (const [url, error] of cases) {
    const res = await app.inject({ method: 'POST', url: '/api/webhooks', headers: auth, payload: { name: 'x', url, events: ['session.started'] } })
    t.equal(res.statusCode, 400, url)
    t.same(res.json(), { error }, url)
  }
  for (const url of ['http://192.168.1.20:8080/hook', 'http://10.0.0.5/', 'http://172.16.0.1/', 'https://example.com/hook', 'http://[fd12::1]/']) {
    const res = await app.inject({ method: 'POST', url: '/api/webhooks', headers: auth, payload: { name: 'LAN', url, events: ['session.started'] } })
    t.equal(res.statusCode, 201, url)
  }
  const patched = await app.inject({ method: 'PATCH', url: '/api/webhooks/1', headers: auth, payload: { url: 'http://0x7f000001/' } })
  t.same([patched.statusCode, patched.json()], [400, { error: loopback }])
  t.equal(targetProblem('http://127.0.0.1/', true), undefined, 'the flag allows loopback')
  t.equal(targetProblem('http://169.254.169.254/', true), 'forbidden', 'the flag never allows link-local')
})

/** A resolver that knows only the test's names (the system resolver is never asked). */
const testResolver = (names: Record<string, string[]>): Lookup & { asked: string[] } => {
  const asked: string[] = []
  const lookup = (hostname: string, _options: unknown, callback: Parameters<Lookup>[2]) => {
    asked.push(hostname)
    const addresses = names[hostname]
    if (!addresses) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), [])
    callback(null, addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })))
  }
  return Object.assign(lookup, { asked })
}

t.test('targets are checked again when connecting: every resolved address, before any packet leaves', async (t) => {
  const hook = await receiver(t, { answer: true })
  const lookup = testResolver({
    'metadata.test': ['169.254.169.254'],
    // One good address is not enough: a name with a forbidden one among them is refused.
    'mixed.test': ['127.0.0.1', '169.254.169.254'],
    'loop.test': ['127.0.0.1'],
    'v6loop.test': ['::1']
  })
  // Saved as names (or written with plain SQL), so only the connect-time check stands between them and the address.
  const metadata = await insertWebhook(app.db, { name: 'Metadata', url: 'http://metadata.test/latest/meta-data', events: ['session.started'] })
  const mixed = await insertWebhook(app.db, { name: 'Mixed', url: `http://mixed.test:${hook.port}/`, events: ['session.started'] })
  const literal = await insertWebhook(app.db, { name: 'Literal', url: 'http://169.254.169.254/', events: ['session.started'] })
  const loop = await insertWebhook(app.db, { name: 'Loop', url: `http://loop.test:${hook.port}/`, events: ['session.started'] })
  const v6loop = await insertWebhook(app.db, { name: 'V6 loop', url: `http://v6loop.test:${hook.port}/`, events: ['session.started'] })
  const direct = await insertWebhook(app.db, { name: 'Direct loopback', url: `http://0x7f000001:${hook.port}/`, events: ['session.started'] })
  const d = dispatcher(t, { allowLoopback: false, lookup, retryDelaysMs: [] })
  await d.start()
  await insertEvent(app.db, 'session.started', 1, {})
  await settled(d)
  t.same(hook.deliveries, [], 'no request reached the receiver')
  const errors = Object.fromEntries((await app.db.selectFrom('webhook_logs').select(['webhook_id', 'error', 'status_code']).execute())
    .map((row) => [row.webhook_id, [row.status_code, row.error]]))
  t.same(errors, {
    [metadata.id]: [null, 'ERR_WEBHOOK_TARGET_REFUSED: metadata.test is resolved to 169.254.169.254, a link-local, metadata or unspecified address; not connecting'],
    [mixed.id]: [null, 'ERR_WEBHOOK_TARGET_REFUSED: mixed.test is resolved to 169.254.169.254, a link-local, metadata or unspecified address; not connecting'],
    [literal.id]: [null, 'ERR_WEBHOOK_TARGET_REFUSED: 169.254.169.254 is a link-local, metadata or unspecified address; not connecting'],
    [loop.id]: [null, 'ERR_WEBHOOK_TARGET_REFUSED: loop.test is resolved to 127.0.0.1, a loopback address; not connecting'],
    [v6loop.id]: [null, 'ERR_WEBHOOK_TARGET_REFUSED: v6loop.test is resolved to ::1, a loopback address; not connecting'],
    [direct.id]: [null, 'ERR_WEBHOOK_TARGET_REFUSED: 127.0.0.1 is a loopback address; not connecting']
  })
  t.same(lookup.asked.sort(), ['loop.test', 'metadata.test', 'mixed.test', 'v6loop.test'], 'names were resolved when connecting')
})

t.test('with WEBHOOK_ALLOW_LOOPBACK, a name resolving to loopback is reached; metadata still is not', async (t) => {
  const hook = await receiver(t, { answer: true })
  const lookup = testResolver({ 'loop.test': ['127.0.0.1'], 'mixed.test': ['127.0.0.1', '169.254.169.254'] })
  await insertWebhook(app.db, { name: 'Loop', url: `http://loop.test:${hook.port}/`, events: ['session.started'] })
  const mixed = await insertWebhook(app.db, { name: 'Mixed', url: `http://mixed.test:${hook.port}/`, events: ['session.started'] })
  const d = dispatcher(t, { allowLoopback: true, lookup, retryDelaysMs: [] })
  await d.start()
  await insertEvent(app.db, 'session.started', 1, {})
  await settled(d)
  t.equal(hook.deliveries.length, 1, 'only the loopback name was reached')
  t.match(await app.db.selectFrom('webhook_logs').select(['webhook_id', 'success', 'error']).orderBy('webhook_id').execute(), [
    { success: true, error: null },
    { webhook_id: mixed.id, success: false, error: /^ERR_WEBHOOK_TARGET_REFUSED: mixed.test is resolved to 169.254.169.254/ }
  ])
})

t.test('finished deliveries are kept a day, pending ones for the event retention period', async (t) => {
  await insertWebhook(app.db, { name: 'Old', url: 'http://192.0.2.1/', events: ['vote.received'] })
  for (let n = 0; n < 4; n++) await insertEvent(app.db, 'vote.received', 1, { n })
  const ids = (await app.db.selectFrom('webhook_deliveries').select('id').orderBy('created_at').execute()).map((row) => row.id)
  const age = (id: string, days: number, status: string) =>
    sql`update webhook_deliveries set created_at = now() - ${days} * interval '1 day', status = ${status}, next_attempt_at = now() + interval '1 hour' where id = ${id}`.execute(app.db)
  await age(ids[0], 2, 'succeeded')
  await age(ids[1], 0.5, 'failed')
  await age(ids[2], 8, 'pending')
  await age(ids[3], 6, 'pending')
  const d = dispatcher(t, { retentionDays: 7 })
  await d.start()
  t.same((await app.db.selectFrom('webhook_deliveries').select('id').orderBy('created_at').execute()).map((row) => row.id), [ids[3], ids[1]])
})
