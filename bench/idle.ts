import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { startPostgres } from './lib/postgres.ts'
import { startService, type ServiceProcess } from './lib/server.ts'

// What one idle replica costs its PostgreSQL: the connections it holds and the statements it runs per second while
// nobody uses it, beside a bare pg.Pool holding one connection and doing nothing, in the same run on one throwaway
// PostgreSQL 15. Each gets a database of its own; the server logs every statement (log_statement = all) with its
// database's name, so a window's statements are counted per database from the log, as they run (pg_stat_database's
// counters lag by up to ~10 s per idle backend). Connections are sampled from pg_stat_activity once a second.

const IDLE_MS = Number(process.env.IDLE_MS ?? 20_000)
// After boot: let the pool close what the migrations and the catalog seed opened (pg's idle timeout is 10 s).
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 12_000)

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Idle { seconds: number, connections: number[], listeners: number, statements: Map<string, number> }

const postgres = startPostgres()
const logFile = join(postgres.dir, 'server.log')
const admin = new pg.Client({ connectionString: postgres.url })
await admin.connect()
await admin.query("alter system set log_statement = 'all'")
await admin.query("alter system set log_line_prefix = '%m [%p] db=%d '")
await admin.query('select pg_reload_conf()')

/** Watches one database for IDLE_MS (the sampling itself runs on the `postgres` database, so it is not counted). */
async function watch (database: string): Promise<Idle> {
  const from = statSync(logFile).size
  const connections: number[] = []
  let listeners = 0
  const started = Date.now()
  while (Date.now() - started < IDLE_MS) {
    const { rows } = await admin.query<{ query: string }>(
      "select query from pg_stat_activity where datname = $1 and backend_type = 'client backend'", [database])
    connections.push(rows.length)
    listeners = rows.filter((r) => /^\s*listen\b/i.test(r.query)).length
    await sleep(1000)
  }
  const seconds = (Date.now() - started) / 1000
  const statements = new Map<string, number>()
  const line = new RegExp(`^\\S+ \\S+ \\S+ \\[\\d+\\] db=${database} LOG:  (?:statement|execute [^:]*): (.*)$`)
  for (const text of readFileSync(logFile).subarray(from).toString().split('\n')) {
    const match = line.exec(text)
    if (!match) continue
    const shape = match[1].replace(/\s+/g, ' ').replace(/\b\d+\b/g, 'N').slice(0, 90)
    statements.set(shape, (statements.get(shape) ?? 0) + 1)
  }
  return { seconds, connections, listeners, statements }
}

const perSecond = (idle: Idle) => [...idle.statements.values()].reduce((a, b) => a + b, 0) / idle.seconds
const range = (values: number[]) => `${Math.min(...values)}..${Math.max(...values)}`

let service: ServiceProcess | undefined
try {
  const bareUrl = await postgres.createDatabase('idle_bare')
  const pool = new pg.Pool({ connectionString: bareUrl, max: 10, idleTimeoutMillis: 0 }) // its connection stays open
  await pool.query('select 1')
  const bare = await watch('idle_bare')
  await pool.end()

  service = await startService({ DATABASE_URL: await postgres.createDatabase('idle_service') })
  await sleep(SETTLE_MS)
  const replica = await watch('idle_service')
  await service.stop()

  console.log(`idle for ${(IDLE_MS / 1000).toFixed(0)} s each on one PostgreSQL 15 (statements from log_statement = all; connections from pg_stat_activity, sampled every second)`)
  console.log(`  bare pg.Pool, one connection open (baseline)   connections ${range(bare.connections)}, statements ${perSecond(bare).toFixed(2)}/s`)
  console.log(`  one service replica, ${SETTLE_MS / 1000} s after boot          connections ${range(replica.connections)} ` +
    `(${replica.listeners} of them LISTEN), statements ${perSecond(replica).toFixed(2)}/s`)
  console.log('  the replica\'s statements, most frequent first:')
  for (const [shape, count] of [...replica.statements].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    console.log(`    ${(count / replica.seconds).toFixed(2).padStart(6)}/s  ${shape}`)
  }
} finally {
  await service?.stop()
  await admin.end()
  postgres.stop()
}
