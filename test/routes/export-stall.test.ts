import { sql } from 'kysely'
import t from 'tap'
import { build, authHeaders } from '../helper.ts'
import { insertSession, insertSessionGame } from '../fixtures/votes.ts'
import { healthBound, idleHealth, probeWhile } from '../fixtures/health-probes.ts'
import { chatLog } from '../fixtures/chat-log.ts'

// A large export streams in short statements: health answers within a bound while an overlay token downloads a
// session of 50,000 chat messages (read at once, as one statement, or paged from the log's start each time, it held
// the embedded database for seconds).
const ROWS = 50_000

// One app for the file (a fresh embedded database takes seconds to open); each test has a past night of its own.
const app = await build(t)
const base = await app.listen({ port: 0, host: '127.0.0.1' })
async function pastNight () {
  const session = await insertSession(app, { is_active: 0 })
  await insertSessionGame(app, session.id, 1, '2026-03-15T20:00:00.000Z')
  return session
}

t.test('health answers while a large session export streams', async (t) => {
  const session = await pastNight()
  // One statement seeds the log (the chat import's own path would take most of the test's time).
  await sql`insert into chat_logs (session_id, username, message, timestamp, message_hash)
    select ${session.id}, 'viewer' || (i % 40), 'message ' || i, timestamptz '2026-03-15 20:00:00+00' + i * interval '10 ms', md5(i::text)
    from generate_series(1, ${ROWS}) i`.execute(app.db)
  const created = await app.inject({ method: 'POST', url: '/api/auth/tokens', headers: authHeaders(app), payload: { name: 'overlay', role: 'overlay' } })
  t.equal(created.statusCode, 201)
  const overlay = { authorization: `Bearer ${created.json().token}` }

  const idle = await idleHealth(base)
  const bound = healthBound(idle)
  for (const format of ['txt', 'json']) {
    const { result: lines, probes } = await probeWhile(base, async () => {
      const res = await fetch(`${base}/api/sessions/${session.id}/export?format=${format}`, { headers: overlay })
      if (res.status !== 200) throw new Error(`export answered ${res.status}: ${await res.text()}`)
      return (await res.text()).split('\n').filter((line) => line.includes('message ')).length
    })
    t.equal(lines, ROWS, `${format}: every message exported`)
    t.ok(probes.count >= 3, `${format}: ${probes.count} health probes while it streamed`)
    t.equal(probes.failed, 0, `${format}: every probe answered 200`)
    t.ok(probes.slowest <= bound, `${format}: slowest health probe ${probes.slowest.toFixed(0)} ms (bound ${bound} ms, idle ${idle.toFixed(0)} ms)`)
  }
})

// A chat log sent at once is written in statements of a few hundred rows with a turn of the event loop between them:
// each batch used to start in the same run of microtasks as the last one ended, so no other request was even read
// until the whole import had run, and a chunk that held many rows made one statement of all of them.
const IMPORTED = 30_000

t.test('health answers while a large chat log is imported', async (t) => {
  const session = await pastNight()
  const body = JSON.stringify({ chatData: chatLog(IMPORTED, Date.parse('2026-03-15T20:00:01.000Z')) })

  const idle = await idleHealth(base)
  const bound = healthBound(idle)
  const { result, probes } = await probeWhile(base, async () => {
    const res = await fetch(`${base}/api/sessions/${session.id}/chat-import`, {
      method: 'POST', headers: { ...authHeaders(app), 'content-type': 'application/json' }, body
    })
    if (res.status !== 200) throw new Error(`chat import answered ${res.status}: ${await res.text()}`)
    return await res.json() as { messagesImported: number, votesProcessed: number }
  })
  t.match(result, { messagesImported: IMPORTED, votesProcessed: IMPORTED / 20 }, 'every message imported, every vote counted')
  t.ok(probes.count >= 3, `${probes.count} health probes while it ran`)
  t.equal(probes.failed, 0, 'every probe answered 200')
  t.ok(probes.slowest <= bound, `slowest health probe ${probes.slowest.toFixed(0)} ms (bound ${bound} ms, idle ${idle.toFixed(0)} ms)`)
})
