import t from 'tap'
import { build, resetDb, authHeaders } from '../helper.ts'
import { okCaller } from '../fixtures/http.ts'
import { sql } from 'kysely'
import { insertEvent } from '../../db/events.ts'
import { pruneEventHistory } from '../../plugins/event-log.ts'

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

t.test('GET /api/sessions/{id}/events', async (t) => {
  const app = await build(t)
  const headers = authHeaders(app)
  t.beforeEach(() => resetDb(app))

  const http = okCaller(t, app, headers)
  const get = (url: string) => app.inject({ url })

  /** A whole game night through the API; returns the session. */
  async function gameNight () {
    const session = await http('POST', '/api/sessions', { notes: 'Friday' })
    const first = await http('POST', `/api/sessions/${session.id}/games`, { game_id: 1 })
    await http('PATCH', `/api/sessions/${session.id}/games/${first.id}/player-count`, { player_count: 6 })
    const at = (ms: number) => new Date(Date.parse(first.played_at) + ms).toISOString()
    await http('POST', '/api/votes/live', { username: 'a', vote: 'up', timestamp: at(1000) })
    await http('POST', '/api/votes/live', { username: 'b', vote: 'down', timestamp: at(2000) })
    await http('PATCH', `/api/sessions/${session.id}/games/${first.id}/status`, { status: 'skipped' })
    await http('POST', `/api/sessions/${session.id}/games`, { game_id: 2 })
    await http('POST', `/api/sessions/${session.id}/close`, { notes: 'Great' })
    return session
  }

  t.test('pages through a whole session in order, session.started first and session.ended last', async (t) => {
    const session = await gameNight()
    const other = await http('POST', '/api/sessions')
    await insertEvent(app.db, 'lobby.updated', other.id, { lobbyState: 'WaitingForMore' })

    const whole = await get(`/api/sessions/${session.id}/events?limit=1000`)
    t.equal(whole.statusCode, 200)
    const { events, next } = whole.json()
    t.equal(next, null, 'one page holds it all')
    t.same(events.map((e: { type: string }) => e.type), ['session.started', 'game.added', 'player-count.updated',
      'vote.received', 'vote.received', 'game.added', 'session.ended'], 'only this session, only the contract\'s events')
    for (const event of events) {
      t.same(Object.keys(event).sort(), ['data', 'id', 'timestamp', 'type'])
      t.match(event.timestamp, ISO)
    }
    t.same(events[0].data, { session: { ...session, games_played: 0 } }, 'session.started as it was announced')
    t.ok(events.every((e: { id: number }, i: number) => i === 0 || e.id > events[i - 1].id), 'ids increase')

    const pages: unknown[][] = []
    let since = 0
    for (;;) {
      const res = await get(`/api/sessions/${session.id}/events?since=${since}&limit=3`)
      const page = res.json()
      pages.push(page.events)
      if (page.next === null) break
      t.equal(page.events.length, 3)
      t.equal(page.next, page.events[2].id, 'next is the last id of the page')
      since = page.next
    }
    t.same(pages.map((p) => p.length), [3, 3, 1])
    t.same(pages.flat(), events, 'the pages put together are the whole history')

    const defaults = (await get(`/api/sessions/${session.id}/events`)).json()
    t.same(defaults, { events, next: null }, 'since 0 and limit 100 by default')
    t.same((await get(`/api/sessions/${session.id}/events?since=${events[6].id}`)).json(), { events: [], next: null }, 'nothing after the last')
  })

  t.test('an unknown session is a 404, bad paging a 400', async (t) => {
    const missing = await get('/api/sessions/999/events')
    t.equal(missing.statusCode, 404)
    t.same(missing.json(), { error: 'Session not found' })
    const session = await http('POST', '/api/sessions')
    for (const query of ['limit=0', 'limit=1001', 'since=-1', 'since=abc', 'limit=2.5']) {
      const res = await get(`/api/sessions/${session.id}/events?${query}`)
      t.equal(res.statusCode, 400, query)
      t.match(res.json(), { error: /^querystring\/(limit|since) |^(limit|since) / }, query)
    }
    t.same((await get(`/api/sessions/${session.id}/events?limit=1000`)).json().events.length, 1)
  })

  t.test('history older than the retention is pruned; the rest stays', async (t) => {
    const session = await http('POST', '/api/sessions')
    await http('POST', `/api/sessions/${session.id}/games`, { game_id: 1 })
    const [started] = (await get(`/api/sessions/${session.id}/events`)).json().events
    await sql`update events set created_at = now() - interval '31 days' where id = ${started.id}`.execute(app.db)
    t.equal(await pruneEventHistory(app.db, 30), 1)
    t.same((await get(`/api/sessions/${session.id}/events`)).json().events.map((e: { type: string }) => e.type), ['game.added'])
  })
})
