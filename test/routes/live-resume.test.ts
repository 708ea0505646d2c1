import t, { type Test } from 'tap'
import { build, resetDb, authHeaders } from '../helper.ts'
import { sql } from 'kysely'
import { publish, until } from '../fixtures/event-log.ts'
import { LiveSocket } from '../fixtures/live-client.ts'
import { okCaller } from '../fixtures/http.ts'

t.test('subscribe with since: the missed events, in order, then live ones', async (t) => {
  const app = await build(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const headers = authHeaders(app)
  t.beforeEach(() => resetDb(app))

  const http = okCaller(t, app, headers)
  const timeline = async (sessionId: number, since = 0) =>
    (await app.inject({ url: `/api/sessions/${sessionId}/events?since=${since}&limit=1000` })).json().events
  /**
   * Holds this process's reader of the log on the first event it reads once `holding` is set (which it then clears),
   * so the events after it are committed but unread, until `release()`; `then` runs on the release, before it reads on.
   */
  function holdReader (t: Test, then?: () => Promise<void>) {
    let open!: () => void
    const opened = new Promise<void>((resolve) => { open = resolve })
    const reader = { holding: false, release: () => open() }
    t.teardown(app.eventLog.subscribe(async () => {
      if (!reader.holding) return
      reader.holding = false
      await opened
      await then?.()
    }))
    return reader
  }
  async function authed () {
    const socket = await LiveSocket.open(t, `ws://127.0.0.1:${port}/api/sessions/live`)
    t.same(await socket.request({ type: 'auth', token: app.jwt.sign({ role: 'admin' }) }), { type: 'auth_success' })
    return socket
  }

  t.test('a client that misses three events gets exactly those three after the ack, then live ones', async (t) => {
    const session = await http('POST', '/api/sessions')
    const first = await authed()
    t.same(await first.request({ type: 'subscribe', sessionId: session.id }), { type: 'subscribed', sessionId: session.id })
    const game = await http('POST', `/api/sessions/${session.id}/games`, { game_id: 1 })
    const seen = await first.next()
    t.match(seen, { type: 'game.added', id: Number })
    await first.close()

    await http('PATCH', `/api/sessions/${session.id}/games/${game.id}/player-count`, { player_count: 5 })
    await http('POST', '/api/votes/live', { username: 'alice', vote: 'up', timestamp: new Date(Date.parse(game.played_at) + 1000).toISOString() })
    await http('POST', `/api/sessions/${session.id}/games`, { game_id: 2 })
    const missed = await timeline(session.id, seen.id as number)
    t.same(missed.map((e: { type: string }) => e.type), ['player-count.updated', 'vote.received', 'game.added'])

    const again = await authed()
    t.same(await again.request({ type: 'subscribe', sessionId: session.id, since: seen.id }), { type: 'subscribed', sessionId: session.id })
    t.same(await again.take(3), missed, 'the three missed events, whole and in order')
    await again.assertNothingPending(t, 'nothing more of the history')

    await http('POST', `/api/sessions/${session.id}/close`)
    const ended = await again.next()
    t.match(ended, { type: 'session.ended', id: Number })
    t.ok((ended.id as number) > missed[2].id, 'the live event comes after the history')
    await again.assertNothingPending(t, 'each event once')
  })

  t.test('since 0 replays the whole session from session.started, and nothing of another session', async (t) => {
    const other = await http('POST', '/api/sessions')
    await http('POST', `/api/sessions/${other.id}/games`, { game_id: 3 })
    await http('POST', `/api/sessions/${other.id}/close`)
    const session = await http('POST', '/api/sessions', { notes: 'Friday' })
    await http('POST', `/api/sessions/${session.id}/games`, { game_id: 1 })
    await http('POST', `/api/sessions/${session.id}/games`, { game_id: 2 })
    const history = await timeline(session.id)
    t.same(history.map((e: { type: string }) => e.type), ['session.started', 'game.added', 'game.added'])

    const socket = await authed()
    t.same(await socket.request({ type: 'subscribe', sessionId: session.id, since: 0 }), { type: 'subscribed', sessionId: session.id })
    t.same(await socket.take(3), history)
    await socket.assertNothingPending(t, 'nothing of the other session')
  })

  t.test('events committed while the history is replayed arrive once each, in id order', async (t) => {
    const session = await http('POST', '/api/sessions')
    for (let n = 0; n < 50; n++) await publish(app, 'lobby.updated', session.id, { n })
    const socket = await authed()
    // Keep recording events while the subscribe replays the history.
    const writing = { on: true }
    const writer = (async () => {
      for (let n = 50; writing.on && n < 500; n++) await publish(app, 'lobby.updated', session.id, { n })
    })()
    t.same(await socket.request({ type: 'subscribe', sessionId: session.id, since: 0 }), { type: 'subscribed', sessionId: session.id })
    const received = await socket.take(60)
    writing.on = false
    await writer
    const all = await timeline(session.id)
    const rest = await socket.take(all.length - 60)
    t.same([...received, ...rest].map((e) => e.id), all.map((e: { id: number }) => e.id), 'every event of the session once, in id order')
    await socket.assertNothingPending(t, 'and nothing twice')
  })

  t.test('an event committed before a client authenticated or subscribed is not sent live, however late this process reads it', async (t) => {
    const reader = holdReader(t)
    const watched = await http('POST', '/api/sessions')
    await app.eventLog.poll()
    reader.holding = true
    await http('POST', `/api/sessions/${watched.id}/games`, { game_id: 1 }) // the reader stops on this one
    await http('POST', `/api/sessions/${watched.id}/close`)
    const early = await http('POST', '/api/sessions') // session.started, committed but not read yet
    await http('POST', `/api/sessions/${early.id}/games`, { game_id: 2 })
    // The reader learns of new events by notification, a moment after their commit (on PostgreSQL, later than here).
    await until('the reader to be held', () => !reader.holding)

    const socket = await authed()
    t.same(await socket.request({ type: 'subscribe', sessionId: early.id }), { type: 'subscribed', sessionId: early.id })
    reader.release()
    await app.eventLog.poll()
    await socket.assertNothingPending(t, 'neither the session.started nor the game.added committed before')
    await http('POST', `/api/sessions/${early.id}/games`, { game_id: 3 })
    t.match(await socket.next(), { type: 'game.added', data: { session: { id: early.id } } }, 'the next live event is the first one sent')
  })

  t.test('each floor holds alone: events committed before the auth, and before the subscribe, are not sent live', async (t) => {
    const reader = holdReader(t)
    const watched = await http('POST', '/api/sessions')
    await app.eventLog.poll()
    reader.holding = true
    await http('POST', `/api/sessions/${watched.id}/games`, { game_id: 1 })
    await until('the reader to be held', () => !reader.holding) // everything from here on is committed but unread
    const before = await authed() // authenticated before the next session starts
    await http('POST', `/api/sessions/${watched.id}/close`)
    const next = await http('POST', '/api/sessions')
    const after = await authed() // authenticated after it started, never subscribed: only its auth floor keeps session.started from it
    await http('POST', `/api/sessions/${next.id}/games`, { game_id: 2 })
    // Subscribed after the game.added: only the subscribe floor keeps it from this client (it was authenticated before).
    t.same(await before.request({ type: 'subscribe', sessionId: next.id }), { type: 'subscribed', sessionId: next.id })
    reader.release()
    await app.eventLog.poll()
    await before.assertNothingPending(t, 'nothing of the session committed before its subscribe')
    await after.assertNothingPending(t, 'not the session.started committed before its auth')
    await http('POST', `/api/sessions/${next.id}/games`, { game_id: 3 })
    t.match(await before.next(), { type: 'game.added', data: { session: { id: next.id } } }, 'the next live event is sent')
  })

  t.test('a read of the log that fails while a client resumes: no event is sent twice once the log reads again', async (t) => {
    // Hold this process's reader on one event, so the next ones are committed but unread when the client resumes.
    // Released, the reader's next read of the log fails (as in a database outage) while the resume waits on it.
    const reader = holdReader(t, async () => { await sql`alter table events rename to events_away`.execute(app.db) })
    const session = await http('POST', '/api/sessions')
    await app.eventLog.poll()
    // Authenticated before the events it will replay are committed, so its auth floor does not hide them.
    const socket = await authed()
    reader.holding = true
    await http('POST', `/api/sessions/${session.id}/games`, { game_id: 1 })
    await until('the reader to be held', () => !reader.holding)
    await http('POST', `/api/sessions/${session.id}/games`, { game_id: 2 }) // committed, unread by the reader
    const history = await timeline(session.id)
    t.equal(history.length, 3)

    // Tell when the resume, its history sent, waits for the reader.
    const { source } = app.liveEvents
    const caughtUp = source.caughtUp
    let waiting!: () => void
    const waited = new Promise<void>((resolve) => { waiting = resolve })
    source.caughtUp = () => { waiting(); return caughtUp.call(source) }
    t.teardown(() => { source.caughtUp = caughtUp })

    t.same(await socket.request({ type: 'subscribe', sessionId: session.id, since: 0 }), { type: 'subscribed', sessionId: session.id })
    t.same(await socket.take(3), history, 'the history')
    await waited
    reader.release()
    await until('the reader\'s read to fail', async () => (await sql<{ n: number }>`select count(*)::int as n from pg_class where relname = 'events_away'`.execute(app.db)).rows[0].n === 1)
    await app.eventLog.poll()
    await sql`alter table events_away rename to events`.execute(app.db)
    await app.eventLog.poll() // the reader now hands on the two events it missed: both were in the history
    await http('POST', `/api/sessions/${session.id}/close`)
    t.match(await socket.next(), { type: 'session.ended' }, 'the next event sent is the new one, not one of the history again')
    await socket.assertNothingPending(t, 'and nothing twice')
  })

  t.test('a bad since is refused', async (t) => {
    const session = await http('POST', '/api/sessions')
    const socket = await authed()
    t.same(await socket.request({ type: 'subscribe', sessionId: session.id, since: -1 }), { type: 'error', message: 'since must be a non-negative integer' })
    t.same(await socket.request({ type: 'subscribe', sessionId: session.id, since: 'x' }), { type: 'error', message: 'since must be a non-negative integer' })
  })
})
