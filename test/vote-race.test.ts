import t from 'tap'
import { adminToken, api, pgClient, replicasSkip, startReplicas, type ServerProcess } from './server-process.ts'

// Live votes of one username arriving at once on three real processes sharing one PostgreSQL database: whatever the
// interleaving, each is counted (200) or refused as a duplicate (409), never a 500, and one per window is counted.
const ROUNDS = 12
const VOTES_PER_ROUND = 6
const DUPLICATE = { error: 'Duplicate vote: this username already voted within the last second' }

t.test('same-user votes racing over three processes: only 200 or 409, one counted per window', { skip: replicasSkip() }, async (t) => {
  const { servers, databaseUrl } = await startReplicas(t, 3)
  const db = await pgClient(t, databaseUrl)
  const token = await adminToken(servers[0])
  const post = (server: ServerProcess, path: string, body: unknown) => api(server, path, { method: 'POST', body, token })
  const session = await post(servers[0], '/api/sessions', {})
  t.equal(session.status, 201)
  t.equal((await post(servers[0], `/api/sessions/${session.body.id}/games`, { game_id: 5 })).status, 201)
  const votes = async (username: string) => (await db.query(
    'select count(*)::int as n from live_votes where username = $1', [username])).rows[0].n as number

  t.test('votes waiting on a conflicting insert that then rolls back: one 200, the others 409', async (t) => {
    // The interleaving that deadlocked: a transaction holds an uncommitted vote of the user; the votes sent now each
    // insert their row and wait for it; when it rolls back, each rechecks and finds the others' rows in progress.
    const at = Date.now() + 200_000
    const blocker = await pgClient(t, databaseUrl)
    await blocker.query('begin')
    await blocker.query(`insert into live_votes (session_id, session_game_id, game_id, username, vote_type, timestamp)
      select session_id, id, game_id, 'held', 'up', $1 from session_games limit 1`, [new Date(at)])
    const sent = Promise.all(servers.map((server, i) => post(server, '/api/votes/live',
      { username: 'held', vote: 'up', timestamp: new Date(at + 100 * (i + 1)).toISOString() })))
    // All three are waiting (on the held row or on each other) before it rolls back.
    const deadline = Date.now() + 30_000
    for (;;) {
      const { rows: [{ n }] } = await db.query(`select count(*)::int as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock' and pid <> $1`, [(blocker as unknown as { processID: number }).processID])
      if (n >= servers.length) break
      if (Date.now() > deadline) throw new Error(`only ${n} votes waiting`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await blocker.query('rollback')
    const results = await sent
    t.same(results.map((r) => r.status).sort(), [200, 409, 409], JSON.stringify(results))
    t.equal(await votes('held'), 1, 'one vote stored')
  })

  t.test('many rounds of six votes of one user sent at once over the three', async (t) => {
    const statuses = new Map<number, number>()
    const start = Date.now() + 1000
    for (let round = 0; round < ROUNDS; round++) {
      // Six votes 150 ms apart: every two are less than a second apart, so exactly one of them may count.
      const base = start + round * 5000
      const results = await Promise.all(Array.from({ length: VOTES_PER_ROUND }, (_, i) =>
        post(servers[i % servers.length], '/api/votes/live',
          { username: `racer-${round}`, vote: i % 2 ? 'down' : 'up', timestamp: new Date(base + i * 150).toISOString() })))
      for (const { status } of results) statuses.set(status, (statuses.get(status) ?? 0) + 1)
      const counted = results.filter((r) => r.status === 200)
      const refused = results.filter((r) => r.status === 409)
      if (counted.length !== 1 || refused.length !== VOTES_PER_ROUND - 1) {
        t.fail(`round ${round}: ${JSON.stringify(results.map((r) => [r.status, r.body]))}`)
      }
      for (const r of refused) t.same(r.body, DUPLICATE)
    }
    t.same([...statuses].sort(), [[200, ROUNDS], [409, ROUNDS * (VOTES_PER_ROUND - 1)]], 'only 200 and 409, one 200 a round')
    const { rows } = await db.query('select username, count(*)::int as n from live_votes where username like \'racer-%\' group by username order by username')
    t.same(rows, Array.from({ length: ROUNDS }, (_, round) => ({ username: `racer-${round}`, n: 1 }))
      .sort((x, y) => x.username.localeCompare(y.username)), 'one vote stored per username')
    const events = await db.query('select count(*)::int as n from events where type = \'vote.received\' and data->\'vote\'->>\'username\' like \'racer-%\'')
    t.equal(events.rows[0].n, ROUNDS, 'one vote.received per counted vote')
  })
})
