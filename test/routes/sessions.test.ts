import t from 'tap'
import { sql } from 'kysely'
import { authHeaders } from '../helper.ts'
import { monitorSettled } from '../fixtures/event-log.ts'
import { buildMonitored } from '../fixtures/monitored-app.ts'

const ACTIVE_EXISTS = 'An active session already exists. Please close it before creating a new one.'
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

t.test('sessions', async (t) => {
  const { app } = await buildMonitored(t, 1000)
  const auth = authHeaders(app)

  const create = (payload: unknown = {}) => app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: payload as object })
  const addGame = (sessionId: number, payload: object) =>
    app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/games`, headers: auth, payload })
  const close = (id: number, payload?: object) =>
    app.inject({ method: 'POST', url: `/api/sessions/${id}/close`, headers: auth, ...(payload ? { payload } : {}) })
  const countSessions = async () => Number((await app.db.selectFrom('sessions').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)

  t.test('POST creates an active session: 201 with exactly the documented fields (no games_played)', async (t) => {
    const res = await create({ notes: 'Friday game night' })
    t.equal(res.statusCode, 201)
    const body = res.json()
    t.same(Object.keys(body).sort(), ['closed_at', 'created_at', 'id', 'is_active', 'notes'])
    t.match(body, { id: 1, notes: 'Friday game night', is_active: 1, created_at: ISO, closed_at: null })
    const row = await app.db.selectFrom('sessions').selectAll().executeTakeFirstOrThrow()
    t.same(row, { id: 1, notes: 'Friday game night', is_active: 1, created_at: new Date(body.created_at), closed_at: null, deleting_at: null })
  })

  t.test('POST without notes, with an empty object or with no body at all', async (t) => {
    const empty = await create({})
    t.equal(empty.statusCode, 201)
    t.equal(empty.json().notes, null)
    await close(1)
    const none = await app.inject({ method: 'POST', url: '/api/sessions', headers: auth })
    t.equal(none.statusCode, 201)
    t.equal(none.json().notes, null)
    t.equal(none.json().id, 2)
  })

  t.test('a second active session is refused with the documented sentence and activeSessionId', async (t) => {
    await create({ notes: 'first' })
    const second = await create({ notes: 'second' })
    t.equal(second.statusCode, 400)
    t.same(second.json(), { error: ACTIVE_EXISTS, activeSessionId: 1 })
    t.equal(await countSessions(), 1)
  })

  t.test('after closing, a new session can start', async (t) => {
    await create()
    await close(1)
    const next = await create()
    t.equal(next.statusCode, 201)
    t.equal(next.json().id, 2)
  })

  t.test('fifty simultaneous creates: exactly one 201, forty-nine 400 naming the winner', async (t) => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => create({ notes: `racer ${i}` })))
    const created = results.filter((r) => r.statusCode === 201)
    const refused = results.filter((r) => r.statusCode === 400)
    t.equal(created.length, 1)
    t.equal(refused.length, 49)
    const winner = created[0].json().id
    for (const r of refused) t.same(r.json(), { error: ACTIVE_EXISTS, activeSessionId: winner })
    t.equal(await countSessions(), 1)
    const active = await app.inject({ url: '/api/sessions/active' })
    t.equal(active.json().id, winner)
  })

  t.test('fifty simultaneous creates over real HTTP connections: exactly one 201', async (t) => {
    const address = await app.listen({ port: 0, host: '127.0.0.1' })
    const results = await Promise.all(Array.from({ length: 50 }, async () => {
      const res = await fetch(`${address}/api/sessions`, {
        method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}'
      })
      return { status: res.status, body: await res.json() as { id?: number } }
    }))
    t.equal(results.filter((r) => r.status === 201).length, 1)
    const winner = results.find((r) => r.status === 201)!.body.id
    t.same(results.filter((r) => r.status !== 201), Array(49).fill({ status: 400, body: { error: ACTIVE_EXISTS, activeSessionId: winner } }))
    t.equal(await countSessions(), 1)
  })

  t.test('POST needs a token', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/api/sessions', payload: {} })
    t.equal(res.statusCode, 401)
    t.type(res.json().error, 'string')
    t.equal(await countSessions(), 0)
  })

  t.test('bad bodies are 400 with an error and create nothing', async (t) => {
    const cases: Array<[string, string, string]> = [
      ['notes as a number', '{"notes": 5}', 'notes must be string'],
      ['an array body', '[]', 'body must be object'],
      ['invalid JSON', '{"notes": ', ''],
      ['a string body', '"hello"', 'body must be object']
    ]
    for (const [name, payload, error] of cases) {
      const res = await app.inject({ method: 'POST', url: '/api/sessions', headers: { ...auth, 'content-type': 'application/json' }, payload })
      t.equal(res.statusCode, 400, name)
      t.type(res.json().error, 'string', name)
      if (error) t.equal(res.json().error, error, name)
    }
    const longNotes = await create({ notes: 'x'.repeat(10001) })
    t.equal(longNotes.statusCode, 400)
    t.same(longNotes.json(), { error: 'notes must NOT have more than 10000 characters' })
    const oversized = await create({ notes: 'x'.repeat(2 * 1024 * 1024) })
    t.equal(oversized.statusCode, 413)
    t.type(oversized.json().error, 'string')
    t.equal(await countSessions(), 0)
  })

  t.test('GET / lists sessions newest first with games_played', async (t) => {
    t.same((await app.inject({ url: '/api/sessions' })).json(), [])
    await create({ notes: 'old' })
    await addGame(1, { game_id: 1 })
    await addGame(1, { game_id: 2 })
    await close(1)
    await create({ notes: 'new' })
    await addGame(2, { game_id: 3 })
    // Same creation time: the higher id comes first.
    await sql`update sessions set created_at = '2026-03-15T19:00:00.000Z'`.execute(app.db)
    await close(2)
    await create()
    await close(3)
    await sql`update sessions set created_at = '2026-03-01T19:00:00.000Z' where id = 3`.execute(app.db)
    const res = await app.inject({ url: '/api/sessions' })
    t.equal(res.statusCode, 200)
    const list = res.json()
    t.same(list.map((s: { id: number }) => s.id), [2, 1, 3])
    t.match(list[0], { id: 2, notes: 'new', is_active: 0, created_at: '2026-03-15T19:00:00.000Z', closed_at: ISO, games_played: 1 })
    t.match(list[1], { id: 1, notes: 'old', is_active: 0, created_at: '2026-03-15T19:00:00.000Z', closed_at: ISO, games_played: 2 })
    t.match(list[2], { id: 3, notes: null, games_played: 0 })
    for (const s of list) t.same(Object.keys(s).sort(), ['closed_at', 'created_at', 'games_played', 'id', 'is_active', 'notes'])
  })

  t.test('GET /active: the session itself, or the null wrapper', async (t) => {
    const none = await app.inject({ url: '/api/sessions/active' })
    t.equal(none.statusCode, 200)
    t.same(none.json(), { session: null, message: 'No active session' })
    const created = (await create({ notes: 'Friday game night' })).json()
    await addGame(1, { game_id: 5 })
    const active = await app.inject({ url: '/api/sessions/active' })
    t.equal(active.statusCode, 200)
    t.same(active.json(), { ...created, games_played: 1 })
    await close(1)
    t.same((await app.inject({ url: '/api/sessions/active' })).json(), { session: null, message: 'No active session' })
  })

  t.test('GET /:id returns the session with games_played; 404 for unknown; 400 for bad ids', async (t) => {
    const created = (await create({ notes: 'n' })).json()
    const res = await app.inject({ url: '/api/sessions/1' })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { ...created, games_played: 0 })
    const missing = await app.inject({ url: '/api/sessions/999' })
    t.equal(missing.statusCode, 404)
    t.same(missing.json(), { error: 'Session not found' })
    for (const bad of ['abc', '0', '-1', '1.5', '2147483648']) {
      const r = await app.inject({ url: `/api/sessions/${bad}` })
      t.equal(r.statusCode, 400, bad)
      t.type(r.json().error, 'string', bad)
    }
  })

  t.test('close: playing games become played, skipped stay skipped, notes replaced, games_played returned', async (t) => {
    await create({ notes: 'Friday game night' })
    await addGame(1, { game_id: 1 })
    await addGame(1, { game_id: 2 })
    await app.inject({ method: 'PATCH', url: '/api/sessions/1/games/2/status', headers: auth, payload: { status: 'skipped' } })
    await addGame(1, { game_id: 3, room_code: 'CCCC' })
    await monitorSettled(app)
    t.same(app.roomMonitor.watching(), new Map([[3, 'CCCC']]))
    const res = await close(1, { notes: 'Great session!' })
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.match(body, { id: 1, notes: 'Great session!', is_active: 0, created_at: ISO, closed_at: ISO, games_played: 3 })
    t.same(Object.keys(body).sort(), ['closed_at', 'created_at', 'games_played', 'id', 'is_active', 'notes'])
    const statuses = await app.db.selectFrom('session_games').select(['id', 'status']).orderBy('id').execute()
    t.same(statuses, [{ id: 1, status: 'played' }, { id: 2, status: 'skipped' }, { id: 3, status: 'played' }])
    await monitorSettled(app)
    t.same(app.roomMonitor.watching(), new Map(), 'the playing game\'s monitor stopped')
    t.equal((await app.db.selectFrom('session_games').select('player_count_check_status').where('id', '=', 3)
      .executeTakeFirstOrThrow()).player_count_check_status, 'stopped')
    t.same((await app.inject({ url: '/api/sessions/1' })).json(), body)
  })

  t.test('close without a body keeps the notes; null clears them', async (t) => {
    await create({ notes: 'keep me' })
    const res = await close(1)
    t.equal(res.statusCode, 200)
    t.equal(res.json().notes, 'keep me')
    await create({ notes: 'clear me' })
    const cleared = await close(2, { notes: null })
    t.equal(cleared.json().notes, null)
  })

  t.test('close errors: already closed, unknown, bad id, no token, bad body', async (t) => {
    await create()
    await close(1)
    const closedAt = (await app.db.selectFrom('sessions').select('closed_at').executeTakeFirstOrThrow()).closed_at
    const again = await close(1, { notes: 'x' })
    t.equal(again.statusCode, 400)
    t.same(again.json(), { error: 'Session is already closed' })
    const missing = await close(42)
    t.equal(missing.statusCode, 404)
    t.same(missing.json(), { error: 'Session not found' })
    t.equal((await app.inject({ method: 'POST', url: '/api/sessions/x/close', headers: auth })).statusCode, 400)
    t.equal((await app.inject({ method: 'POST', url: '/api/sessions/1/close' })).statusCode, 401)
    await create({ notes: 'open' })
    const badNotes = await close(2, { notes: 12 })
    t.equal(badNotes.statusCode, 400)
    t.same(badNotes.json(), { error: 'notes must be string' })
    const rows = await app.db.selectFrom('sessions').select(['id', 'notes', 'is_active', 'closed_at']).orderBy('id').execute()
    t.same(rows, [{ id: 1, notes: null, is_active: 0, closed_at: closedAt }, { id: 2, notes: 'open', is_active: 1, closed_at: null }])
  })

  t.test('concurrent closes: one 200, the rest "Session is already closed"', async (t) => {
    await create()
    await addGame(1, { game_id: 1 })
    const results = await Promise.all(Array.from({ length: 10 }, () => close(1)))
    t.same(results.map((r) => r.statusCode).sort(), [200, 400, 400, 400, 400, 400, 400, 400, 400, 400])
  })

  t.test('a closed session takes no more games', async (t) => {
    await create()
    await close(1)
    const res = await addGame(1, { game_id: 1 })
    t.equal(res.statusCode, 400)
    t.same(res.json(), { error: 'Cannot add games to a closed session' })
    const game = await app.db.selectFrom('games').select('play_count').where('id', '=', 1).executeTakeFirstOrThrow()
    t.equal(game.play_count, 0)
  })

  t.test('DELETE: an active session is refused, a closed one goes with its games and chat logs', async (t) => {
    await create()
    await addGame(1, { game_id: 1 })
    await app.db.insertInto('chat_logs').values({
      session_id: 1, session_game_id: 1, username: 'viewer1', message: 'thisgame++', timestamp: new Date(), vote_type: 'up', message_hash: 'h1'
    }).execute()
    const active = await app.inject({ method: 'DELETE', url: '/api/sessions/1', headers: auth })
    t.equal(active.statusCode, 400)
    t.same(active.json(), { error: 'Cannot delete an active session. Please close it first.' })
    t.equal(await countSessions(), 1)
    await close(1)
    const res = await app.inject({ method: 'DELETE', url: '/api/sessions/1', headers: auth })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { message: 'Session deleted successfully', sessionId: 1 })
    t.equal(await countSessions(), 0)
    t.same(await app.db.selectFrom('session_games').selectAll().execute(), [])
    t.same(await app.db.selectFrom('chat_logs').selectAll().execute(), [])
    const gone = await app.inject({ url: '/api/sessions/1' })
    t.equal(gone.statusCode, 404)
  })

  t.test('DELETE errors: unknown id, bad id, no token', async (t) => {
    const missing = await app.inject({ method: 'DELETE', url: '/api/sessions/7', headers: auth })
    t.equal(missing.statusCode, 404)
    t.same(missing.json(), { error: 'Session not found' })
    t.equal((await app.inject({ method: 'DELETE', url: '/api/sessions/0', headers: auth })).statusCode, 400)
    await create()
    await close(1)
    const noToken = await app.inject({ method: 'DELETE', url: '/api/sessions/1' })
    t.equal(noToken.statusCode, 401)
    t.equal(await countSessions(), 1)
  })
})
