import { spawn } from 'node:child_process'
import { once } from 'node:events'
import pg from 'pg'
import { startPostgres } from './lib/postgres.ts'
import { autocannon, type AutocannonResult } from './lib/autocannon.ts'
import { freePort, startService } from './lib/server.ts'

// A 10,000-game catalog on PostgreSQL 15: 50 concurrent clients call POST /api/pick with a player-count and length
// filter for 10 s on the real service; beside it, in the same run on the same database, a baseline server
// (bench/pick-baseline.ts) that only selects 10 games by id through Kysely.
// Target: at least half the baseline's throughput, at most twice its p99 latency.

const GAMES = 10_000
const CONNECTIONS = 50
const DURATION = Number(process.env.DURATION ?? 10)
const PICK_BODY = JSON.stringify({ playerCount: 6, length: 'medium' })

/** Tops the catalog up to GAMES games with varied, deterministic facts (a small LCG, so every run is alike). */
async function fillCatalog (databaseUrl: string) {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  const { rows: [{ n }] } = await client.query('select count(*)::int as n from games')
  let state = 12345
  const rand = (k: number) => { state = (state * 1103515245 + 12345) % 2147483648; return state % k }
  for (let i = n; i < GAMES;) {
    const values: unknown[] = []
    const tuples: string[] = []
    for (; i < GAMES && tuples.length < 1000; i++) {
      const min = 1 + rand(4)
      const max = min + 1 + rand(9)
      const length = rand(20) === 0 ? null : 5 + rand(36)
      const p = values.length
      tuples.push(`($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}, $${p + 6}, $${p + 7}, $${p + 8}, $${p + 9}, $${p + 10}, $${p + 11})`)
      values.push(`Bench Pack ${i % 200}`, `Bench Game ${i}`, min, max, length, rand(2), rand(2),
        ['Writing', 'Trivia', 'Drawing', 'Bluffing', 'Word'][rand(5)], rand(4) === 0 ? 1 : 0, rand(10) === 0 ? 0 : 1, rand(3) - 1)
    }
    await client.query(`insert into games (pack_name, title, min_players, max_players, length_minutes, has_audience,
      family_friendly, game_type, drawing, enabled, favor_bias) values ${tuples.join(', ')}`, values)
  }
  // As autovacuum would: index-only scans need the visibility map.
  await client.query('vacuum analyze games')
  const { rows: [stats] } = await client.query(`select count(*)::int as total,
    count(*) filter (where enabled = 1 and min_players <= 6 and max_players >= 6 and length_minutes between 16 and 25)::int as pool
    from games`)
  await client.end()
  return stats as { total: number, pool: number }
}

async function startBaseline (databaseUrl: string) {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./pick-baseline.ts', import.meta.url).pathname], {
    env: { ...process.env, PORT: String(port), DATABASE_URL: databaseUrl, MAX_ID: String(GAMES) },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`baseline exited with ${child.exitCode}`)
    try {
      if ((await fetch(`${url}/health`)).ok) break
    } catch {}
    if (i > 300) throw new Error('baseline did not start')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    url,
    async stop () {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  }
}

const load = (url: string, request: { method: string, path: string, headers?: Record<string, string>, body?: string }, duration = DURATION) =>
  autocannon({ url, connections: CONNECTIONS, duration, requests: [request] })

const report = (name: string, r: AutocannonResult) =>
  `${name} ${r.requests.average.toFixed(0).padStart(7)} req/s   p99 ${String(r.latency.p99).padStart(4)} ms   ` +
  `(${r.requests.total} requests, non-2xx ${r.non2xx}, errors ${r.errors + r.timeouts})`

const postgres = startPostgres()
try {
  const databaseUrl = await postgres.createDatabase('pick_bench')
  const service = await startService({ DATABASE_URL: databaseUrl })
  const baseline = await startBaseline(databaseUrl)
  try {
    const catalog = await fillCatalog(databaseUrl)
    console.log(`catalog: ${catalog.total} games; the filter { playerCount: 6, length: 'medium' } matches ${catalog.pool} enabled games`)
    const pickRequest = { method: 'POST', path: '/api/pick', headers: { 'content-type': 'application/json' }, body: PICK_BODY }
    const baselineRequest = { method: 'GET', path: '/games' }
    // Warm both processes (JIT, pool connections, plan cache) before measuring.
    await load(service.url, pickRequest, 2)
    await load(baseline.url, baselineRequest, 2)

    const cpuBefore = service.cpuSeconds()
    const pick = await load(service.url, pickRequest)
    const serviceCpuMs = (service.cpuSeconds() - cpuBefore) * 1000 / Math.max(pick.requests.total, 1)
    const base = await load(baseline.url, baselineRequest)
    // For reference: the service's own floor, one primary-key read through every plugin and hook.
    const cpuBeforeGet = service.cpuSeconds()
    const get = await load(service.url, { method: 'GET', path: '/api/games/5000' })
    const getCpuMs = (service.cpuSeconds() - cpuBeforeGet) * 1000 / Math.max(get.requests.total, 1)
    console.log(report('POST /api/pick (service)       ', pick))
    console.log(report('10 games by id (Kysely baseline)', base))
    console.log(report('GET /api/games/:id (reference)  ', get))
    console.log(`service CPU per request: pick ${serviceCpuMs.toFixed(2)} ms, get by id ${getCpuMs.toFixed(2)} ms`)
    const throughput = pick.requests.average / base.requests.average
    const p99 = pick.latency.p99 / Math.max(base.latency.p99, 1)
    console.log(`throughput ratio pick/baseline: ${throughput.toFixed(2)} (target >= 0.5: ${throughput >= 0.5 ? 'met' : 'NOT met'})`)
    console.log(`p99 ratio pick/baseline:        ${p99.toFixed(2)} (target <= 2: ${p99 <= 2 ? 'met' : 'NOT met'})`)
    if (pick.non2xx || pick.errors || base.non2xx || base.errors) {
      console.log('some requests failed: the figures above are not trustworthy')
      process.exitCode = 1
    }
  } finally {
    await baseline.stop()
    await service.stop()
  }
} finally {
  postgres.stop()
}
