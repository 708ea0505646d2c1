import { spawn } from 'node:child_process'
import { once } from 'node:events'
import pg from 'pg'
import { processCpu, startPostgres } from './lib/postgres.ts'
import { autocannon } from './lib/autocannon.ts'
import { freePort, median, startService } from './lib/server.ts'

// 50 concurrent clients post live votes for 10 s to the real service on PostgreSQL 15; beside it, in the same run,
// a baseline server (bench/live-votes-baseline.ts) that only inserts a row and bumps a counter in a transaction.
// Every vote has its own username and timestamp, so none is a one-second duplicate (409).

const CONNECTIONS = 50
const DURATION = Number(process.env.DURATION ?? 10)
// Rounds alternate service and baseline, so a noisy neighbour hurts both alike; the figures are medians.
const ROUNDS = Number(process.env.ROUNDS ?? 3)
const PLAYED_AT = Date.parse('2026-03-15T20:00:00.000Z')

// One counter across rounds: every vote ever sent has its own username and millisecond.
let n = 0
function load (url: string, path: string, headers: Record<string, string>) {
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [{
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json', ...headers },
      setupRequest: (req) => {
        n++
        return {
          ...req,
          body: JSON.stringify({ username: `viewer${n}`, vote: n % 4 ? 'up' : 'down', timestamp: new Date(PLAYED_AT + 60_000 + n).toISOString() })
        }
      }
    }]
  })
}

async function startBaseline (databaseUrl: string) {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./live-votes-baseline.ts', import.meta.url).pathname], {
    env: { ...process.env, PORT: String(port), DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`baseline exited with ${child.exitCode}`)
    try { if ((await fetch(`${url}/health`)).ok) break } catch {}
    if (i > 300) throw new Error('baseline did not start')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { url, pid: child.pid!, async stop () { child.kill('SIGTERM'); await once(child, 'exit') } }
}

interface Round { rate: number, p99: number, cpuMsPerVote: number, pgCpuMsPerVote: number, non2xx: number }

async function measure (url: string, path: string, headers: Record<string, string>, pid: number): Promise<Round> {
  const cpu = processCpu(pid).seconds
  const pgCpu = postgres.cpuSeconds()
  const r = await load(url, path, headers)
  if (r.errors || r.timeouts) throw new Error(`${url}: ${r.errors} errors, ${r.timeouts} timeouts`)
  return {
    rate: r.requests.average,
    p99: r.latency.p99,
    cpuMsPerVote: (processCpu(pid).seconds - cpu) * 1000 / r.requests.total,
    pgCpuMsPerVote: (postgres.cpuSeconds() - pgCpu) * 1000 / r.requests.total,
    non2xx: r.non2xx
  }
}

const report = (name: string, rounds: Round[]) =>
  `${name}: ${median(rounds.map((r) => r.rate)).toFixed(0)} votes/s, p99 ${median(rounds.map((r) => r.p99))} ms, ` +
  `${median(rounds.map((r) => r.cpuMsPerVote)).toFixed(2)} ms of server CPU and ` +
  `${median(rounds.map((r) => r.pgCpuMsPerVote)).toFixed(2)} ms of PostgreSQL CPU per vote (rounds: ${rounds.map((r) => r.rate.toFixed(0)).join(', ')} votes/s)`

const postgres = startPostgres()
try {
  const serviceDb = await postgres.createDatabase('live_votes')
  const baselineDb = await postgres.createDatabase('live_votes_baseline')
  const service = await startService({ DATABASE_URL: serviceDb })
  const baseline = await startBaseline(baselineDb)
  const client = new pg.Client({ connectionString: serviceDb })
  await client.connect()
  try {
    const { rows: [session] } = await client.query<{ id: number }>('insert into sessions (notes) values ($1) returning id', ['bench'])
    await client.query('insert into session_games (session_id, game_id, status, played_at) values ($1, 1, $2, $3)', [session.id, 'playing', new Date(PLAYED_AT)])

    // A short warm-up of each server, so neither pays for JIT and opening pool connections in the measured run.
    await autocannon({ url: service.url, connections: 10, duration: 1, requests: [{ method: 'GET', path: '/api/health' }] })
    await autocannon({ url: baseline.url, connections: 10, duration: 1, requests: [{ method: 'GET', path: '/health' }] })

    const svc: Round[] = []
    const base: Round[] = []
    for (let round = 0; round < ROUNDS; round++) {
      svc.push(await measure(service.url, '/api/votes/live', { authorization: `Bearer ${service.token}` }, service.pid))
      base.push(await measure(baseline.url, '/vote', {}, baseline.pid))
    }
    const { rows: [counted] } = await client.query<{ votes: number, up: number, down: number }>(
      'select (select count(*)::int from live_votes) as votes, upvotes as up, downvotes as down from games where id = 1')

    console.log(`${CONNECTIONS} connections, ${DURATION} s per round, ${ROUNDS} rounds each, medians:`)
    console.log(report('service  POST /api/votes/live', svc))
    console.log(report('baseline insert + counter     ', base))
    console.log(`stored ${counted.votes} live votes; game counters ${counted.up} up + ${counted.down} down = ${counted.up + counted.down}`)
    const ratio = median(svc.map((r) => r.rate)) / median(base.map((r) => r.rate))
    console.log(`throughput ratio service/baseline: ${ratio.toFixed(2)} (target >= 0.5: ${ratio >= 0.5 ? 'met' : 'NOT met'})`)
    if (svc.some((r) => r.non2xx) || counted.votes !== counted.up + counted.down) process.exitCode = 1
  } finally {
    await client.end()
    await service.stop()
    await baseline.stop()
  }
} finally {
  postgres.stop()
}
