import t from 'tap'
import { authHeaders } from '../helper.ts'
import { buildMonitored } from '../fixtures/monitored-app.ts'

t.test('start-player-check and stop-player-check', async (t) => {
  const { app } = await buildMonitored(t, 200)
  const auth = authHeaders(app)

  async function sessionGame (roomCode: string | null, status: 'playing' | 'played' = 'playing') {
    const session = await app.db.insertInto('sessions').values({ is_active: 0 }).returning('id').executeTakeFirstOrThrow()
    const game = await app.db.insertInto('session_games').values({ session_id: session.id, game_id: 5, room_code: roomCode, status })
      .returning('id').executeTakeFirstOrThrow()
    return { sessionId: session.id, sessionGameId: game.id }
  }
  const post = (sessionId: number | string, sessionGameId: number | string, action: 'start' | 'stop', headers = auth) =>
    app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/games/${sessionGameId}/${action}-player-check`, headers })
  const status = async (id: number) => (await app.db.selectFrom('session_games').select('player_count_check_status')
    .where('id', '=', id).executeTakeFirstOrThrow()).player_count_check_status

  t.test('start: 200 monitoring, the watch runs, the status is checking', async (t) => {
    const { sessionId, sessionGameId } = await sessionGame('ABCD')
    const res = await post(sessionId, sessionGameId, 'start')
    t.equal(res.statusCode, 200)
    t.same(res.json(), { message: 'Room monitor started', status: 'monitoring' })
    t.ok(app.roomMonitor.isWatching(sessionGameId))
    t.equal(await status(sessionGameId), 'checking')
    const again = await post(sessionId, sessionGameId, 'start')
    t.same(again.json(), { message: 'Room monitor started', status: 'monitoring' }, 'starting twice is harmless')
    t.same(app.roomMonitor.watching(), new Map([[sessionGameId, 'ABCD']]))
  })

  t.test('start without a room code: 400', async (t) => {
    const { sessionId, sessionGameId } = await sessionGame(null)
    const res = await post(sessionId, sessionGameId, 'start')
    t.equal(res.statusCode, 400)
    t.same(res.json(), { error: 'Game does not have a room code' })
    t.notOk(app.roomMonitor.isWatching(sessionGameId))
    t.equal(await status(sessionGameId), 'not_started')
  })

  t.test('unknown session game, or one of another session: 404', async (t) => {
    const { sessionId, sessionGameId } = await sessionGame('ABCD')
    for (const action of ['start', 'stop'] as const) {
      t.same((await post(sessionId, sessionGameId + 1, action)).json(), { error: 'Session game not found' })
      const res = await post(sessionId + 1, sessionGameId, action)
      t.equal(res.statusCode, 404)
      t.same(res.json(), { error: 'Session game not found' })
    }
    t.notOk(app.roomMonitor.isWatching(sessionGameId))
  })

  t.test('bad ids: 400; no token: 401', async (t) => {
    const { sessionId, sessionGameId } = await sessionGame('ABCD')
    const bad = await post(sessionId, 'abc', 'start')
    t.equal(bad.statusCode, 400)
    t.match(bad.json(), { error: /sessionGameId/ })
    t.equal((await post(0, sessionGameId, 'stop')).statusCode, 400)
    for (const action of ['start', 'stop'] as const) {
      const res = await post(sessionId, sessionGameId, action, {})
      t.equal(res.statusCode, 401)
      t.match(res.json(), { error: String })
    }
    t.notOk(app.roomMonitor.isWatching(sessionGameId))
  })

  t.test('stop: 200 stopped; checking becomes stopped, a final status is kept', async (t) => {
    const { sessionId, sessionGameId } = await sessionGame('ABCD')
    await post(sessionId, sessionGameId, 'start')
    const res = await post(sessionId, sessionGameId, 'stop')
    t.equal(res.statusCode, 200)
    t.same(res.json(), { message: 'Room monitor and player count check stopped', status: 'stopped' })
    t.notOk(app.roomMonitor.isWatching(sessionGameId))
    t.equal(await status(sessionGameId), 'stopped')

    await app.db.updateTable('session_games').set({ player_count_check_status: 'completed', player_count: 6 }).execute()
    t.same((await post(sessionId, sessionGameId, 'stop')).json(), { message: 'Room monitor and player count check stopped', status: 'stopped' })
    t.equal(await status(sessionGameId), 'completed')
  })

  t.test('the routes are in the OpenAPI description', async (t) => {
    const spec = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
    for (const action of ['start', 'stop']) {
      const op = spec.paths[`/api/sessions/{sessionId}/games/{sessionGameId}/${action}-player-check`].post
      t.same(Object.keys(op.responses).sort(), ['200', '400', '401', '403', '404'])
      t.same(op.security, [{ bearer: [] }])
    }
  })
})
