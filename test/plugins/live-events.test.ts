import t from 'tap'
import { once } from 'node:events'
import Fastify from 'fastify'
import websocket from '@fastify/websocket'
import WebSocket from 'ws'
import errors from '../../plugins/errors.ts'
import auth from '../../plugins/auth.ts'
import fp from 'fastify-plugin'
import { Registry } from 'prom-client'
import liveEvents from '../../plugins/live/index.ts'
import { loadConfig } from '../../plugins/config.ts'
import { ADMIN_KEY, TEST_SECRET } from '../helper.ts'

t.test('the heartbeat timer drops a client that stops answering pings', async (t) => {
  const app = Fastify({ logger: false })
  app.decorate('config', loadConfig({ LOG_LEVEL: 'silent', JWT_SECRET: TEST_SECRET, ADMIN_KEY }))
  app.register(errors)
  app.register(websocket)
  app.register(auth)
  // No database here: an event log with nothing in it, and a metrics registry no one scrapes.
  app.register(fp(async (child) => { child.decorate('eventLog', { subscribe: () => () => {} } as never) }, { name: 'event-log' }))
  app.register(fp(async (child) => { child.decorate('metrics', { registry: new Registry() } as never) }, { name: 'metrics' }))
  app.register(liveEvents, { heartbeatMs: 20 })
  app.register(async (child) => {
    child.get('/ws', { websocket: true }, (socket) => { child.liveEvents.connect(socket) })
  })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }

  const silent = new WebSocket(`ws://127.0.0.1:${port}/ws`, { autoPong: false })
  t.teardown(() => silent.terminate())
  // Counted from the start: under load the first ping can arrive in the same read as the handshake's answer.
  let pings = 0
  silent.on('ping', () => { pings++ })
  await once(silent, 'close')
  t.equal(pings, 2, 'dropped after two unanswered pings')
  t.equal(app.liveEvents.clientCount, 0)
})
