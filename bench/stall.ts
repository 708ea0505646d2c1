import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { startPostgres } from './lib/postgres.ts'
import { percentile, startService, type ServiceProcess } from './lib/server.ts'
import { chatLog } from '../test/fixtures/chat-log.ts'

// Health p99 while each heavy operation runs against the real service (its own process), on the embedded database
// (PGlite: one connection on the main thread, where one long statement stalls every request) and on PostgreSQL 15:
// a chat import of 1,000,000 messages, the TXT export of that session, a 400,000-line catalog CSV import, and one live
// socket flooding `subscribe` (with since: 0, so each would read the log). The baseline is health p99 on the same
// service idle, probed the same way, in the same run. Target: p99 at most 100 ms during every operation.
// STALL_SCALE (default 1) scales the sizes for a quick run, e.g. STALL_SCALE=0.1; STALL_DB=embedded or postgres runs one.

const SCALE = Number(process.env.STALL_SCALE ?? 1)
const MESSAGES = Math.round(1_000_000 * SCALE)
const CSV_LINES = Math.round(400_000 * SCALE)
const SUBSCRIBES = Math.max(100, Math.round(5000 * SCALE))
const IDLE_MS = 5000
const TARGET_MS = 100

interface Probed { count: number, p99: number, max: number }

/** Probes GET /api/health every 10 ms (one at a time) while `work` runs. */
async function probeWhile (url: string, work: () => Promise<unknown>): Promise<Probed> {
  const latencies: number[] = []
  const state = { done: false }
  const prober = (async () => {
    while (!state.done) {
      const started = performance.now()
      const res = await fetch(`${url}/api/health`)
      await res.arrayBuffer()
      if (res.status !== 200) throw new Error(`health answered ${res.status}`)
      latencies.push(performance.now() - started)
      await sleep(10)
    }
  })()
  try {
    await work()
  } finally {
    state.done = true
    await prober
  }
  return { count: latencies.length, p99: percentile(latencies, 99), max: Math.max(...latencies) }
}

async function call (service: ServiceProcess, method: string, path: string, body?: unknown) {
  const res = await fetch(`${service.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${service.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  })
  const text = await res.text()
  if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`)
  return JSON.parse(text) as Record<string, unknown>
}

/** The catalog CSV of bench/csv-import: mostly bad lines, every 20th a new game. */
function catalogCsv (lines: number): string {
  const out = ['pack_name,title,min_players,max_players']
  for (let i = 0; i < lines; i++) out.push(i % 20 === 0 ? `Big,g${i},1,2` : ['x', 'Big,"q"x,1,2', 'Big,b,0,2'][i % 3])
  return JSON.stringify({ csv: out.join('\n'), mode: 'append' })
}

/** One socket: auth, then `n` subscribes in one burst; resolves once each has its answer (subscribed or an error). */
async function subscribeFlood (service: ServiceProcess, sessionId: number, n: number): Promise<string> {
  const socket = new WebSocket(`${service.url.replace('http', 'ws')}/api/sessions/live`)
  const answers: Record<string, number> = {}
  let answered = 0
  let authed: () => void
  let finished: () => void
  const authenticated = new Promise<void>((resolve) => { authed = resolve })
  const all = new Promise<void>((resolve) => { finished = resolve })
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { type: string, message?: string }
    if (message.type === 'auth_success') return authed()
    if (message.type !== 'subscribed' && message.type !== 'error') return
    const key = message.type === 'error' ? `error "${message.message?.slice(0, 30)}…"` : 'subscribed'
    answers[key] = (answers[key] ?? 0) + 1
    if (++answered === n) finished()
  })
  await new Promise((resolve, reject) => { socket.addEventListener('open', resolve); socket.addEventListener('error', reject) })
  socket.send(JSON.stringify({ type: 'auth', token: service.token }))
  await authenticated
  const frame = JSON.stringify({ type: 'subscribe', sessionId, since: 0 })
  for (let i = 0; i < n; i++) socket.send(frame)
  await all
  socket.close()
  return Object.entries(answers).map(([k, v]) => `${v} ${k}`).join(', ')
}

const lines: string[] = []
let failed = 0
const report = (db: string, what: string, probed: Probed, idle?: Probed) => {
  const ok = probed.p99 <= TARGET_MS
  if (idle && !ok) failed++
  const line = `${db.padEnd(10)} ${what.padEnd(44)} health p99 ${probed.p99.toFixed(1).padStart(7)} ms, max ${probed.max.toFixed(0).padStart(5)} ms (${probed.count} probes)` +
    (idle ? `  ${ok ? 'PASS' : 'FAIL'}` : '  (baseline)')
  console.log(line)
  lines.push(line)
}

async function run (db: string, env: Record<string, string>) {
  // A first boot on the embedded database runs initdb: minutes on a loaded machine.
  const service = await startService(env, undefined, 300_000)
  try {
    const idle = await probeWhile(service.url, () => sleep(IDLE_MS))
    report(db, 'idle', idle)

    const session = await call(service, 'POST', '/api/sessions', { notes: 'stall bench' })
    const sessionId = session.id as number
    await call(service, 'POST', `/api/sessions/${sessionId}/games`, { game_id: 1 })
    const start = Date.now() + 1000
    const body = JSON.stringify({ chatData: chatLog(MESSAGES, start) })
    let imported: Record<string, unknown> = {}
    const importing = await probeWhile(service.url, async () => {
      imported = await call(service, 'POST', `/api/sessions/${sessionId}/chat-import`, body)
    })
    if (imported.messagesImported !== MESSAGES) throw new Error(`imported ${JSON.stringify(imported).slice(0, 200)}`)
    report(db, `chat import, ${MESSAGES} messages`, importing, idle)

    let exported = 0
    const exporting = await probeWhile(service.url, async () => {
      const res = await fetch(`${service.url}/api/sessions/${sessionId}/export`, { headers: { authorization: `Bearer ${service.token}` } })
      for await (const chunk of res.body!) exported += (chunk as Uint8Array).length
    })
    report(db, `export of that session (${(exported / 1e6).toFixed(0)} MB TXT)`, exporting, idle)

    let csvResult: Record<string, unknown> = {}
    const csv = catalogCsv(CSV_LINES)
    const csvImport = await probeWhile(service.url, async () => {
      csvResult = await call(service, 'POST', '/api/games/import/csv', csv)
    })
    if (csvResult.imported !== Math.ceil(CSV_LINES / 20)) throw new Error(`CSV import: ${JSON.stringify(csvResult).slice(0, 200)}`)
    report(db, `catalog CSV import, ${CSV_LINES} lines`, csvImport, idle)

    let answers = ''
    const flood = await probeWhile(service.url, async () => { answers = await subscribeFlood(service, sessionId, SUBSCRIBES) })
    report(db, `socket flood, ${SUBSCRIBES} subscribes`, flood, idle)
    console.log(`${''.padEnd(10)} (the flood's answers: ${answers})`)
  } finally {
    await service.stop()
  }
}

const only = process.env.STALL_DB
console.log(`sizes: ${MESSAGES} chat messages, ${CSV_LINES} CSV lines, ${SUBSCRIBES} subscribes (STALL_SCALE=${SCALE}); load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}`)
if (!only || only === 'embedded') {
  const dir = mkdtempSync(join(tmpdir(), 'bench-stall-'))
  try {
    await run('embedded', { DATA_DIR: join(dir, 'data') })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
if (!only || only === 'postgres') {
  const postgres = startPostgres()
  try {
    await run('postgres', { DATABASE_URL: await postgres.createDatabase('stall') })
  } finally {
    postgres.stop()
  }
}
console.log(`load average at the end: ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}`)
console.log(`target (health p99 <= ${TARGET_MS} ms while each operation runs): ${failed ? `NOT met (${failed} FAIL)` : 'met'}`)
process.exitCode = failed ? 1 : 0
