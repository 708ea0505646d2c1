import t from 'tap'
import { once } from 'node:events'
import { request } from 'node:http'
import WebSocket from 'ws'
import { Parser } from '@asyncapi/parser'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { build, authHeaders } from './helper.ts'

type Json = Record<string, any>

// The live protocol: every event clients are promised, and the messages of both directions.
const EVENTS = ['session.started', 'game.added', 'session.ended', 'player-count.updated', 'vote.received', 'room.connected',
  'lobby.player-joined', 'lobby.updated', 'game.started', 'game.ended', 'room.disconnected']
const CLIENT_MESSAGES = ['auth', 'subscribe', 'unsubscribe', 'ping']
const SERVER_MESSAGES = ['auth_success', 'auth_error', 'subscribed', 'unsubscribed', 'pong', 'error']

t.test('the AsyncAPI description of the live socket', async (t) => {
  const app = await build(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const res = await fetch(`http://127.0.0.1:${port}/docs/asyncapi.json`)
  t.equal(res.status, 200)
  const doc = await res.json() as Json

  t.test('parses as AsyncAPI 3.0 without errors (@asyncapi/parser)', async (t) => {
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc))
    t.same(diagnostics.filter((d) => d.severity === 0).map((d) => `${d.code}: ${d.message} at ${d.path.join('/')}`), [])
    t.ok(document)
    t.equal(document?.version(), '3.0.0')
    const names = document?.messages().all().map((m) => m.name()) ?? []
    for (const name of [...EVENTS, ...CLIENT_MESSAGES, ...SERVER_MESSAGES]) t.ok(names.includes(name), `names ${name}`)
    // The server is a variable, never the request's Host (which a cache could keep for everyone).
    t.equal(document?.servers().get('service')?.host(), '{host}')
  })

  t.test('a forged Host is not copied into the document', async (t) => {
    const res = await new Promise<string>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/docs/asyncapi.json', headers: { host: 'evil.example:666' } }, (response) => {
        let body = ''
        response.setEncoding('utf8').on('data', (chunk) => { body += chunk }).on('end', () => resolve(body))
      }).on('error', reject).end()
    })
    t.notOk(res.includes('evil.example'))
    t.same(JSON.parse(res).servers.service.variables.host.default, 'localhost:5000')
  })

  t.test('both directions: the service receives client messages and sends the rest, with replies', async (t) => {
    const actions = (names: string[], action: string) => {
      for (const name of names) {
        const op = Object.values(doc.operations as Json).find((o: Json) => o.messages[0].$ref === `#/channels/live/messages/${name}`)
        t.equal(op?.action, action, `${name}: ${action}`)
      }
    }
    actions(CLIENT_MESSAGES, 'receive')
    actions([...SERVER_MESSAGES, ...EVENTS], 'send')
    t.same(doc.operations.receiveAuth.reply.messages, [
      { $ref: '#/channels/live/messages/auth_success' }, { $ref: '#/channels/live/messages/auth_error' }
    ])
    const subscribe = doc.components.messages.subscribe.payload
    t.same(subscribe.required, ['type', 'sessionId'])
    t.match(subscribe.properties.since, { type: 'integer' })
  })

  t.test('every event carries id, type, timestamp and its own data schema', async (t) => {
    for (const type of EVENTS) {
      const payload = doc.components.messages[type].payload
      t.same(payload.required, ['id', 'type', 'timestamp', 'data'], type)
      t.same(payload.properties.type, { const: type, type: 'string' })
      t.match(payload.properties.data, { type: 'object', properties: Object }, `${type} has a data schema`)
    }
    t.same(doc.components.messages['session.started'].payload.properties.data.properties.session, { $ref: '#/components/schemas/Session' })
  })

  t.test('the events a game night really sends match their published data schemas', async (t) => {
    const ajv = new Ajv({ strict: false })
    addFormats.default(ajv)
    ajv.addSchema({ ...doc, $id: 'asyncapi.json' })
    const validate = (type: string) => ajv.getSchema(`asyncapi.json#/components/messages/${type}/payload/properties/data`)

    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/sessions/live`)
    t.teardown(() => ws.terminate())
    const received: Json[] = []
    ws.on('message', (raw) => received.push(JSON.parse(raw.toString())))
    await once(ws, 'open')
    ws.send(JSON.stringify({ type: 'auth', token: app.jwt.sign({ role: 'admin' }) }))

    const headers = authHeaders(app)
    const until = async (type: string) => { while (!received.some((m) => m.type === type)) await new Promise((resolve) => setTimeout(resolve, 20)) }
    await until('auth_success')
    const session = (await app.inject({ method: 'POST', url: '/api/sessions', headers, payload: {} })).json()
    await until('session.started')
    ws.send(JSON.stringify({ type: 'subscribe', sessionId: session.id }))
    await until('subscribed')
    const game = (await app.inject({ method: 'POST', url: `/api/sessions/${session.id}/games`, headers, payload: { game_id: 3 } })).json()
    await app.inject({ method: 'POST', url: '/api/votes/live', headers, payload: { username: 'viewer1', vote: 'up', timestamp: new Date().toISOString() } })
    await app.inject({ method: 'PATCH', url: `/api/sessions/${session.id}/games/${game.id}/player-count`, headers, payload: { player_count: 6 } })
    await app.inject({ method: 'POST', url: `/api/sessions/${session.id}/close`, headers, payload: {} })
    await until('session.ended')

    const events = received.filter((m) => EVENTS.includes(m.type))
    t.same(events.map((e) => e.type), ['session.started', 'game.added', 'vote.received', 'player-count.updated', 'session.ended'])
    for (const event of events) {
      const check = validate(event.type)
      t.ok(check?.(event.data), `${event.type} data matches: ${JSON.stringify(check?.errors ?? null)}`)
    }
  })
})
