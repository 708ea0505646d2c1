import t, { type Test } from 'tap'
import { once } from 'node:events'
import { createServer, type ServerResponse } from 'node:http'
import { sql } from 'kysely'
import { Agent } from 'undici'
import { WebhookDispatcher, type WebhooksOptions } from '../../webhooks/queue.ts'
import { guardedConnector } from '../../webhooks/targets.ts'
import { insertWebhook } from '../../db/webhooks.ts'
import { insertEvent } from '../../db/events.ts'
import { until } from '../fixtures/event-log.ts'
import { build, resetDb } from '../helper.ts'

// The app's own dispatcher is stopped; each test runs dispatchers of its own (as several processes would) on this database.
const app = await build(t)
await app.webhooks.close(0)
t.beforeEach(() => resetDb(app, { catalog: false }))

function dispatcher (t: Test, opts: WebhooksOptions = {}) {
  const agent = new Agent({ connect: guardedConnector(true) })
  const d = new WebhookDispatcher(app.db, app.dbListen, app.log, agent, opts)
  t.teardown(async () => {
    await d.close(0)
    await agent.close()
  })
  return d
}

/** A receiver that answers each request with the status `answer` gives (undefined: hold it, answered later by hand). */
async function receiver (t: Test, answer: (n: number) => number | undefined) {
  const requests: string[] = []
  const held: ServerResponse[] = []
  const server = createServer((req, res) => {
    req.resume()
    requests.push(String(req.headers['x-webhook-delivery']))
    const status = answer(requests.length)
    if (status === undefined) held.push(res)
    else res.writeHead(status).end()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, requests, held }
}

const deliveries = () => app.db.selectFrom('webhook_deliveries').select(['status', 'attempts']).execute()
const logRows = () => app.db.selectFrom('webhook_logs').select(['attempt', 'success', 'status_code']).orderBy('id').execute()

t.test('a process whose claim expired does not overwrite the outcome the process that claimed it next recorded', async (t) => {
  const hook = await receiver(t, (n) => n === 1 ? undefined : 500) // the first attempt stalls, the next one fails
  await insertWebhook(app.db, { name: 'Fenced', url: hook.url, events: ['session.started'] })
  const stalled = dispatcher(t, { pollMs: 60_000, retryDelaysMs: [10, 10] })
  await stalled.start()
  await insertEvent(app.db, 'session.started', 1, {})
  await until('the first attempt', () => hook.held.length === 1)
  // Its claim runs out while it waits on the receiver; another process claims the delivery, sends it, and records
  // its failure (a retry in a minute).
  await sql`update webhook_deliveries set claimed_until = now() - interval '1 second'`.execute(app.db)
  const other = dispatcher(t, { retryDelaysMs: [60_000] })
  await other.start()
  await until('the other process to record its attempt', async () => (await logRows()).length === 1)
  // Now the stalled attempt gets its answer, a success, and tries to record it.
  hook.held[0].writeHead(200).end()
  await until('the stalled attempt to finish', () => stalled.pendingCount === 0)
  t.same(await deliveries(), [{ status: 'pending', attempts: 1 }], 'the recorded outcome stands: one attempt, a retry due')
  t.same(await logRows(), [{ attempt: 1, success: false, status_code: 500 }], 'one attempt logged, the one recorded')
  t.equal(hook.requests.length, 2)
})

t.test('the pending retries of a webhook that was disabled are not sent', async (t) => {
  const hook = await receiver(t, () => 500)
  const webhook = await insertWebhook(app.db, { name: 'Disabled', url: hook.url, events: ['session.started'] })
  const d = dispatcher(t, { retryDelaysMs: [1500, 1500] })
  await d.start()
  await insertEvent(app.db, 'session.started', 1, {})
  await until('the first attempt recorded', async () => (await logRows()).length === 1)
  await app.db.updateTable('webhooks').set({ enabled: 0 }).where('id', '=', webhook.id).execute()
  await new Promise((resolve) => setTimeout(resolve, 2000)) // past the retry's due time
  await d.wake()
  t.equal(hook.requests.length, 1, 'no retry sent')
  t.same(await deliveries(), [{ status: 'pending', attempts: 1 }])
})
