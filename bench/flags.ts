import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { autocannon } from './lib/autocannon.ts'
import { median, startService, START_FLAGS, type ServiceProcess } from './lib/server.ts'
import { unpackDataDir } from '../plugins/data-dir-template.ts'

// What npm start's node flags (the image's CMD has the same) cost in speed on the embedded database: the same
// workloads against services on PGlite in the same run, one with all the flags and one without each of them
// (without --liftoff-only V8 also compiles PGlite's hot WebAssembly with its optimising tier; PGlite is the only
// WebAssembly, so on PostgreSQL that flag has nothing to change). Rounds alternate the services; figures are medians.
//   POST /api/pick and POST /api/votes/live: CONNECTIONS concurrent clients for DURATION s each;
//   session writes: one client adds WRITES games to the open session, each with two status changes;
//   chat import: a log of MESSAGES messages (5% votes) posted to the open session.
//   npm run bench -- flags    (DURATION, ROUNDS, WRITES, MESSAGES change the sizes)
// Each service starts on its own copy of an initialised data directory (the build's template, made if missing).

const DURATION = Number(process.env.DURATION ?? 5)
const ROUNDS = Number(process.env.ROUNDS ?? 3)
const CONNECTIONS = 10
const WRITES = Number(process.env.WRITES ?? 30)
const MESSAGES = Number(process.env.MESSAGES ?? 20_000)
const root = new URL('..', import.meta.url).pathname

interface Round { pick: number, pickP99: number, votes: number, votesP99: number, write: number, importS: number }

async function call (service: ServiceProcess, method: string, path: string, body?: object) {
  const res = await fetch(service.url + path, {
    method,
    headers: { authorization: `Bearer ${service.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined
  })
  const json = await res.json() as Record<string, unknown>
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`)
  return json
}

let voter = 0
async function round (service: ServiceProcess, sessionId: number): Promise<Round> {
  const pick = await autocannon({
    url: service.url,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [{ method: 'POST', path: '/api/pick', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ playerCount: 6 }) }]
  })
  const votes = await autocannon({
    url: service.url,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [{
      method: 'POST',
      path: '/api/votes/live',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${service.token}` },
      setupRequest: (req) => ({ ...req, body: JSON.stringify({ username: `viewer${++voter}`, vote: voter % 4 ? 'up' : 'down', timestamp: new Date().toISOString() }) })
    }]
  })
  for (const r of [pick, votes]) {
    if (r.errors || r.timeouts || r.non2xx) throw new Error(`${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`)
  }
  const started = performance.now()
  for (let i = 0; i < WRITES; i++) {
    const added = await call(service, 'POST', `/api/sessions/${sessionId}/games`, { game_id: 1 + (i % 40) })
    const path = `/api/sessions/${sessionId}/games/${String(added.id)}/status`
    await call(service, 'PATCH', path, { status: 'skipped' })
    await call(service, 'PATCH', path, { status: 'playing' })
  }
  const write = (performance.now() - started) / (WRITES * 3)
  // Messages over the last minute (the game being played since the writes above), each its own user and millisecond.
  const now = Date.now()
  const chatData = Array.from({ length: MESSAGES }, (_, i) => ({
    username: `chatter${++voter}`,
    message: i % 20 === 0 ? (i % 40 ? 'that was great ++' : 'not this one --') : `message ${i}`,
    timestamp: new Date(now - 60_000 + Math.floor((i * 60_000) / MESSAGES)).toISOString()
  }))
  const importStarted = performance.now()
  const imported = await call(service, 'POST', `/api/sessions/${sessionId}/chat-import`, { chatData })
  if (imported.messagesImported !== MESSAGES) throw new Error(`imported ${String(imported.messagesImported)}`)
  return {
    pick: pick.requests.average,
    pickP99: pick.latency.p99,
    votes: votes.requests.average,
    votesP99: votes.latency.p99,
    write,
    importS: (performance.now() - importStarted) / 1000
  }
}

const dataRoot = mkdtempSync(join(tmpdir(), 'bench-flags-'))
try {
  let template = join(root, 'dist/db/pglite-template.tar.gz')
  if (!existsSync(template)) {
    template = join(dataRoot, 'template.tar.gz')
    const made = spawnSync(process.execPath, ['--import', 'tsx', 'db/pglite-template.ts', template], { cwd: root, stdio: 'inherit' })
    if (made.status !== 0) throw new Error('db/pglite-template.ts failed')
  }
  const variants = [
    { name: `npm start's flags (${START_FLAGS.join(' ')})`, flags: START_FLAGS },
    ...START_FLAGS.map((flag) => ({ name: `without ${flag}`, flags: START_FLAGS.filter((f) => f !== flag) }))
  ]
  const services: Array<{ name: string, service: ServiceProcess, sessionId: number, rounds: Round[] }> = []
  try {
    for (const { name, flags } of variants) {
      const dir = join(dataRoot, String(services.length))
      await unpackDataDir(template, dir)
      const service = await startService({ DATA_DIR: dir, DATABASE_URL: '' }, root, 300_000, flags)
      const session = await call(service, 'POST', '/api/sessions', { notes: 'bench' })
      await call(service, 'POST', `/api/sessions/${String(session.id)}/games`, { game_id: 1 }) // live votes go to it
      services.push({ name, service, sessionId: Number(session.id), rounds: [] })
    }
    for (const s of services) await round(s.service, s.sessionId) // warm-up: JIT, plan caches
    for (let i = 0; i < ROUNDS; i++) {
      for (const s of services) s.rounds.push(await round(s.service, s.sessionId))
    }
    console.log(`PGlite, ${CONNECTIONS} connections, ${DURATION} s per load, ${WRITES} x 3 writes, ${MESSAGES}-message import; ` +
      `${ROUNDS} rounds each after a warm-up, medians (rounds in brackets):`)
    const m = (s: typeof services[number], key: keyof Round) => median(s.rounds.map((r) => r[key]))
    const each = (s: typeof services[number], key: keyof Round, digits: number) => s.rounds.map((r) => r[key].toFixed(digits)).join(', ')
    for (const s of services) {
      console.log(`${s.name}: pick ${m(s, 'pick').toFixed(0)} req/s (${each(s, 'pick', 0)}) p99 ${m(s, 'pickP99')} ms, ` +
        `live votes ${m(s, 'votes').toFixed(0)} req/s (${each(s, 'votes', 0)}) p99 ${m(s, 'votesP99')} ms, ` +
        `write ${m(s, 'write').toFixed(1)} ms (${each(s, 'write', 1)}), import ${m(s, 'importS').toFixed(2)} s (${each(s, 'importS', 2)}); ` +
        `RSS now ${s.service.rssMb().toFixed(0)} MB, peak ${s.service.peakRssMb().toFixed(0)} MB`)
    }
    const [a, ...others] = services
    for (const b of others) {
      console.log(`npm start's flags / ${b.name}: pick throughput ${(m(a, 'pick') / m(b, 'pick')).toFixed(2)}, ` +
        `live votes ${(m(a, 'votes') / m(b, 'votes')).toFixed(2)}, write latency ${(m(a, 'write') / m(b, 'write')).toFixed(2)}, ` +
        `import time ${(m(a, 'importS') / m(b, 'importS')).toFixed(2)}`)
    }
  } finally {
    for (const s of services) await s.service.stop()
  }
} finally {
  rmSync(dataRoot, { recursive: true, force: true })
}
