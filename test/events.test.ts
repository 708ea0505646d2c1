import t from 'tap'
import { build, resetDb, authHeaders } from './helper.ts'
import { FakeEcast } from './fixtures/fake-ecast.ts'
import { monitorSettled, stopWatches } from './fixtures/event-log.ts'
import type { LoggedEvent } from '../plugins/event-log.ts'

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

t.test('domain events from sessions and session games', async (t) => {
  // The real room monitor against a fake ecast on loopback. A room code the fake does not know stays `waiting` for
  // the default minutes, so only a game whose room exists produces room events.
  const fake = await FakeEcast.start()
  t.teardown(() => fake.close())
  const app = await build(t, { ECAST_BASE_URL: fake.url, ECAST_POLL_INTERVAL_MS: '200' })
  const auth = authHeaders(app)
  const events: LoggedEvent[] = []
  t.teardown(app.eventLog.subscribe((event) => { events.push(event) }))
  t.beforeEach(async () => {
    await resetDb(app)
    events.length = 0
  })
  t.afterEach(async () => {
    await stopWatches(app)
    fake.rooms.clear()
  })

  // Events reach the log's readers after the commit: wait until this process's reader has handed them on.
  const settle = async <T>(response: T) => { await app.eventLog.poll(); return response }
  const post = async (url: string, payload: object = {}) => settle(await app.inject({ method: 'POST', url, headers: auth, payload }))
  // Events carry Dates where the wire has strings: compare them as the wire would.
  const wire = (value: unknown) => JSON.parse(JSON.stringify(value))
  async function until (condition: () => boolean, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out; saw ${JSON.stringify(events.map((e) => e.type))}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  t.test('session.started carries the new Session (games_played 0), for every client', async (t) => {
    const res = await post('/api/sessions', { notes: 'Friday game night' })
    t.equal(events.length, 1)
    const [event] = events
    t.equal(event.type, 'session.started')
    t.equal(event.sessionId, 1)
    t.match(event.timestamp, ISO)
    t.same(wire(event.data), { session: { ...res.json(), games_played: 0 } })
  })

  t.test('game.added carries the session summary and the SessionGame as committed, before its monitor starts', async (t) => {
    await post('/api/sessions')
    events.length = 0
    const first = await post('/api/sessions/1/games', { game_id: 1 })
    t.same(events.map((e) => [e.type, wire(e.data)]), [['game.added', { session: { id: 1, is_active: 1, games_played: 1 }, game: first.json() }]])
    events.length = 0
    fake.createRoom('ABCD')
    const res = await post('/api/sessions/1/games', { game_id: 42, manually_added: true, room_code: 'ABCD' })
    t.equal(res.statusCode, 201)
    t.equal(res.json().player_count_check_status, 'checking', 'the add started the check')
    await monitorSettled(app)
    t.ok(app.roomMonitor.isWatching(2), 'and the monitor, on game.added, is watching the room')
    // The monitor reaches the room after the announcement, never before it.
    await until(() => events.some((e) => e.type === 'room.connected'))
    const [finished, event, next] = events
    t.same([finished.type, finished.sessionId, finished.data], ['session-game.status-changed', 1, { sessionGameId: 1, status: 'played' }],
      'the game that stopped playing, for the room monitor (an internal event)')
    t.equal(event.type, 'game.added')
    t.equal(event.sessionId, 1)
    t.match(event.timestamp, ISO)
    t.same(wire(event.data), {
      session: { id: 1, is_active: 1, games_played: 2 },
      game: { ...res.json(), player_count_check_status: 'not_started' }
    })
    t.same([next.type, next.data], ['room.connected', { sessionId: 1, sessionGameId: 2, roomCode: 'ABCD', appTag: 'drawful2international', maxPlayers: 8 }])
  })

  t.test('session.ended carries the closed Session with games_played', async (t) => {
    await post('/api/sessions')
    await post('/api/sessions/1/games', { game_id: 3 })
    events.length = 0
    const res = await post('/api/sessions/1/close', { notes: 'Great session!' })
    t.equal(events.length, 1)
    const [event] = events
    t.equal(event.type, 'session.ended')
    t.equal(event.sessionId, 1)
    t.same(wire(event.data), { session: res.json() })
    t.match(res.json(), { is_active: 0, games_played: 1, notes: 'Great session!' })
  })

  t.test('player-count.updated on a manual count, with source "manual" and status completed', async (t) => {
    await post('/api/sessions')
    await post('/api/sessions/1/games', { game_id: 3, room_code: 'XY9Z' })
    events.length = 0
    await settle(await app.inject({ method: 'PATCH', url: '/api/sessions/1/games/1/player-count', headers: auth, payload: { player_count: 6 } }))
    t.equal(events.length, 1)
    const [event] = events
    t.equal(event.type, 'player-count.updated')
    t.equal(event.sessionId, 1)
    t.same(event.data, { sessionId: 1, sessionGameId: 1, roomCode: 'XY9Z', playerCount: 6, status: 'completed', source: 'manual' })
  })

  t.test('failed requests announce nothing', async (t) => {
    await post('/api/sessions')
    events.length = 0
    const failures = [
      await post('/api/sessions'),
      await post('/api/sessions/1/games', { game_id: 9999 }),
      await post('/api/sessions/1/games', {}),
      await app.inject({ method: 'PATCH', url: '/api/sessions/1/games/5/player-count', headers: auth, payload: { player_count: 6 } }),
      await post('/api/sessions/2/close')
    ]
    t.same(failures.map((res) => res.statusCode), [400, 404, 400, 404, 404], 'each request fails')
    t.same(events, [], 'and none announced anything')

    const closed = await post('/api/sessions/1/close')
    t.equal(closed.statusCode, 200)
    t.same(events.map((e) => e.type), ['session.ended'], 'the close that succeeds announces itself, once')
    events.length = 0

    const afterClose = [await post('/api/sessions/1/close'), await post('/api/sessions/1/games', { game_id: 1 })]
    t.same(afterClose.map((res) => res.statusCode), [400, 400], 'a closed session takes neither a close nor a game')
    t.same(events, [], 'and these announce nothing either')
  })

  t.test('events fire after the commit: a listener can read what they announce', async (t) => {
    const seen: unknown[] = []
    const off = app.eventLog.subscribe((event) => {
      if (event.type !== 'game.added') return
      const { game } = event.data as { game: { id: number } }
      seen.push(app.db.selectFrom('session_games').select(['id', 'status']).where('id', '=', game.id).executeTakeFirst())
    })
    t.teardown(off)
    await post('/api/sessions')
    await post('/api/sessions/1/games', { game_id: 2 })
    t.same(await Promise.all(seen), [{ id: 1, status: 'playing' }])
  })
})
