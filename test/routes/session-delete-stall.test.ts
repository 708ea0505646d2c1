import { sql } from 'kysely'
import t from 'tap'
import { authHeaders, build } from '../helper.ts'
import { insertSession, insertSessionGame } from '../fixtures/votes.ts'
import { healthBound, idleHealth, probeWhile } from '../fixtures/health-probes.ts'

// Deleting a closed session deletes its rows in bounded batches: health answers within a bound while a session of
// 250,000 chat messages is deleted. As one statement (the foreign keys' cascades), it held the embedded database (one
// connection, on the main thread) for as long as the whole deletion took: no probe answered in between. The probes'
// slowest is compared with the deletion's own time (which a loaded machine stretches as much): cut in short steps, no
// wait covers more than a small part of it. From the first step on, the session reads as gone.
const ROWS = 250_000

// One app for the file (a fresh embedded database takes seconds to open).
const app = await build(t)
const base = await app.listen({ port: 0, host: '127.0.0.1' })

t.test('health answers while a session with many chat messages is deleted', { timeout: 240_000 }, async (t) => {
  const session = await insertSession(app, { is_active: 0 })
  const sessionGame = await insertSessionGame(app, session.id, 1, '2026-03-15T20:00:00.000Z')
  // One statement seeds the log (the chat import's own path would take most of the test's time).
  await sql`insert into chat_logs (session_id, session_game_id, username, message, timestamp, message_hash)
    select ${session.id}, ${sessionGame.id}, 'viewer' || (i % 40), 'message ' || i, timestamptz '2026-03-15 20:00:00+00' + i * interval '10 ms', md5(i::text)
    from generate_series(1, ${ROWS}) i`.execute(app.db)
  await sql`insert into live_votes (session_id, session_game_id, game_id, username, vote_type, timestamp)
    select ${session.id}, ${sessionGame.id}, 1, 'viewer' || i, 'up', timestamptz '2026-03-15 20:00:00+00' + i * interval '1 s'
    from generate_series(1, 5000) i`.execute(app.db)
  // A second night, left alone.
  const other = await insertSession(app, { is_active: 0 })
  await insertSessionGame(app, other.id, 2, '2026-03-16T20:00:00.000Z')
  await sql`insert into chat_logs (session_id, username, message, timestamp, message_hash)
    values (${other.id}, 'viewer', 'hi', now(), 'h')`.execute(app.db)
  const count = async (table: string, sessionId: number) =>
    Number((await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where session_id = ${sessionId}`.execute(app.db)).rows[0].n)

  const idle = await idleHealth(base)
  const bound = healthBound(idle)
  // What a reader sees of the session meanwhile: there, then gone for good.
  const seen: number[] = []
  let took = 0
  const { result: res, probes } = await probeWhile(base, async () => {
    const started = performance.now()
    const deleting = fetch(`${base}/api/sessions/${session.id}`, { method: 'DELETE', headers: authHeaders(app) })
    const state = { done: false }
    const reading = (async () => {
      while (!state.done) {
        const status = (await fetch(`${base}/api/sessions/${session.id}`)).status
        if (seen[seen.length - 1] !== status) seen.push(status)
      }
    })()
    const res = await deleting.finally(() => { state.done = true })
    await reading
    took = performance.now() - started
    return { status: res.status, body: await res.json() }
  })
  t.same(res, { status: 200, body: { message: 'Session deleted successfully', sessionId: session.id } })
  t.ok(['200', '404', '200,404'].includes(seen.join()), `the session reads as there, then gone, never back: ${seen.join(' → ')}`)
  t.same([await count('chat_logs', session.id), await count('live_votes', session.id), await count('session_games', session.id)], [0, 0, 0], 'its rows are gone')
  t.equal((await app.inject({ url: `/api/sessions/${session.id}` })).statusCode, 404)
  t.same([await count('chat_logs', other.id), await count('session_games', other.id)], [1, 1], 'the other session is untouched')
  t.ok(probes.count >= 3, `${probes.count} health probes while it ran`)
  t.equal(probes.failed, 0, 'every probe answered 200')
  t.ok(probes.slowest <= bound, `slowest health probe ${probes.slowest.toFixed(0)} ms (bound ${bound} ms, idle ${idle.toFixed(0)} ms)`)
  t.ok(probes.slowest <= took / 4, `slowest health probe ${probes.slowest.toFixed(0)} ms, a quarter of the deletion's ${took.toFixed(0)} ms at most`)
})

t.test('a deletion under way hides the session; one whose process died is finished by the next DELETE', async (t) => {
  const auth = authHeaders(app)
  const del = (id: number) => app.inject({ method: 'DELETE', url: `/api/sessions/${id}`, headers: auth })
  const session = await insertSession(app, { is_active: 0 })
  await insertSessionGame(app, session.id, 1, '2026-03-15T20:00:00.000Z')
  await sql`insert into chat_logs (session_id, username, message, timestamp, message_hash)
    select ${session.id}, 'viewer', 'message ' || i, now(), md5(i::text) from generate_series(1, 10) i`.execute(app.db)

  // Marked by a deletion under way (in another request or process): gone for readers, and a second DELETE is a 404.
  await sql`update sessions set deleting_at = now() where id = ${session.id}`.execute(app.db)
  t.equal((await app.inject({ url: `/api/sessions/${session.id}` })).statusCode, 404)
  t.notOk((await app.inject({ url: '/api/sessions' })).json().some((s: { id: number }) => s.id === session.id), 'not listed')
  t.equal((await app.inject({ url: `/api/sessions/${session.id}/export?format=json`, headers: auth })).statusCode, 404, 'not exported')
  t.same((await del(session.id)).json(), { error: 'Session not found' })

  // Its process died a while ago, half-way: the next DELETE takes it over and finishes it.
  await sql`update sessions set deleting_at = now() - interval '2 minutes' where id = ${session.id}`.execute(app.db)
  const res = await del(session.id)
  t.equal(res.statusCode, 200)
  t.same(res.json(), { message: 'Session deleted successfully', sessionId: session.id })
  t.same((await sql`select id from sessions where id = ${session.id}`.execute(app.db)).rows, [])
  t.same((await sql`select id from chat_logs where session_id = ${session.id}`.execute(app.db)).rows, [])
})
