import t from 'tap'
import { once } from 'node:events'
import WebSocket from 'ws'
import { createSigner } from 'fast-jwt'
import { build, resetDb, TEST_SECRET } from '../helper.ts'
import { EVENT_TYPES } from '../../schemas/events.ts'
import type { App } from '../../app.ts'
import { publish } from '../fixtures/event-log.ts'
import { LiveSocket as LiveClient } from '../fixtures/live-client.ts'

t.test('live events WebSocket', async (t) => {
  const app = await build(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const base = `ws://127.0.0.1:${port}/api/sessions/live`
  const token = () => app.jwt.sign({ role: 'admin' })

  const clients: WebSocket[] = []
  t.afterEach(() => { for (const ws of clients.splice(0)) ws.terminate() })
  t.beforeEach(() => resetDb(app))

  async function connect (query = '', options: WebSocket.ClientOptions = {}): Promise<LiveClient> {
    const ws = new WebSocket(base + query, options)
    clients.push(ws)
    const client = new LiveClient(ws)
    await once(ws, 'open')
    return client
  }

  async function authed (): Promise<LiveClient> {
    const client = await connect()
    t.same(await client.request({ type: 'auth', token: token() }), { type: 'auth_success' })
    return client
  }

  async function subscribed (sessionId: number): Promise<LiveClient> {
    const client = await authed()
    t.same(await client.request({ type: 'subscribe', sessionId }), { type: 'subscribed', sessionId })
    return client
  }

  /** A session row straight in the database; closed ones can coexist with the one active session. */
  async function insertSession (app: App, isActive: 0 | 1 = 1) {
    return app.db.insertInto('sessions').values({ notes: null, is_active: isActive, closed_at: isActive ? null : new Date() })
      .returningAll().executeTakeFirstOrThrow()
  }

  t.test('auth, subscribe, unsubscribe and ping are answered as the contract says', async (t) => {
    const session = await insertSession(app)
    const client = await connect()
    t.same(await client.request({ type: 'ping' }), { type: 'pong' }, 'ping works before auth')
    t.same(await client.request({ type: 'auth', token: token() }), { type: 'auth_success' })
    t.same(await client.request({ type: 'subscribe', sessionId: session.id }), { type: 'subscribed', sessionId: session.id })
    t.same(await client.request({ type: 'subscribe', sessionId: session.id }), { type: 'subscribed', sessionId: session.id }, 'subscribing twice is harmless')
    t.same(await client.request({ type: 'unsubscribe', sessionId: session.id }), { type: 'unsubscribed', sessionId: session.id })
    t.same(await client.request({ type: 'ping' }), { type: 'pong' })
  })

  t.test('a token on the URL authenticates on connect', async (t) => {
    const client = await connect(`?token=${token()}`)
    t.same(await client.next(), { type: 'auth_success' })
    const session = await insertSession(app)
    t.same(await client.request({ type: 'subscribe', sessionId: session.id }), { type: 'subscribed', sessionId: session.id })
  })

  t.test('bad, expired, missing and wrongly signed tokens get auth_error and no access', async (t) => {
    const session = await insertSession(app)
    const expired = createSigner({ key: TEST_SECRET })({ role: 'admin', iat: 1000, exp: 2000 })
    const wrongSecret = createSigner({ key: 'another-secret-another-secret-another' })({ role: 'admin' })
    const cases: Array<[string, unknown, string]> = [
      ['missing', { type: 'auth' }, 'Token is required'],
      ['empty', { type: 'auth', token: '' }, 'Token is required'],
      ['not a string', { type: 'auth', token: 42 }, 'Token is required'],
      ['malformed', { type: 'auth', token: 'not.a.token' }, 'Invalid token'],
      ['wrongly signed', { type: 'auth', token: wrongSecret }, 'Invalid token'],
      ['expired', { type: 'auth', token: expired }, 'Token expired']
    ]
    for (const [name, message, sentence] of cases) {
      const client = await connect()
      t.same(await client.request(message), { type: 'auth_error', message: sentence }, name)
      t.same(await client.request({ type: 'subscribe', sessionId: session.id }), { type: 'error', message: 'Not authenticated' }, `${name}: no access`)
    }
    for (const [name, query, sentence] of [['bad', '?token=nope', 'Invalid token'], ['expired', `?token=${expired}`, 'Token expired'],
      ['wrongly signed', `?token=${wrongSecret}`, 'Invalid token'], ['empty', '?token=', 'Token is required']]) {
      const client = await connect(query)
      t.same(await client.next(), { type: 'auth_error', message: sentence }, `URL token ${name}`)
      t.same(await client.request({ type: 'subscribe', sessionId: session.id }), { type: 'error', message: 'Not authenticated' }, `URL token ${name}: no access`)
    }
  })

  t.test('a failed re-auth keeps the earlier authentication', async (t) => {
    const session = await insertSession(app)
    const client = await authed()
    t.same(await client.request({ type: 'auth', token: 'nope' }), { type: 'auth_error', message: 'Invalid token' })
    t.same(await client.request({ type: 'subscribe', sessionId: session.id }), { type: 'subscribed', sessionId: session.id })
  })

  t.test('subscribe needs auth and an existing session', async (t) => {
    const client = await connect()
    t.same(await client.request({ type: 'subscribe', sessionId: 1 }), { type: 'error', message: 'Not authenticated' })
    t.same(await client.request({ type: 'auth', token: token() }), { type: 'auth_success' })
    t.same(await client.request({ type: 'subscribe', sessionId: 999 }), { type: 'error', message: 'Session not found' })
  })

  t.test('a bad message gets an error and the socket stays open', async (t) => {
    const client = await authed()
    const cases: Array<[string, unknown, string]> = [
      ['invalid JSON', '{"type":', 'Invalid JSON'],
      ['not an object', '42', 'A message must be a JSON object with a string "type"'],
      ['null', 'null', 'A message must be a JSON object with a string "type"'],
      ['no type', { sessionId: 1 }, 'A message must be a JSON object with a string "type"'],
      ['unknown type', { type: 'dance' }, 'Unknown message type: dance'],
      ['subscribe without sessionId', { type: 'subscribe' }, 'sessionId must be a positive integer'],
      ['subscribe with a string id', { type: 'subscribe', sessionId: '1' }, 'sessionId must be a positive integer'],
      ['subscribe with id 0', { type: 'subscribe', sessionId: 0 }, 'sessionId must be a positive integer'],
      ['unsubscribe with a float', { type: 'unsubscribe', sessionId: 1.5 }, 'sessionId must be a positive integer']
    ]
    for (const [name, message, sentence] of cases) {
      t.same(await client.request(message), { type: 'error', message: sentence }, name)
    }
    t.equal(client.ws.readyState, WebSocket.OPEN)
    await client.assertNothingPending(t, 'still answering')
  })

  t.test('session.started reaches every authenticated client and nobody else', async (t) => {
    const session = await insertSession(app)
    const anonymous = await connect()
    const a = await authed()
    const b = await subscribed(session.id)
    const data = { session: { id: 2, notes: null, is_active: 1, created_at: '2026-03-15T19:00:00.000Z', closed_at: null, games_played: 0 } }
    const event = await publish(app, 'session.started', 2, data)
    const expected = { id: event.id, type: 'session.started', timestamp: event.timestamp, data }
    t.same(await a.next(), expected)
    t.same(await b.next(), expected)
    t.match(event.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    await anonymous.assertNothingPending(t, 'an unauthenticated client gets nothing')
  })

  t.test('every other event reaches only the subscribers of its session', async (t) => {
    const one = await insertSession(app)
    const two = await insertSession(app, 0)
    const anonymous = await connect()
    const unsubscribed = await authed()
    const subscriber = await subscribed(one.id)
    const other = await subscribed(two.id)
    const left = await subscribed(one.id)
    t.same(await left.request({ type: 'unsubscribe', sessionId: one.id }), { type: 'unsubscribed', sessionId: one.id })

    const ids = { sessionId: one.id, sessionGameId: 7, roomCode: 'ABCD' }
    const samples: Record<string, unknown> = {
      'game.added': { session: { id: one.id, is_active: 1, games_played: 1 }, game: { id: 7, session_id: one.id, game_id: 3, status: 'playing' } },
      'session.ended': { session: { id: one.id, notes: null, is_active: 0, created_at: '2026-03-15T19:00:00.000Z', closed_at: '2026-03-15T23:00:00.000Z', games_played: 1 } },
      'player-count.updated': { ...ids, playerCount: 5, status: 'completed', source: 'manual' },
      'vote.received': { sessionId: one.id, game: { id: 3, title: 'Quiplash 3', upvotes: 1, downvotes: 0, popularity_score: 1 }, vote: { username: 'alice', type: 'up', timestamp: '2026-03-15T20:00:00.000Z' } },
      'room.connected': { ...ids, appTag: 'quiplash3', maxPlayers: 8 },
      'lobby.player-joined': { ...ids, playerName: 'Bob', playerCount: 2 },
      'lobby.updated': { ...ids, lobbyState: 'CanStart', gameCanStart: true, playerCount: 3 },
      'game.started': { ...ids, playerCount: 3 },
      'game.ended': { ...ids, playerCount: 3 },
      'room.disconnected': { ...ids, reason: 'room closed' }
    }
    t.same(Object.keys(samples).sort(), EVENT_TYPES.filter((e) => e !== 'session.started').sort(), 'every event type is covered')
    for (const [type, data] of Object.entries(samples)) {
      const event = await publish(app, type as typeof EVENT_TYPES[number], one.id, data)
      t.same(await subscriber.next(), { id: event.id, type, timestamp: event.timestamp, data }, type)
    }
    const forTwo = await publish(app, 'game.started', two.id, { ...ids, sessionId: two.id, playerCount: 4 })
    t.same(await other.next(), { id: forTwo.id, type: 'game.started', timestamp: forTwo.timestamp, data: { ...ids, sessionId: two.id, playerCount: 4 } })
    await subscriber.assertNothingPending(t, 'a subscriber of session 1 gets nothing of session 2')
    await other.assertNothingPending(t, 'a subscriber of session 2 got nothing of session 1')
    await unsubscribed.assertNothingPending(t, 'an authenticated client without subscriptions gets nothing')
    await left.assertNothingPending(t, 'a client that unsubscribed gets nothing')
    await anonymous.assertNothingPending(t, 'an unauthenticated client gets nothing')
  })

  t.test('end to end: the HTTP API announces each event with the contract\'s data', async (t) => {
    const headers = { authorization: `Bearer ${token()}` }
    const nextEvent = async (client: LiveClient) => {
      const { timestamp, id, ...rest } = await client.next()
      t.match(timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      t.ok(Number.isInteger(id) && (id as number) > lastId, 'ids increase')
      lastId = id as number
      return rest
    }
    let lastId = 0
    const watcher = await authed()
    const subscriber = await authed()
    const anonymous = await connect()

    const created = await app.inject({ method: 'POST', url: '/api/sessions', headers, payload: { notes: 'Friday' } })
    t.equal(created.statusCode, 201)
    const session = created.json()
    for (const client of [watcher, subscriber]) {
      const started = await client.next()
      t.match(started, { type: 'session.started', timestamp: String, data: { session } })
      t.same(Object.keys((started.data as { session: object }).session).sort(), ['closed_at', 'created_at', 'games_played', 'id', 'is_active', 'notes'])
    }
    t.same(await subscriber.request({ type: 'subscribe', sessionId: session.id }), { type: 'subscribed', sessionId: session.id })

    const added = await app.inject({ method: 'POST', url: `/api/sessions/${session.id}/games`, headers, payload: { game_id: 1 } })
    t.equal(added.statusCode, 201)
    const sessionGame = added.json()
    t.same(await nextEvent(subscriber), {
      type: 'game.added',
      data: { session: { id: session.id, is_active: 1, games_played: 1 }, game: sessionGame }
    })

    const counted = await app.inject({ method: 'PATCH', url: `/api/sessions/${session.id}/games/${sessionGame.id}/player-count`, headers, payload: { player_count: 6 } })
    t.equal(counted.statusCode, 200)
    t.same(await nextEvent(subscriber), {
      type: 'player-count.updated',
      data: { sessionId: session.id, sessionGameId: sessionGame.id, roomCode: null, playerCount: 6, status: 'completed', source: 'manual' }
    })

    const votedAt = new Date(Date.parse(sessionGame.played_at) + 1000).toISOString()
    const voted = await app.inject({ method: 'POST', url: '/api/votes/live', headers, payload: { username: 'alice', vote: 'up', timestamp: votedAt } })
    t.equal(voted.statusCode, 200, voted.body)
    const game = voted.json().game
    t.same(await nextEvent(subscriber), {
      type: 'vote.received',
      data: { sessionId: session.id, game, vote: { username: 'alice', type: 'up', timestamp: votedAt } }
    })
    t.same(Object.keys(game).sort(), ['downvotes', 'id', 'popularity_score', 'title', 'upvotes'])

    // Changes that record only internal events (for the room monitor) announce nothing to clients.
    const base = `/api/sessions/${session.id}/games/${sessionGame.id}`
    t.equal((await app.inject({ method: 'PATCH', url: `${base}/room-code`, headers, payload: { room_code: 'WXYZ' } })).statusCode, 200)
    t.equal((await app.inject({ method: 'PATCH', url: `${base}/status`, headers, payload: { status: 'skipped' } })).statusCode, 200)
    const extra = (await app.inject({ method: 'POST', url: `/api/sessions/${session.id}/games`, headers, payload: { game_id: 2 } })).json()
    t.equal((await nextEvent(subscriber)).type, 'game.added')
    t.equal((await app.inject({ method: 'DELETE', url: `/api/sessions/${session.id}/games/${extra.id}`, headers })).statusCode, 200)
    const internal = await app.db.selectFrom('events').select('type').where('session_id', '=', session.id)
      .where('type', 'like', 'session-game.%').orderBy('id').execute()
    t.same(internal.map((e) => e.type), ['session-game.room-code-changed', 'session-game.status-changed', 'session-game.removed'],
      'the log holds the internal events')

    const closed = await app.inject({ method: 'POST', url: `/api/sessions/${session.id}/close`, headers, payload: {} })
    t.equal(closed.statusCode, 200)
    const ended = await nextEvent(subscriber)
    t.match(ended, { type: 'session.ended', data: { session: { id: session.id, is_active: 0, closed_at: String } } })

    await watcher.assertNothingPending(t, 'an authenticated client not subscribed got only session.started')
    await anonymous.assertNothingPending(t, 'an unauthenticated client got nothing')
  })

  t.test('a client that disconnects is forgotten', async (t) => {
    const before = app.liveEvents.clientCount
    const session = await insertSession(app)
    const client = await subscribed(session.id)
    t.equal(app.liveEvents.clientCount, before + 1)
    client.ws.close()
    await once(client.ws, 'close')
    while (app.liveEvents.clientCount !== before) await new Promise((resolve) => setImmediate(resolve))
    await t.resolves(publish(app, 'game.started', session.id, {}), 'publishing to a departed subscriber is harmless')
  })

  t.test('the heartbeat drops a client that leaves two pings unanswered, and keeps one that answers', async (t) => {
    const dead = await connect('', { autoPong: false })
    const alive = await authed()
    const deadClosed = once(dead.ws, 'close')
    // (How many beats a silent client survives is test/plugins/live-events.test.ts's concern: here the app's own
    // 30 s timer may add a beat of its own.)
    for (let beat = 1; beat <= 3; beat++) {
      const pinged = once(alive.ws, 'ping')
      app.liveEvents.heartbeat()
      await pinged
      // The automatic pong left before this message, so the server has it before it answers.
      await alive.assertNothingPending(t, `alive after beat ${beat}`)
    }
    await deadClosed
    t.pass('the silent client was dropped')
    t.equal(alive.ws.readyState, WebSocket.OPEN, 'the answering client is still connected')
  })

  t.test('a client whose token expires is signed out by the heartbeat and loses its subscriptions', async (t) => {
    const session = await insertSession(app)
    const exp = Math.floor(Date.now() / 1000) + 1
    const shortLived = createSigner({ key: TEST_SECRET })({ role: 'admin', exp })
    const client = await connect()
    t.same(await client.request({ type: 'auth', token: shortLived }), { type: 'auth_success' })
    t.same(await client.request({ type: 'subscribe', sessionId: session.id }), { type: 'subscribed', sessionId: session.id })
    while (Date.now() < exp * 1000) await new Promise((resolve) => setTimeout(resolve, 50))
    app.liveEvents.heartbeat()
    t.same(await client.next(), { type: 'auth_error', message: 'Token expired' })
    await publish(app, 'game.started', session.id, { playerCount: 1 })
    await client.assertNothingPending(t, 'no events after expiry')
    t.same(await client.request({ type: 'subscribe', sessionId: session.id }), { type: 'error', message: 'Not authenticated' })
  })

  t.test('a client that stops reading is dropped, and the others keep receiving', async (t) => {
    const session = await insertSession(app)
    const slow = await subscribed(session.id)
    const fast = await subscribed(session.id)
    const slowClosed = once(slow.ws, 'close')
    const socket = (slow.ws as unknown as { _socket: import('node:net').Socket })._socket
    socket.pause()
    const big = 'x'.repeat(1024 * 1024)
    const before = app.liveEvents.clientCount
    // 1 MiB events until the server gives up on the slow one; the kernel's socket buffers absorb the first few MB.
    let sent = 0
    while (app.liveEvents.clientCount === before && sent < 200) {
      await publish(app, 'lobby.updated', session.id, { big })
      sent++
      const received = await fast.next()
      t.equal(received.type, 'lobby.updated')
    }
    t.equal(app.liveEvents.clientCount, before - 1, `the slow client was dropped after ${sent} events`)
    t.ok(sent < 200)
    await publish(app, 'game.started', session.id, { playerCount: 2 })
    t.match(await fast.next(), { type: 'game.started', data: { playerCount: 2 } }, 'the fast client still gets events')
    socket.resume()
    await slowClosed
  })
})
