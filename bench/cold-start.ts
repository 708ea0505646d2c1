import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, median, BENCH_ADMIN_KEY, BENCH_JWT_SECRET } from './lib/server.ts'

// Cold start of `npm start` itself (its prestart step, then node with its flags, tsx at run time) on the embedded
// database: the time from spawning it to the first 200 from /api/health, on a fresh data directory (PGlite runs
// initdb: the build's template is only in dist/) and on the same directory again. RUNS of each; the machine's load
// average is printed beside the figures, since on a busy machine they are mostly waiting for a core.
//   npm run bench -- cold-start        (RUNS=3)

const RUNS = Number(process.env.RUNS ?? 3)
const root = new URL('..', import.meta.url).pathname

async function npmStart (dataDir: string): Promise<number> {
  const port = await freePort()
  const t0 = performance.now()
  // detached: its own process group, so the signal reaches npm's shell and node alike.
  const child = spawn('npm', ['start', '--silent'], {
    cwd: root,
    detached: true,
    env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATA_DIR: dataDir, ADMIN_KEY: BENCH_ADMIN_KEY, JWT_SECRET: BENCH_JWT_SECRET },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const exited = once(child, 'exit')
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}`)
      const res = await fetch(`http://127.0.0.1:${port}/api/health`).catch(() => undefined)
      if (res?.status === 200) return (performance.now() - t0) / 1000
      if (performance.now() - t0 > 300_000) throw new Error('npm start: no 200 from /api/health in 300 s')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  } finally {
    process.kill(-child.pid!, 'SIGTERM')
    await exited
  }
}

const load = () => loadavg().map((l) => l.toFixed(1)).join(' ')
const dataRoot = mkdtempSync(join(tmpdir(), 'bench-cold-'))
try {
  console.log(`${new Date().toISOString()}, Node ${process.version}, load average ${load()}`)
  const fresh: number[] = []
  const again: number[] = []
  for (let run = 1; run <= RUNS; run++) {
    const dir = join(dataRoot, String(run))
    fresh.push(await npmStart(dir))
    again.push(await npmStart(dir))
    console.log(`run ${run}: fresh data directory ${fresh.at(-1)!.toFixed(1)} s, existing ${again.at(-1)!.toFixed(1)} s (load ${load()})`)
  }
  console.log(`npm start to the first 200 from /api/health, median of ${RUNS}: fresh data directory ${median(fresh).toFixed(1)} s, ` +
    `existing ${median(again).toFixed(1)} s; load average ${load()} at the end`)
} finally {
  rmSync(dataRoot, { recursive: true, force: true })
}
