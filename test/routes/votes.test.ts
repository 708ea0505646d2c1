import t from 'tap'
import { build, resetDb, authHeaders } from '../helper.ts'
import { insertSession, insertSessionGame, findGame, countRows } from '../fixtures/votes.ts'
import type { LoggedEvent } from '../../plugins/event-log.ts'

t.test('votes', async (t) => {
  const app = await build(t)
  const auth = authHeaders(app)
  t.beforeEach(() => resetDb(app))

  const vote = (payload: unknown, headers: Record<string, string> = auth) =>
    app.inject({ method: 'POST', url: '/api/votes/live', headers, payload: payload as object })

  // Session 1: YDKJ (game 1) at 20:00, Fibbage XL (game 2, skipped) at 20:30, Drawful (game 3, playing) at 21:00.
  async function gameNight () {
    const session = await insertSession(app, { notes: 'Friday' })
    const g1 = await insertSessionGame(app, session.id, 1, '2026-03-15T20:00:00.000Z')
    const g2 = await insertSessionGame(app, session.id, 2, '2026-03-15T20:30:00.000Z', { status: 'skipped' })
    const g3 = await insertSessionGame(app, session.id, 3, '2026-03-15T21:00:00.000Z', { status: 'playing' })
    return { session, g1, g2, g3 }
  }

  t.test('POST /api/votes/live counts a vote and answers the contract shape', async (t) => {
    const { session } = await gameNight()
    const events: LoggedEvent[] = []
    const off = app.eventLog.subscribe((e) => { events.push(e) })
    t.teardown(off)
    const res = await vote({ username: 'viewer1', vote: 'up', timestamp: '2026-03-15T20:10:00.000Z' })
    t.equal(res.statusCode, 200)
    t.same(res.json(), {
      success: true,
      session: { id: session.id, games_played: 3 },
      game: { id: 1, title: "You Don't Know Jack 2015", upvotes: 1, downvotes: 0, popularity_score: 1 },
      vote: { username: 'viewer1', type: 'up', timestamp: '2026-03-15T20:10:00.000Z' }
    })
    const down = await vote({ username: 'viewer2', vote: 'down', timestamp: '2026-03-15T20:11:00.000Z' })
    t.same(down.json().game, { id: 1, title: "You Don't Know Jack 2015", upvotes: 1, downvotes: 1, popularity_score: 0 })
    t.match(await findGame(app, 1), { upvotes: 1, downvotes: 1, popularity_score: 0 })
    const rows = await app.db.selectFrom('live_votes').selectAll().orderBy('id').execute()
    t.match(rows, [
      { session_id: session.id, game_id: 1, username: 'viewer1', vote_type: 'up', timestamp: new Date('2026-03-15T20:10:00.000Z') },
      { session_id: session.id, game_id: 1, username: 'viewer2', vote_type: 'down' }
    ])
    await app.eventLog.poll()
    t.equal(events.length, 2)
    t.same(events[0].type, 'vote.received')
    t.same(events[0].sessionId, session.id)
    t.same(events[0].data, {
      sessionId: session.id,
      game: { id: 1, title: "You Don't Know Jack 2015", upvotes: 1, downvotes: 0, popularity_score: 1 },
      vote: { username: 'viewer1', type: 'up', timestamp: '2026-03-15T20:10:00.000Z' }
    })
  })

  t.test('timestamp edges: exactly at played_at, before the first game, after a skipped game, after the last', async (t) => {
    await gameNight()
    const at = async (timestamp: string, username: string) => {
      const res = await vote({ username, vote: 'up', timestamp })
      return res.statusCode === 200 ? res.json().game.id : res.json().error
    }
    t.equal(await at('2026-03-15T20:00:00.000Z', 'a'), 1, 'exactly at played_at belongs to that game')
    t.equal(await at('2026-03-15T20:29:59.999Z', 'b'), 1, 'one ms before the next game still belongs to the first')
    t.equal(await at('2026-03-15T20:30:00.000Z', 'c'), 2, 'exactly at the skipped game belongs to it')
    t.equal(await at('2026-03-15T20:45:00.000Z', 'd'), 2, 'after a skipped game was added belongs to it')
    t.equal(await at('2026-03-15T21:00:00.000Z', 'e'), 3)
    t.equal(await at('2026-03-16T03:00:00.000Z', 'f'), 3, 'after the last game belongs to the last')
    t.equal(await at('2026-03-15T19:59:59.999Z', 'g'), 'No game is being played at that time')
    t.equal(await at('2026-03-15T20:00:00.000+01:00', 'h'), 'No game is being played at that time', 'zones are honoured')
  })

  t.test('404 No game is being played at that time, and nothing is stored', async (t) => {
    await gameNight()
    const res = await vote({ username: 'early', vote: 'up', timestamp: '2026-03-15T19:00:00.000Z' })
    t.equal(res.statusCode, 404)
    t.same(res.json(), { error: 'No game is being played at that time' })
    t.equal(await countRows(app, 'live_votes'), 0)
  })

  t.test('404 No active session: none at all, or only closed ones', async (t) => {
    const none = await vote({ username: 'a', vote: 'up', timestamp: '2026-03-15T20:10:00.000Z' })
    t.equal(none.statusCode, 404)
    t.same(none.json(), { error: 'No active session' })
    const closed = await insertSession(app, { is_active: 0 })
    await insertSessionGame(app, closed.id, 1, '2026-03-15T20:00:00.000Z')
    const res = await vote({ username: 'a', vote: 'up', timestamp: '2026-03-15T20:10:00.000Z' })
    t.equal(res.statusCode, 404)
    t.same(res.json(), { error: 'No active session' })
    t.equal(await countRows(app, 'live_votes'), 0)
  })

  t.test('an active session with no games yet: 404 No game is being played at that time', async (t) => {
    await insertSession(app)
    const res = await vote({ username: 'a', vote: 'up', timestamp: '2026-03-15T20:10:00.000Z' })
    t.equal(res.statusCode, 404)
    t.same(res.json(), { error: 'No game is being played at that time' })
  })

  t.test('409 for the same username within one second, either way; not across users; counted once', async (t) => {
    await gameNight()
    t.equal((await vote({ username: 'spammer', vote: 'up', timestamp: '2026-03-15T20:10:00.000Z' })).statusCode, 200)
    const again = await vote({ username: 'spammer', vote: 'up', timestamp: '2026-03-15T20:10:00.999Z' })
    t.equal(again.statusCode, 409)
    t.same(again.json(), { error: 'Duplicate vote: this username already voted within the last second' })
    const earlier = await vote({ username: 'spammer', vote: 'down', timestamp: '2026-03-15T20:09:59.001Z' })
    t.equal(earlier.statusCode, 409, 'a vote reported late, less than a second before, is the same burst')
    const other = await vote({ username: 'someone-else', vote: 'up', timestamp: '2026-03-15T20:10:00.500Z' })
    t.equal(other.statusCode, 200, 'another user at the same moment counts')
    const later = await vote({ username: 'spammer', vote: 'up', timestamp: '2026-03-15T20:10:01.000Z' })
    t.equal(later.statusCode, 200, 'exactly one second later counts')
    t.match(await findGame(app, 1), { upvotes: 3, downvotes: 0 })
    t.equal(await countRows(app, 'live_votes'), 3)
  })

  t.test('the same username voting at once: exactly one of them counts', async (t) => {
    await gameNight()
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      vote({ username: 'burst', vote: 'up', timestamp: `2026-03-15T20:10:00.${String(i * 10).padStart(3, '0')}Z` })))
    t.same(results.map((r) => r.statusCode).sort(), [200, ...Array(19).fill(409)])
    t.match(await findGame(app, 1), { upvotes: 1 })
    t.equal(await countRows(app, 'live_votes'), 1)
  })

  t.test('200 concurrent votes from 200 users are each counted exactly once', async (t) => {
    const { session } = await gameNight()
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) =>
      vote({ username: `user${i}`, vote: i % 4 === 0 ? 'down' : 'up', timestamp: '2026-03-15T21:05:00.000Z' })))
    t.same(new Set(results.map((r) => r.statusCode)), new Set([200]))
    t.match(await findGame(app, 3), { upvotes: 150, downvotes: 50, popularity_score: 100 })
    t.equal(await countRows(app, 'live_votes'), 200)
    const tallies = await app.inject({ url: `/api/sessions/${session.id}/votes` })
    t.same(tallies.json().votes, [{ game_id: 3, title: 'Drawful', pack_name: 'The Jackbox Party Pack', upvotes: 150, downvotes: 50, net_score: 100, total_votes: 200 }])
  })

  t.test('bad input is a 400 naming the field, and nothing is stored', async (t) => {
    await gameNight()
    const good = { username: 'a', vote: 'up', timestamp: '2026-03-15T20:10:00.000Z' }
    const cases: Array<[unknown, string]> = [
      [{ vote: 'up', timestamp: good.timestamp }, 'username is required'],
      [{ ...good, username: '' }, 'username must NOT have fewer than 1 characters'],
      [{ ...good, username: 5 }, 'username must be string'],
      [{ username: 'a', timestamp: good.timestamp }, 'vote is required'],
      [{ ...good, vote: 'sideways' }, 'vote must be "up" or "down"'],
      [{ ...good, vote: 1 }, 'vote must be "up" or "down"'],
      [{ username: 'a', vote: 'up' }, 'timestamp is required'],
      [{ ...good, timestamp: 'yesterday' }, 'timestamp must be an ISO-8601 date-time'],
      [{ ...good, timestamp: 1773605400000 }, 'timestamp must be an ISO-8601 date-time']
    ]
    for (const [payload, error] of cases) {
      const res = await vote(payload)
      t.equal(res.statusCode, 400, error)
      t.same(res.json(), { error })
    }
    const invalidJson = await app.inject({ method: 'POST', url: '/api/votes/live', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"username":' })
    t.equal(invalidJson.statusCode, 400)
    t.type(invalidJson.json().error, 'string')
    t.equal(await countRows(app, 'live_votes'), 0)
    t.match(await findGame(app, 1), { upvotes: 0, downvotes: 0 })
  })

  t.test('401 without a valid token', async (t) => {
    await gameNight()
    const res = await vote({ username: 'a', vote: 'up', timestamp: '2026-03-15T20:10:00.000Z' }, {})
    t.equal(res.statusCode, 401)
    t.type(res.json().error, 'string')
    t.equal(await countRows(app, 'live_votes'), 0)
  })

  t.test('GET /api/votes pages newest first, filters, and counts totals', async (t) => {
    const { session } = await gameNight()
    // 7 votes on game 1 by alice/bob alternating, 3 on game 3 by carol.
    for (let i = 0; i < 7; i++) {
      await vote({ username: i % 2 ? 'bob' : 'alice', vote: i % 3 ? 'up' : 'down', timestamp: `2026-03-15T20:1${i}:00.000Z` })
    }
    for (let i = 0; i < 3; i++) await vote({ username: 'carol', vote: 'up', timestamp: `2026-03-15T21:0${i}:00.000Z` })

    const all = await app.inject({ url: '/api/votes' })
    t.equal(all.statusCode, 200)
    t.same(all.json().pagination, { page: 1, limit: 50, total: 10, total_pages: 1 })
    t.same(all.json().votes[0], {
      id: 10, session_id: session.id, game_id: 3, game_title: 'Drawful', username: 'carol', vote_type: 'up', timestamp: '2026-03-15T21:02:00.000Z'
    })
    t.same(all.json().votes.map((v: { id: number }) => v.id), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1])

    const page2 = await app.inject({ url: '/api/votes?limit=3&page=2' })
    t.same(page2.json().pagination, { page: 2, limit: 3, total: 10, total_pages: 4 })
    t.same(page2.json().votes.map((v: { id: number }) => v.id), [7, 6, 5])
    const past = await app.inject({ url: '/api/votes?limit=3&page=9' })
    t.same(past.json(), { votes: [], pagination: { page: 9, limit: 3, total: 10, total_pages: 4 } })

    const byGame = await app.inject({ url: '/api/votes?game_id=1&vote_type=down' })
    t.same(byGame.json().votes.map((v: { id: number }) => v.id), [7, 4, 1])
    t.same(byGame.json().pagination, { page: 1, limit: 50, total: 3, total_pages: 1 })
    const byUser = await app.inject({ url: `/api/votes?username=bob&session_id=${session.id}` })
    t.same(byUser.json().votes.map((v: { username: string }) => v.username), ['bob', 'bob', 'bob'])
    t.equal(byUser.json().pagination.total, 3)
    const none = await app.inject({ url: '/api/votes?session_id=999' })
    t.same(none.json(), { votes: [], pagination: { page: 1, limit: 50, total: 0, total_pages: 0 } })
  })

  t.test('GET /api/votes refuses bad query values with 400', async (t) => {
    const cases: Array<[string, string]> = [
      ['limit=101', 'limit must be <= 100'],
      ['limit=0', 'limit must be >= 1'],
      ['page=0', 'page must be >= 1'],
      ['page=abc', 'page must be integer'],
      ['session_id=-1', 'session_id must be >= 1'],
      ['vote_type=meh', 'vote_type must be "up" or "down"']
    ]
    for (const [query, error] of cases) {
      const res = await app.inject({ url: `/api/votes?${query}` })
      t.equal(res.statusCode, 400, query)
      t.same(res.json(), { error }, query)
    }
  })

  t.test('GET /api/sessions/:id/votes aggregates by game, best net score first', async (t) => {
    const { session } = await gameNight()
    const other = await insertSession(app, { is_active: 0 })
    await insertSessionGame(app, other.id, 5, '2026-03-14T20:00:00.000Z')
    await app.db.insertInto('live_votes').values([
      { session_id: other.id, game_id: 5, username: 'x', vote_type: 'up', timestamp: new Date('2026-03-14T20:01:00.000Z') }
    ]).execute()
    const empty = await app.inject({ url: `/api/sessions/${session.id}/votes` })
    t.equal(empty.statusCode, 200)
    t.same(empty.json(), { session_id: session.id, votes: [] })

    const cast = [['a', 'up', '20:01'], ['b', 'down', '20:02'], ['c', 'down', '20:03'], ['a', 'up', '20:31'], ['b', 'up', '20:32'],
      ['a', 'up', '21:01']]
    for (const [username, v, time] of cast) {
      const res = await vote({ username, vote: v, timestamp: `2026-03-15T${time}:00.000Z` })
      t.equal(res.statusCode, 200)
    }
    const res = await app.inject({ url: `/api/sessions/${session.id}/votes` })
    t.same(res.json(), {
      session_id: session.id,
      votes: [
        { game_id: 2, title: 'Fibbage XL', pack_name: 'The Jackbox Party Pack', upvotes: 2, downvotes: 0, net_score: 2, total_votes: 2 },
        { game_id: 3, title: 'Drawful', pack_name: 'The Jackbox Party Pack', upvotes: 1, downvotes: 0, net_score: 1, total_votes: 1 },
        { game_id: 1, title: "You Don't Know Jack 2015", pack_name: 'The Jackbox Party Pack', upvotes: 1, downvotes: 2, net_score: -1, total_votes: 3 }
      ]
    })
  })

  t.test('GET /api/sessions/:id/votes: 404 Session not found, 400 for a bad id', async (t) => {
    const missing = await app.inject({ url: '/api/sessions/42/votes' })
    t.equal(missing.statusCode, 404)
    t.same(missing.json(), { error: 'Session not found' })
    for (const id of ['abc', '0', '-3', '99999999999']) {
      const res = await app.inject({ url: `/api/sessions/${id}/votes` })
      t.equal(res.statusCode, 400, id)
      t.type(res.json().error, 'string')
    }
  })
})
