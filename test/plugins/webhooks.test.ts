import t, { type Test } from 'tap'
import { once } from 'node:events'
import { createServer, type ServerResponse } from 'node:http'
import Fastify, { type FastifyInstance } from 'fastify'
import errors from '../../plugins/errors.ts'
import db from '../../plugins/db.ts'
import events from '../../plugins/events.ts'
import webhooks, { type WebhooksOptions } from '../../plugins/webhooks.ts'
import { loadConfig } from '../../plugins/config.ts'
import { insertWebhook } from '../../db/webhooks.ts'
import { testDatabase, TEST_SECRET } from '../helper.ts'

/** The dispatcher on its own, with options buildApp does not expose (short timeouts and delays). */
async function buildDispatcher (t: Test, opts: WebhooksOptions, beforeWebhooks?: (app: FastifyInstance) => void) {
  const app = Fastify({ logger: false })
  app.decorate('config', loadConfig({ LOG_LEVEL: 'silent', JWT_SECRET: TEST_SECRET, ...await testDatabase(t) }))
  app.register(errors)
  app.register(db)
  app.register(events)
  // A hook added here closes after the dispatcher and before the database (onClose runs in reverse order).
  if (beforeWebhooks) app.register(async (child) => beforeWebhooks(child))
  app.register(webhooks, opts)
  t.teardown(() => app.close())
  await app.ready()
  return app
}

/** A receiver that holds every request until `release()`. */
async function holdingReceiver (t: Test) {
  const held: ServerResponse[] = []
  let arrived = () => {}
  const firstArrival = new Promise<void>((resolve) => { arrived = resolve })
  const server = createServer((req, res) => {
    req.resume()
    held.push(res)
    arrived()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`,
    held,
    firstArrival,
    release () { for (const res of held.splice(0)) res.end('ok') }
  }
}

const settled = async (app: FastifyInstance) => {
  while (app.webhooks.pendingCount > 0) await new Promise((resolve) => setTimeout(resolve, 10))
}

t.test('an attempt that gets no answer in time is a failure, retried, then given up', async (t) => {
  const receiver = await holdingReceiver(t)
  const app = await buildDispatcher(t, { timeoutMs: 100, retryDelaysMs: [10, 10] })
  const hook = await insertWebhook(app.db, { name: 'Slow', url: receiver.url, events: ['session.started'] })
  app.events.publish('session.started', 1, { session: { id: 1 } })
  await settled(app)
  const rows = await app.db.selectFrom('webhook_logs').select(['attempt', 'success', 'status_code', 'error']).where('webhook_id', '=', hook.id).orderBy('id').execute()
  t.same(rows, [1, 2, 3].map((attempt) => ({ attempt, success: false, status_code: null, error: 'Timed out after 100 ms' })))
})

t.test('on close, a delivery still in flight gets the grace period and is then aborted and logged', async (t) => {
  const receiver = await holdingReceiver(t)
  let rowsAtClose: unknown[] = []
  const app = await buildDispatcher(t, { shutdownGraceMs: 100 }, (child) => {
    child.addHook('onClose', async () => {
      rowsAtClose = await child.db.selectFrom('webhook_logs').select(['attempt', 'success', 'error']).execute()
    })
  })
  await insertWebhook(app.db, { name: 'Hung', url: receiver.url, events: ['game.added'] })
  app.events.publish('game.added', 1, {})
  await receiver.firstArrival
  await app.close()
  t.equal(receiver.held.length, 1, 'the receiver never answered')
  t.same(rowsAtClose, [{ attempt: 1, success: false, error: 'Aborted: the service is shutting down' }], 'no retry after the abort')
})

t.test('on close, a delivery that finishes within the grace period is delivered and logged', async (t) => {
  const receiver = await holdingReceiver(t)
  let rowsAtClose: unknown[] = []
  const app = await buildDispatcher(t, { shutdownGraceMs: 10_000 }, (child) => {
    child.addHook('onClose', async () => {
      rowsAtClose = await child.db.selectFrom('webhook_logs').select(['attempt', 'success', 'status_code']).execute()
    })
  })
  await insertWebhook(app.db, { name: 'Late', url: receiver.url, events: ['session.ended'] })
  app.events.publish('session.ended', 1, {})
  await receiver.firstArrival
  const closed = app.close()
  receiver.release()
  await closed
  t.same(rowsAtClose, [{ attempt: 1, success: true, status_code: 200 }])
})
