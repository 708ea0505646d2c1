import t from 'tap'
import { authHeaders } from '../helper.ts'
import { monitorSettled } from '../fixtures/event-log.ts'
import { buildMonitored } from '../fixtures/monitored-app.ts'

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const SESSION_GAME_KEYS = ['downvotes', 'game_id', 'game_type', 'id', 'manually_added', 'max_players', 'min_players', 'pack_name',
  'played_at', 'player_count', 'player_count_check_status', 'popularity_score', 'room_code', 'session_id', 'status', 'title', 'upvotes']

t.test('session games', async (t) => {
  const { app } = await buildMonitored(t, 1000)
  const auth = authHeaders(app)
  /** The room codes watched, by session game id, once the monitor has acted on every event recorded so far. */
  const watched = async () => { await monitorSettled(app); return app.roomMonitor.watching() }
  const checkStatus = async (id: number) => (await app.db.selectFrom('session_games').select('player_count_check_status')
    .where('id', '=', id).executeTakeFirstOrThrow()).player_count_check_status

  const startSession = async () => (await app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: {} })).json().id as number
  const addGame = (sessionId: number | string, payload: unknown, headers = auth) =>
    app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/games`, headers, payload: payload as object })
  const patch = (path: string, payload: unknown, headers = auth) =>
    app.inject({ method: 'PATCH', url: `/api/sessions/${path}`, headers, payload: payload as object })
  const game = (id: number) => app.db.selectFrom('games').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
  const rows = () => app.db.selectFrom('session_games').selectAll().orderBy('id').execute()
  const statuses = async () => (await rows()).map((r) => r.status)

  t.test('POST adds a playing game: 201 with the SessionGame object; play_count grows', async (t) => {
    const sessionId = await startSession()
    const catalog = await game(42)
    const res = await addGame(sessionId, { game_id: 42, manually_added: true, room_code: 'ABCD' })
    t.equal(res.statusCode, 201)
    const body = res.json()
    t.same(Object.keys(body).sort(), SESSION_GAME_KEYS)
    t.match(body, {
      id: 1,
      session_id: sessionId,
      game_id: 42,
      manually_added: 1,
      status: 'playing',
      room_code: 'ABCD',
      played_at: ISO,
      player_count: null,
      player_count_check_status: 'checking',
      pack_name: catalog.pack_name,
      title: catalog.title,
      game_type: catalog.game_type,
      min_players: catalog.min_players,
      max_players: catalog.max_players,
      popularity_score: 0,
      upvotes: 0,
      downvotes: 0
    })
    t.equal((await game(42)).play_count, 1)
    t.same(await watched(), new Map([[1, 'ABCD']]), 'the room monitor watches the room')
    const listed = (await app.inject({ url: `/api/sessions/${sessionId}/games` })).json()
    t.same(listed, [body])
  })

  t.test('the room monitor starts only with a room code; manually_added defaults to 0', async (t) => {
    const sessionId = await startSession()
    const res = await addGame(sessionId, { game_id: 1 })
    t.equal(res.statusCode, 201)
    t.match(res.json(), { manually_added: 0, room_code: null, status: 'playing', player_count_check_status: 'not_started' })
    t.same(await watched(), new Map())
    const flagged = await addGame(sessionId, { game_id: 2, manually_added: 1, room_code: null })
    t.equal(flagged.statusCode, 201)
    t.match(flagged.json(), { manually_added: 1, player_count_check_status: 'not_started' })
    t.same(await watched(), new Map())
  })

  t.test('adding a game sets the previous playing game to played; skipped stay skipped', async (t) => {
    const sessionId = await startSession()
    await addGame(sessionId, { game_id: 1, room_code: 'AAAA' })
    t.same(await watched(), new Map([[1, 'AAAA']]))
    await addGame(sessionId, { game_id: 2 })
    t.same(await statuses(), ['played', 'playing'])
    t.same(await watched(), new Map(), 'the played game\'s monitor stopped')
    t.equal(await checkStatus(1), 'stopped')
    await patch(`${sessionId}/games/2/status`, { status: 'skipped' })
    await addGame(sessionId, { game_id: 3, room_code: 'CCCC' })
    t.same(await statuses(), ['played', 'skipped', 'playing'])
    t.same(await watched(), new Map([[3, 'CCCC']]))
    await addGame(sessionId, { game_id: 1 })
    t.same(await statuses(), ['played', 'skipped', 'played', 'playing'])
    t.same(await watched(), new Map())
    t.equal(await checkStatus(3), 'stopped')
    t.equal((await game(1)).play_count, 2)
  })

  t.test('concurrent adds to one session: all 201, one playing game, every play counted', async (t) => {
    const sessionId = await startSession()
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => addGame(sessionId, { game_id: (i % 4) + 1 })))
    t.same(results.map((r) => r.statusCode), Array(20).fill(201))
    const all = await rows()
    t.equal(all.length, 20)
    t.equal(all.filter((r) => r.status === 'playing').length, 1)
    // The playing one is the last in play order.
    const ordered = [...all].sort((a, b) => a.played_at.getTime() - b.played_at.getTime() || a.id - b.id)
    t.equal(ordered[19].status, 'playing')
    for (let id = 1; id <= 4; id++) t.equal((await game(id)).play_count, 5, `game ${id}`)
  })

  t.test('concurrent adds and a close: the adds after the close are refused, no playing game remains', async (t) => {
    const sessionId = await startSession()
    const adds = Array.from({ length: 10 }, () => addGame(sessionId, { game_id: 7 }))
    const closing = app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/close`, headers: auth, payload: {} })
    const results = await Promise.all([...adds, closing])
    t.equal(results[10].statusCode, 200)
    const added = results.slice(0, 10).filter((r) => r.statusCode === 201).length
    t.same(results.slice(0, 10).filter((r) => r.statusCode !== 201).map((r) => [r.statusCode, r.json()]),
      Array(10 - added).fill([400, { error: 'Cannot add games to a closed session' }]), 'every other add is refused as too late')
    const all = await rows()
    t.equal(all.length, added)
    t.equal(all.filter((r) => r.status === 'playing').length, 0)
    t.equal((await game(7)).play_count, added)
    t.equal(results[10].json().games_played, added)
    // The race may let every add in before the close; one add after it is always refused.
    const late = await addGame(sessionId, { game_id: 7 })
    t.same([late.statusCode, late.json()], [400, { error: 'Cannot add games to a closed session' }])
  })

  t.test('POST errors: seed sentences, and nothing changes', async (t) => {
    const sessionId = await startSession()
    const missing = await addGame(sessionId, { manually_added: true })
    t.equal(missing.statusCode, 400)
    t.same(missing.json(), { error: 'game_id is required' })
    const unknownGame = await addGame(sessionId, { game_id: 9999 })
    t.equal(unknownGame.statusCode, 404)
    t.same(unknownGame.json(), { error: 'Game not found' })
    const unknownSession = await addGame(77, { game_id: 1 })
    t.equal(unknownSession.statusCode, 404)
    t.same(unknownSession.json(), { error: 'Session not found' })
    const badCode = await addGame(sessionId, { game_id: 1, room_code: 'abcd' })
    t.equal(badCode.statusCode, 400)
    t.same(badCode.json(), { error: 'room_code must be exactly 4 alphanumeric characters (A-Z, 0-9)' })
    const wrongTypes: unknown[] = [
      { game_id: '1' }, { game_id: 1.5 }, { game_id: 0 }, { game_id: -3 }, { game_id: 2147483648 }, { game_id: null },
      { game_id: 1, manually_added: 'yes' }, { game_id: 1, room_code: 1234 }, { game_id: 1, room_code: 'ABCDE' }, [], 'x'
    ]
    for (const payload of wrongTypes) {
      const res = await app.inject({
        method: 'POST', url: `/api/sessions/${sessionId}/games`, headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify(payload)
      })
      t.equal(res.statusCode, 400, JSON.stringify(payload))
      t.type(res.json().error, 'string')
    }
    const invalidJson = await app.inject({
      method: 'POST', url: `/api/sessions/${sessionId}/games`, headers: { ...auth, 'content-type': 'application/json' }, payload: '{"game_id": 1'
    })
    t.equal(invalidJson.statusCode, 400)
    t.type(invalidJson.json().error, 'string')
    const badId = await addGame('abc', { game_id: 1 })
    t.equal(badId.statusCode, 400)
    const noToken = await addGame(sessionId, { game_id: 1 }, {})
    t.equal(noToken.statusCode, 401)
    t.same(await rows(), [])
    t.equal((await game(1)).play_count, 0)
    t.same(await watched(), new Map())
  })

  t.test('GET /:id/games lists in play order; 404 for an unknown session; 400 for a bad id', async (t) => {
    const sessionId = await startSession()
    t.same((await app.inject({ url: `/api/sessions/${sessionId}/games` })).json(), [])
    await addGame(sessionId, { game_id: 3 })
    await addGame(sessionId, { game_id: 1 })
    await addGame(sessionId, { game_id: 2 })
    // Played_at decides the order, not the id.
    await app.db.updateTable('session_games').set({ played_at: new Date('2026-03-15T18:00:00.000Z') }).where('id', '=', 3).execute()
    const res = await app.inject({ url: `/api/sessions/${sessionId}/games` })
    t.equal(res.statusCode, 200)
    const list = res.json()
    t.same(list.map((g: { id: number }) => g.id), [3, 1, 2])
    t.same(list.map((g: { game_id: number }) => g.game_id), [2, 3, 1])
    t.equal(list[0].played_at, '2026-03-15T18:00:00.000Z')
    for (const g of list) t.same(Object.keys(g).sort(), SESSION_GAME_KEYS)
    const missing = await app.inject({ url: '/api/sessions/55/games' })
    t.equal(missing.statusCode, 404)
    t.same(missing.json(), { error: 'Session not found' })
    t.equal((await app.inject({ url: '/api/sessions/-1/games' })).statusCode, 400)
  })

  t.test('status: played and skipped stop the monitor; playing finishes the other playing game', async (t) => {
    const sessionId = await startSession()
    await addGame(sessionId, { game_id: 1, room_code: 'AAAA' })
    await addGame(sessionId, { game_id: 2, room_code: 'BBBB' })
    const startCheck = (id: number) => app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/games/${id}/start-player-check`, headers: auth })
    await addGame(sessionId, { game_id: 3, room_code: 'CCCC' })
    t.same(await watched(), new Map([[3, 'CCCC']]))
    t.equal((await startCheck(2)).statusCode, 200, 'a played game can be watched again by hand')
    t.same(await watched(), new Map([[2, 'BBBB'], [3, 'CCCC']]))
    const played = await patch(`${sessionId}/games/3/status`, { status: 'played' })
    t.equal(played.statusCode, 200)
    t.same(played.json(), { message: 'Status updated successfully', status: 'played' })
    t.same(await statuses(), ['played', 'played', 'played'])
    t.same(await watched(), new Map([[2, 'BBBB']]))
    const skipped = await patch(`${sessionId}/games/2/status`, { status: 'skipped' })
    t.same(skipped.json(), { message: 'Status updated successfully', status: 'skipped' })
    t.same(await watched(), new Map())
    t.same([await checkStatus(2), await checkStatus(3)], ['stopped', 'stopped'])
    await patch(`${sessionId}/games/1/status`, { status: 'playing' })
    t.same(await statuses(), ['playing', 'skipped', 'played'])
    t.equal((await startCheck(1)).statusCode, 200)
    t.same(await watched(), new Map([[1, 'AAAA']]))
    const again = await patch(`${sessionId}/games/3/status`, { status: 'playing' })
    t.same(again.json(), { message: 'Status updated successfully', status: 'playing' })
    t.same(await statuses(), ['played', 'skipped', 'playing'])
    t.same(await watched(), new Map(), 'the game that stopped playing stopped its monitor')
    const same = await patch(`${sessionId}/games/3/status`, { status: 'playing' })
    t.equal(same.statusCode, 200)
    t.same(await statuses(), ['played', 'skipped', 'playing'])
  })

  t.test('concurrent "playing" on different games leave exactly one playing', async (t) => {
    const sessionId = await startSession()
    for (let i = 1; i <= 6; i++) await addGame(sessionId, { game_id: i })
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((id) => patch(`${sessionId}/games/${id}/status`, { status: 'playing' })))
    t.same(results.map((r) => r.statusCode), Array(6).fill(200))
    t.equal((await statuses()).filter((s) => s === 'playing').length, 1)
  })

  t.test('status errors: invalid value, missing, unknown ids, other session, bad ids, no token', async (t) => {
    const sessionId = await startSession()
    await addGame(sessionId, { game_id: 1, room_code: 'ABCD' })
    const other = sessionId + 1
    await app.db.insertInto('sessions').values({ id: other, notes: null, is_active: 0 }).execute()
    for (const payload of [{ status: 'done' }, { status: 'PLAYED' }, { status: 1 }, {}, { status: null }]) {
      const res = await patch(`${sessionId}/games/1/status`, payload)
      t.equal(res.statusCode, 400, JSON.stringify(payload))
      t.same(res.json(), { error: 'Invalid status. Must be playing, played, or skipped' })
    }
    for (const path of [`${sessionId}/games/99/status`, `${other}/games/1/status`, '999/games/1/status']) {
      const res = await patch(path, { status: 'played' })
      t.equal(res.statusCode, 404, path)
      t.same(res.json(), { error: 'Session game not found' })
    }
    for (const path of ['x/games/1/status', `${sessionId}/games/0/status`, `${sessionId}/games/1.2/status`]) {
      t.equal((await patch(path, { status: 'played' })).statusCode, 400, path)
    }
    t.equal((await patch(`${sessionId}/games/1/status`, { status: 'played' }, {})).statusCode, 401)
    t.same(await statuses(), ['playing'])
    t.same(await watched(), new Map([[1, 'ABCD']]), 'the monitor keeps watching')
  })

  t.test('DELETE removes the game, stops its monitor and undoes its play_count', async (t) => {
    const sessionId = await startSession()
    await addGame(sessionId, { game_id: 5 })
    await addGame(sessionId, { game_id: 5, room_code: 'WXYZ' })
    t.equal((await game(5)).play_count, 2)
    t.same(await watched(), new Map([[2, 'WXYZ']]))
    const res = await app.inject({ method: 'DELETE', url: `/api/sessions/${sessionId}/games/2`, headers: auth })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { message: 'Game removed from session successfully' })
    t.same((await rows()).map((r) => r.id), [1])
    t.equal((await game(5)).play_count, 1)
    t.same(await watched(), new Map(), 'its monitor stopped')
    const again = await app.inject({ method: 'DELETE', url: `/api/sessions/${sessionId}/games/2`, headers: auth })
    t.equal(again.statusCode, 404)
    t.same(again.json(), { error: 'Session game not found' })
    const otherSession = await app.inject({ method: 'DELETE', url: `/api/sessions/${sessionId + 1}/games/1`, headers: auth })
    t.equal(otherSession.statusCode, 404)
    t.same(otherSession.json(), { error: 'Session game not found' })
    t.equal((await app.inject({ method: 'DELETE', url: `/api/sessions/${sessionId}/games/abc`, headers: auth })).statusCode, 400)
    t.equal((await app.inject({ method: 'DELETE', url: `/api/sessions/${sessionId}/games/1` })).statusCode, 401)
    t.same((await rows()).map((r) => r.id), [1])
    t.equal((await game(5)).play_count, 1)
  })

  t.test('room-code: returns the updated SessionGame; restarts a running monitor only', async (t) => {
    const sessionId = await startSession()
    const added = (await addGame(sessionId, { game_id: 42, manually_added: true })).json()
    const res = await patch(`${sessionId}/games/1/room-code`, { room_code: 'XY9Z' })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { ...added, room_code: 'XY9Z' })
    t.same(await watched(), new Map(), 'a room code alone starts no monitor')
    const started = await app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/games/1/start-player-check`, headers: auth })
    t.equal(started.statusCode, 200)
    t.same(await watched(), new Map([[1, 'XY9Z']]))
    const restarted = await patch(`${sessionId}/games/1/room-code`, { room_code: 'AB12' })
    t.equal(restarted.json().room_code, 'AB12')
    t.same(await watched(), new Map([[1, 'AB12']]), 'the running monitor moved to the new code')
    t.equal((await rows())[0].room_code, 'AB12')
  })

  t.test('room-code errors: the documented sentences, 404s, bad ids; nothing changes', async (t) => {
    const sessionId = await startSession()
    await addGame(sessionId, { game_id: 1, room_code: 'ABCD' })
    const missing = await patch(`${sessionId}/games/1/room-code`, {})
    t.equal(missing.statusCode, 400)
    t.same(missing.json(), { error: 'room_code is required' })
    for (const code of ['abcd', 'ABC', 'ABCDE', 'AB-D', 1234, null, ' ABC']) {
      const res = await patch(`${sessionId}/games/1/room-code`, { room_code: code })
      t.equal(res.statusCode, 400, String(code))
      t.same(res.json(), { error: 'room_code must be exactly 4 alphanumeric characters (A-Z, 0-9)' })
    }
    const unknown = await patch(`${sessionId}/games/2/room-code`, { room_code: 'XY9Z' })
    t.equal(unknown.statusCode, 404)
    t.same(unknown.json(), { error: 'Session game not found' })
    const wrongSession = await patch(`${sessionId + 3}/games/1/room-code`, { room_code: 'XY9Z' })
    t.equal(wrongSession.statusCode, 404)
    t.equal((await patch(`${sessionId}/games/zz/room-code`, { room_code: 'XY9Z' })).statusCode, 400)
    t.equal((await patch(`${sessionId}/games/1/room-code`, { room_code: 'XY9Z' }, {})).statusCode, 401)
    t.equal((await rows())[0].room_code, 'ABCD')
    t.same(await watched(), new Map([[1, 'ABCD']]))
  })

  t.test('player-count: stops the monitor, stores the count as completed', async (t) => {
    const sessionId = await startSession()
    await addGame(sessionId, { game_id: 1, room_code: 'ABCD' })
    t.same(await watched(), new Map([[1, 'ABCD']]))
    const res = await patch(`${sessionId}/games/1/player-count`, { player_count: 6 })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { message: 'Player count updated successfully', player_count: 6 })
    t.same(await watched(), new Map())
    const [row] = await rows()
    t.equal(row.player_count, 6)
    t.equal(row.player_count_check_status, 'completed')
    const listed = (await app.inject({ url: `/api/sessions/${sessionId}/games` })).json()
    t.match(listed[0], { player_count: 6, player_count_check_status: 'completed' })
    const zero = await patch(`${sessionId}/games/1/player-count`, { player_count: 0 })
    t.equal(zero.statusCode, 200)
    t.same(zero.json(), { message: 'Player count updated successfully', player_count: 0 })
  })

  t.test('player-count errors: the documented sentences, 404s; nothing changes', async (t) => {
    const sessionId = await startSession()
    await addGame(sessionId, { game_id: 1, room_code: 'ABCD' })
    const missing = await patch(`${sessionId}/games/1/player-count`, {})
    t.equal(missing.statusCode, 400)
    t.same(missing.json(), { error: 'player_count is required' })
    for (const count of [-1, 'six', '6', 2.5, null, true, 2147483648]) {
      const res = await patch(`${sessionId}/games/1/player-count`, { player_count: count })
      t.equal(res.statusCode, 400, String(count))
      t.same(res.json(), { error: 'player_count must be a positive number' })
    }
    const unknown = await patch(`${sessionId}/games/3/player-count`, { player_count: 4 })
    t.equal(unknown.statusCode, 404)
    t.same(unknown.json(), { error: 'Session game not found' })
    t.equal((await patch(`${sessionId}/games/1/player-count`, { player_count: 4 }, {})).statusCode, 401)
    t.equal((await patch('0/games/1/player-count', { player_count: 4 })).statusCode, 400)
    const [row] = await rows()
    t.equal(row.player_count, null)
    t.equal(row.player_count_check_status, 'checking')
    t.same(await watched(), new Map([[1, 'ABCD']]), 'the monitor keeps watching')
  })
})
