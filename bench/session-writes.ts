import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startPostgres } from './lib/postgres.ts'
import { median, percentile, startService, type ServiceProcess } from './lib/server.ts'

// Add-game and status changes before and after the transactional event log, in the same run: "before" is the last
// commit without the log (an in-memory event bus; its checkout is extracted from this repository's history into a
// temp dir), "after" is this working tree, where each write also inserts its event row (and a statement trigger
// notifies) in the same transaction. Each service gets its own database on one throwaway PostgreSQL 15. One client
// sends the writes one after another, so the figures are the latency a host's bot sees; rounds alternate the two.

const BEFORE = process.env.BEFORE_COMMIT ?? 'b76ee44' // the parent of "event log: events table with ids in commit order"
const GAMES = Number(process.env.GAMES ?? 200)
const ROUNDS = Number(process.env.ROUNDS ?? 3)
const repo = new URL('..', import.meta.url).pathname

function checkout (commit: string): { dir: string, remove (): void } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-before-'))
  execFileSync('bash', ['-c', `git -C "${repo}" archive ${commit} | tar -x -C "${dir}"`])
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

async function call (service: ServiceProcess, method: string, path: string, body?: object) {
  const started = performance.now()
  const res = await fetch(service.url + path, {
    method,
    headers: { authorization: `Bearer ${service.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined
  })
  const text = await res.text()
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return { ms: performance.now() - started, json: JSON.parse(text) as Record<string, unknown> }
}

interface Round { add: number[], status: number[] }

// One session night: GAMES adds (each finishing the previous game), and after each add a status change of the new
// game to skipped and back to playing.
async function night (service: ServiceProcess): Promise<Round> {
  const round: Round = { add: [], status: [] }
  const session = (await call(service, 'POST', '/api/sessions', { notes: 'bench' })).json
  for (let i = 0; i < GAMES; i++) {
    const added = await call(service, 'POST', `/api/sessions/${session.id}/games`, { game_id: 1 + (i % 40) })
    round.add.push(added.ms)
    const path = `/api/sessions/${session.id}/games/${added.json.id}/status`
    round.status.push((await call(service, 'PATCH', path, { status: 'skipped' })).ms)
    round.status.push((await call(service, 'PATCH', path, { status: 'playing' })).ms)
  }
  await call(service, 'POST', `/api/sessions/${session.id}/close`, {})
  return round
}

const summary = (rounds: Round[], op: keyof Round) => {
  const all = rounds.flatMap((r) => r[op])
  return { median: median(all), p99: percentile(all, 99), perSecond: all.length / (all.reduce((a, b) => a + b, 0) / 1000) }
}

const before = checkout(BEFORE)
const postgres = startPostgres()
try {
  const beforeService = await startService({ DATABASE_URL: await postgres.createDatabase('writes_before') }, before.dir)
  const afterService = await startService({ DATABASE_URL: await postgres.createDatabase('writes_after') })
  try {
    await night(beforeService) // warm-up: JIT and pool connections
    await night(afterService)
    const rounds: Record<'before' | 'after', Round[]> = { before: [], after: [] }
    for (let i = 0; i < ROUNDS; i++) {
      rounds.before.push(await night(beforeService))
      rounds.after.push(await night(afterService))
    }
    console.log(`${GAMES} add-games and ${GAMES * 2} status changes per round, one client, ${ROUNDS} rounds each;`)
    console.log(`before = ${BEFORE} (in-memory event bus), after = this tree (event row in the same transaction):`)
    for (const op of ['add', 'status'] as const) {
      const b = summary(rounds.before, op)
      const a = summary(rounds.after, op)
      const name = op === 'add' ? 'POST   add game     ' : 'PATCH  status       '
      console.log(`${name} before: median ${b.median.toFixed(2)} ms, p99 ${b.p99.toFixed(2)} ms, ${b.perSecond.toFixed(0)}/s`)
      console.log(`${name} after:  median ${a.median.toFixed(2)} ms, p99 ${a.p99.toFixed(2)} ms, ${a.perSecond.toFixed(0)}/s`)
      console.log(`${name} ratio after/before: median latency ${(a.median / b.median).toFixed(2)}, throughput ${(a.perSecond / b.perSecond).toFixed(2)}`)
    }
  } finally {
    await beforeService.stop()
    await afterService.stop()
  }
} finally {
  postgres.stop()
  before.remove()
}
