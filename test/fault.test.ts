import t from 'tap'
import pg from 'pg'
import { ownPostgres, ResumingClient, webhookReceiver } from './fixtures/fault.ts'
import { PROCESS_ADMIN_KEY, replicasSkip, startServer, type ServerProcess } from './server-process.ts'
import { EVENT_TYPES, WEBHOOK_EVENTS } from '../schemas/events.ts'

// Faults on the spine: three real service processes on one PostgreSQL server of the test's own, a stream of ~300
// mixed writes (sessions, games, live votes, player counts) spread over them while random processes are SIGKILLed and
// started again, and one restart of PostgreSQL itself. Then every committed event reached the webhook receiver under
// one delivery id, a live client that resumes after every drop saw every committed event exactly once, and no answer
// was a 5xx other than a 503 during the database outage.
const SESSIONS = 6
const GAMES = 4
const VOTES = 10
const COUNTS = 2
const KILLS = 3
// After PostgreSQL is back, the pools' dead connections may still fail a request or two: a 503 then is the outage's.
const OUTAGE_GRACE_MS = 10_000

t.setTimeout(300_000) // six boots of the service: minutes on a 2-core machine busy with other work

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const until = async (test: () => boolean) => { while (!test()) await sleep(10) }

t.test('SIGKILLs and a PostgreSQL restart during a stream of writes lose, repeat and 500 nothing', { skip: replicasSkip() }, async (t) => {
  const postgres = await ownPostgres(t)
  const receiver = await webhookReceiver(t)
  const env = { DATABASE_URL: postgres.url, WEBHOOK_ALLOW_LOOPBACK: 'true', LOG_LEVEL: 'warn' }
  const servers: Array<ServerProcess | undefined> = [await startServer(t, env)]
  servers.push(...await Promise.all([startServer(t, env), startServer(t, env)]))
  const alive = () => servers.filter((s): s is ServerProcess => s !== undefined)
  const pick = () => { const up = alive(); return up[Math.floor(Math.random() * up.length)]?.url }

  const answers: Array<{ at: number, status: number, what: string }> = []
  let writes = 0
  async function call (method: string, path: string, body?: unknown): Promise<{ status: number, body: any }> {
    const url = pick()
    if (!url) return { status: 0, body: undefined }
    try {
      const res = await fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000)
      })
      const text = await res.text()
      answers.push({ at: Date.now(), status: res.status, what: `${method} ${path}: ${text.slice(0, 200)}` })
      return { status: res.status, body: text ? JSON.parse(text) : undefined }
    } catch {
      return { status: 0, body: undefined } // the process died under the request, or the request timed out
    }
  }
  /** A write sent until it gets an answer that is not a dead process's or the outage's (503). */
  async function write (method: string, path: string, body?: unknown) {
    writes++
    for (let tries = 0; ; tries++) {
      const answer = await call(method, path, body)
      if (answer.status !== 0 && answer.status !== 503) return answer
      if (tries === 200) throw new Error(`${method} ${path}: no answer after ${tries} tries`)
      await sleep(100)
    }
  }

  const login = await fetch(`${servers[0]!.url}/api/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: PROCESS_ADMIN_KEY })
  })
  t.equal(login.status, 200, 'logged in')
  const { token } = await login.json() as { token: string }
  const hook = await write('POST', '/api/webhooks', { name: 'Fault receiver', url: receiver.url, events: WEBHOOK_EVENTS })
  t.equal(hook.status, 201, 'webhook created')

  const client = new ResumingClient(pick, token)
  client.start()
  t.teardown(() => client.stop())

  // The writer: sessions one after another, each with its games, and per game a burst of votes and counts at once.
  // A write whose process died under it is sent again (to another process): it may then have been applied twice, or
  // answer 400/409 (an active session already exists, a repeated vote), as it would for any client.
  async function stream () {
    for (let s = 0; s < SESSIONS; s++) {
      const created = await write('POST', '/api/sessions', { notes: `fault ${s}` })
      const sessionId = created.status === 201 ? created.body.id : created.body?.activeSessionId
      if (!sessionId) throw new Error(`session ${s}: ${created.status} ${JSON.stringify(created.body)}`)
      client.know(sessionId)
      for (let g = 0; g < GAMES; g++) {
        await until(() => writes < faultAt) // the fault due by now (it struck mid-burst) is done first
        const game = await write('POST', `/api/sessions/${sessionId}/games`, { game_id: 1 + ((s * GAMES + g) % 40) })
        if (game.status !== 201) throw new Error(`add game: ${game.status} ${JSON.stringify(game.body)}`)
        await Promise.all([
          ...Array.from({ length: VOTES }, (_, v) => write('POST', '/api/votes/live',
            { username: `voter${s}-${g}-${v}`, vote: v % 3 ? 'up' : 'down', timestamp: new Date().toISOString() })),
          ...Array.from({ length: COUNTS }, (_, c) => write('PATCH', `/api/sessions/${sessionId}/games/${game.body.id}/player-count`,
            { player_count: 3 + c }))
        ])
      }
      await write('POST', `/api/sessions/${sessionId}/close`, {})
    }
  }

  // The faults, one at a time while the stream runs: SIGKILL a random process and start another in its place (it
  // must come up before the next fault), and once, halfway, stop PostgreSQL for two seconds.
  const total = SESSIONS * (2 + GAMES * (1 + VOTES + COUNTS))
  const outage = { from: 0, to: 0 }
  let kills = 0
  let streaming = true
  let faultAt = Infinity
  async function faults () {
    const steps = [...Array.from({ length: KILLS }, () => 'kill'), 'outage']
    steps.splice(2, 0, steps.pop()!)
    const at = (i: number) => i < steps.length ? Math.round(((i + 1) * total) / (steps.length + 1)) : Infinity
    faultAt = at(0)
    for (const [i, step] of steps.entries()) {
      await until(() => !streaming || writes >= faultAt)
      if (!streaming) return
      if (step === 'outage') {
        faultAt = at(i + 1) // writes go on through the outage (and retry its 503s)
        outage.from = Date.now()
        await postgres.stop()
        await sleep(2000)
        await postgres.start()
        outage.to = Date.now()
        continue
      }
      // The first kill takes the live client's process, so it has to resume; the others strike at random.
      const slot = kills === 0 ? Math.max(0, servers.findIndex((s) => s?.url === client.url)) : Math.floor(Math.random() * servers.length)
      servers[slot]!.kill('SIGKILL')
      await servers[slot]!.exited
      servers[slot] = undefined
      kills++
      faultAt = at(i + 1) // the stream goes on while the process boots again, up to where the next fault is due
      servers[slot] = await startServer(t, env)
    }
    faultAt = Infinity
  }
  const started = Date.now()
  // Both settle before anything is asserted or torn down: a fault still running (PostgreSQL being started again)
  // after a failed stream would outlive the test.
  const settled = await Promise.allSettled([stream().finally(() => { streaming = false }), faults().finally(() => { faultAt = Infinity })])
  for (const result of settled) if (result.status === 'rejected') throw result.reason
  t.comment(`${writes} writes in ${Date.now() - started} ms with ${kills} SIGKILLs and a ${outage.to - outage.from} ms outage; the live client reconnected ${client.reconnects} times`)
  t.equal(kills, KILLS, 'every SIGKILL happened during the stream')
  t.ok(outage.to > 0, 'the database restart happened during the stream')
  t.ok(client.reconnects > 0, 'the live client lost its process and resumed on another')

  const db = new pg.Client({ connectionString: postgres.url })
  await db.connect()
  t.teardown(() => db.end())

  // A delivery whose process was SIGKILLed mid-attempt waits out its 60 s claim before another process sends it
  // again. The receiver answers at once, so a claim taken more than 5 s ago is a dead process's: end it now.
  const deadline = Date.now() + 40_000
  for (;;) {
    await db.query(`update webhook_deliveries set claimed_until = now()
      where status = 'pending' and claimed_until between now() and now() + interval '55 seconds'`)
    const { rows: [{ pending }] } = await db.query<{ pending: number }>("select count(*)::int as pending from webhook_deliveries where status = 'pending'")
    const { rows: [{ unseen }] } = await db.query<{ unseen: number }>(
      'select count(*)::int as unseen from events where session_id is not null and type = any($1) and not (id = any($2))',
      [EVENT_TYPES, [...client.counts.keys()]])
    if ((pending === 0 && unseen === 0) || Date.now() > deadline) break
    await sleep(250)
  }
  client.stop()

  const { rows: events } = await db.query<{ id: string, type: string }>(
    'select id, type from events where session_id is not null and type = any($1) order by id', [EVENT_TYPES])
  t.ok(events.length > total * 0.9, `${events.length} events committed`)

  // Webhooks: one delivery row per event, each received under its own id, any repeat being the same id and body.
  const { rows: deliveries } = await db.query<{ id: string, event_id: string, event: string, status: string }>(
    'select id, event_id, event, status from webhook_deliveries')
  const byEvent = new Map(deliveries.map((d) => [d.event_id, d]))
  const webhookEvents = events.filter((e) => (WEBHOOK_EVENTS as readonly string[]).includes(e.type))
  t.equal(deliveries.length, webhookEvents.length, 'one delivery per webhook event')
  t.same(webhookEvents.filter((e) => byEvent.get(e.id)?.event !== e.type).map((e) => e.id), [], 'every webhook event has its delivery')
  t.same(deliveries.filter((d) => d.status !== 'succeeded'), [], 'every delivery succeeded')
  const bodies = new Map<string, Set<string>>()
  for (const r of receiver.received) bodies.set(r.id, (bodies.get(r.id) ?? new Set()).add(`${r.event} ${r.body}`))
  t.same(deliveries.filter((d) => !bodies.has(d.id)).map((d) => `${d.event} ${d.event_id}`), [], 'the receiver got every delivery')
  t.same([...bodies.keys()].filter((id) => !deliveries.some((d) => d.id === id)), [], 'and no delivery id of no event')
  t.same([...bodies].filter(([, b]) => b.size > 1), [], 'a repeated delivery id carried the same event and body')
  t.comment(`${receiver.received.length} webhook requests for ${deliveries.length} deliveries`)

  // The resuming live client: every committed event once.
  t.same(events.filter((e) => client.counts.get(Number(e.id)) !== 1).map((e) => `${e.type} ${e.id} seen ${client.counts.get(Number(e.id)) ?? 0}×`), [],
    'the live client saw every committed event exactly once')
  t.same(client.errors.filter((m) => m !== 'Database unavailable'), [], 'the live socket reported no error but the outage')

  // HTTP: no 5xx but a 503 during the outage.
  const bad = answers.filter((a) => a.status >= 500 &&
    (a.status !== 503 || a.at < outage.from || a.at > outage.to + OUTAGE_GRACE_MS))
  t.same(bad, [], 'no 5xx answer but 503 during the outage')
  t.ok(answers.some((a) => a.status === 503 && a.at >= outage.from), 'writes were answered 503 during the outage')
})
