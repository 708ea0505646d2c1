import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { processCpu } from './postgres.ts'

export const BENCH_ADMIN_KEY = 'bench-admin-key-0123456789'
export const BENCH_JWT_SECRET = 'bench-secret-bench-secret-bench-secret-0123'

export interface ServiceProcess {
  url: string
  pid: number
  /** A bearer token for auth routes. */
  token: string
  /** Current resident set size in MB, from /proc. */
  rssMb (): number
  /** Peak resident set size (VmHWM) in MB since the process started. */
  peakRssMb (): number
  /** User + system CPU seconds the process has used, from /proc. */
  cpuSeconds (): number
  stop (): Promise<void>
}

export async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  return port
}

function procStatus (pid: number, field: string): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(field + ':'))
  return line ? Number(line.split(/\s+/)[1]) / 1024 : NaN
}

/** The node flags `npm start` runs the service with (the image's CMD has the same), read from package.json. */
export const START_FLAGS: string[] = (() => {
  const start = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).scripts.start as string).split(' ')
  return start.slice(1, start.indexOf('--import'))
})()

/**
 * Starts the real service (server.ts) as its own process, so its memory and CPU are measured apart from the load, with
 * npm start's node flags unless `flags` says otherwise. `cwd` runs another checkout of the service (a benchmark
 * comparing against an older commit).
 */
export async function startService (env: Record<string, string>, cwd = new URL('../..', import.meta.url).pathname, bootMs = 60_000, flags = START_FLAGS): Promise<ServiceProcess> {
  const port = await freePort()
  // SERVICE_NODE_ARGS passes flags to the service's node only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it.
  const nodeArgs = process.env.SERVICE_NODE_ARGS?.split(' ').filter(Boolean) ?? []
  const child: ChildProcess = spawn(process.execPath, [...flags, ...nodeArgs, '--import', 'tsx', 'server.ts'], {
    cwd,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ADMIN_KEY: BENCH_ADMIN_KEY, JWT_SECRET: BENCH_JWT_SECRET, ...env },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + bootMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}`)
    try {
      const res = await fetch(`${url}/api/health`)
      if (res.ok) break
    } catch {}
    if (Date.now() > deadline) throw new Error(`service did not become healthy in ${bootMs / 1000} s`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  const login = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: BENCH_ADMIN_KEY }) })
  const { token } = await login.json() as { token: string }
  const pid = child.pid!
  return {
    url,
    pid,
    token,
    rssMb: () => procStatus(pid, 'VmRSS'),
    peakRssMb: () => procStatus(pid, 'VmHWM'),
    cpuSeconds: () => processCpu(pid).seconds,
    async stop () {
      // Already gone (exited, or killed by a signal such as a benchmark's SIGKILL): its 'exit' will not come again.
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  }
}

/** Median of a list of numbers. */
export function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** The p-th percentile (0..100) of a list of numbers, nearest-rank. */
export function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}
