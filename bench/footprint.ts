// Memory and cold start of the service as the image runs it (compiled JavaScript, `node <flags> dist/server.js` with
// npm start's flags, production settings): idle RSS after boot and peak RSS during boot (the kernel's high-water mark,
// VmHWM), on the embedded database with a fresh data directory, the same directory reopened, and on PostgreSQL 15;
// beside a bare Fastify process answering one route, measured in the same run. Then what each node flag saves (the
// service without it) and `npm start` (tsx at run time).
//   npm run bench -- footprint        (IDLE_MS=5000 sets how long it idles after answering before RSS is read)
// The service's figures include the PGlite data directory template `npm run build` writes (db/pglite-template.ts).
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, BENCH_ADMIN_KEY, BENCH_JWT_SECRET, START_FLAGS } from './lib/server.ts'
import { startPostgres } from './lib/postgres.ts'

const root = new URL('..', import.meta.url).pathname
const IDLE_MS = Number(process.env.IDLE_MS ?? 5000)

const status = (pid: number, field: string) => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(field + ':'))
  return line ? Number(line.split(/\s+/)[1]) / 1024 : NaN
}

interface Figures { ready: number, idle: number, peak: number }

/** Starts `args` under node, waits for `path` to answer 200, idles, reads RSS, then stops it with SIGTERM. */
async function measure (args: string[], env: Record<string, string>, path = '/api/health'): Promise<Figures> {
  const port = await freePort()
  const t0 = performance.now()
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { PATH: process.env.PATH, NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ADMIN_KEY: BENCH_ADMIN_KEY, JWT_SECRET: BENCH_JWT_SECRET, ...env },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`)
      const res = await fetch(`http://127.0.0.1:${port}${path}`).catch(() => undefined)
      if (res?.ok) break
      if (performance.now() - t0 > 300_000) throw new Error(`${args.join(' ')}: no answer in 300 s`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const ready = (performance.now() - t0) / 1000
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS))
    return { ready, idle: status(child.pid!, 'VmRSS'), peak: status(child.pid!, 'VmHWM') }
  } finally {
    child.kill('SIGTERM')
    await exited
  }
}

const row = (name: string, f: Figures) =>
  console.log(`${name.padEnd(52)} ${f.ready.toFixed(1).padStart(6)} s ${f.idle.toFixed(0).padStart(6)} MB ${f.peak.toFixed(0).padStart(6)} MB`)

if (!process.env.NO_BUILD) { // NO_BUILD=1: measure the dist/ already there
  console.log('building (npm run build: dist/, as the image does)')
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' })
  if (build.status !== 0) throw new Error('npm run build failed')
}

const bare = 'const app = require(\'fastify\')(); app.get(\'/\', async () => ({ ok: true })); app.listen({ port: Number(process.env.PORT), host: \'127.0.0.1\' })'
const dataRoot = mkdtempSync(join(tmpdir(), 'bench-footprint-'))
const pgServer = startPostgres()
try {
  console.log(`\n${'process'.padEnd(52)} ${'answers'.padStart(8)} ${'idle RSS'.padStart(9)} ${'peak RSS'.padStart(9)}`)
  row('bare Fastify (baseline)', await measure(['-e', bare], {}, '/'))
  // The image's CMD and its MALLOC_ARENA_MAX (see the Dockerfile).
  const image = [...START_FLAGS, 'dist/server.js']
  const arenas = { MALLOC_ARENA_MAX: '2' }
  const dataDir = join(dataRoot, 'data')
  row('image, PGlite, fresh data dir', await measure(image, { DATA_DIR: dataDir, ...arenas }))
  row('image, PGlite, reopened', await measure(image, { DATA_DIR: dataDir, ...arenas }))
  row('image, PostgreSQL 15 (fresh database)', await measure(image, { DATABASE_URL: await pgServer.createDatabase('footprint'), ...arenas }))
  for (const flag of START_FLAGS) {
    const without = image.filter((f) => f !== flag)
    const dir = join(dataRoot, flag)
    row(`without ${flag}, PGlite, fresh`, await measure(without, { DATA_DIR: dir, ...arenas }))
    row(`without ${flag}, PGlite, reopened`, await measure(without, { DATA_DIR: dir, ...arenas }))
  }
  row('without MALLOC_ARENA_MAX, PGlite, reopened', await measure(image, { DATA_DIR: dataDir }))
  const tsxDir = join(dataRoot, 'tsx')
  row('npm start (tsx, no template), PGlite, fresh', await measure([...START_FLAGS, '--import', 'tsx', 'server.ts'], { DATA_DIR: tsxDir }))
  row('npm start (tsx), PGlite, reopened', await measure([...START_FLAGS, '--import', 'tsx', 'server.ts'], { DATA_DIR: tsxDir }))
} finally {
  pgServer.stop()
  rmSync(dataRoot, { recursive: true, force: true })
}
