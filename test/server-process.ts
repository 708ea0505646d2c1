import { spawn } from 'node:child_process'
import { once } from 'node:events'
import pg from 'pg'
import type { Test } from 'tap'
import { freePort } from '../bench/lib/server.ts'
import { testDatabase } from './helper.ts'

export const PROCESS_ADMIN_KEY = 'process-admin-key-6f1c2a9e'
export const PROCESS_JWT_SECRET = 'process-jwt-secret-0b7d4e1f9a2c6e8d3f5a7b9c'

export interface ServerProcess {
  url: string
  port: number
  pid: number
  /** Every line the process wrote so far, stdout and stderr. */
  lines (): string[]
  /** Resolves with the first line (already written or to come) that passes the test. */
  waitForLine (test: (line: string) => boolean): Promise<string>
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  /** Sends a signal (SIGKILL: the process dies at once, leaving its leases and connections behind). */
  kill (signal: NodeJS.Signals): void
}

/** The real entry point, `node --import tsx server.ts`, on 127.0.0.1:`port`, with PATH and `env` as its whole environment. */
function spawnServer (port: number, env: Record<string, string>) {
  return spawn(process.execPath, ['--import', 'tsx', 'server.ts'], {
    cwd: new URL('..', import.meta.url).pathname,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
}

/**
 * Runs server.ts where its boot is meant to fail (on env.PORT, else a free port); resolves with its exit code and
 * everything it wrote, stdout and stderr. Killed at the end of the test if still running.
 */
export async function failedBoot (t: Test, env: Record<string, string>): Promise<{ code: number | null, output: string }> {
  const child = spawnServer(env.PORT ? Number(env.PORT) : await freePort(), env)
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let output = ''
  child.stdout.on('data', (chunk) => { output += chunk })
  child.stderr.on('data', (chunk) => { output += chunk })
  const [code] = await once(child, 'exit')
  return { code, output }
}

/**
 * Runs the real entry point, `node --import tsx server.ts`, with its output piped (so it logs JSON, as under Docker)
 * and resolves once /api/health answers 200. Killed at the end of the test if still running. A fresh database of its
 * own unless `env` names one (DATABASE_URL or DATA_DIR): see startReplicas for several processes on one.
 */
export async function startServer (t: Test, env: Record<string, string> = {}): Promise<ServerProcess> {
  // A fixed PORT in env: a restart on the address the previous process had, as a browser page still knows it.
  const port = env.PORT ? Number(env.PORT) : await freePort()
  const child = spawnServer(port, {
    ADMIN_KEY: PROCESS_ADMIN_KEY,
    JWT_SECRET: PROCESS_JWT_SECRET,
    ...env.DATABASE_URL || env.DATA_DIR ? {} : await testDatabase(t, { onDisk: true }),
    ...env
  })
  const exited = once(child, 'exit').then(([code, signal]) => ({ code, signal }))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })

  const lines: string[] = []
  const waiters: { test: (line: string) => boolean, resolve: (line: string) => void }[] = []
  const collect = (stream: NodeJS.ReadableStream) => {
    let rest = ''
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n')
      rest = parts.pop()!
      for (const line of parts) {
        lines.push(line)
        for (const waiter of [...waiters]) {
          if (waiter.test(line)) {
            waiters.splice(waiters.indexOf(waiter), 1)
            waiter.resolve(line)
          }
        }
      }
    })
  }
  collect(child.stdout)
  collect(child.stderr)

  const url = `http://127.0.0.1:${port}`
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server.ts exited with ${child.exitCode} during boot:\n${lines.join('\n')}`)
    const status = await fetch(`${url}/api/health`).then((res) => res.status, () => 0)
    if (status === 200) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }

  return {
    url,
    port,
    pid: child.pid!,
    lines: () => [...lines],
    waitForLine (test) {
      const found = lines.find(test)
      if (found !== undefined) return Promise.resolve(found)
      return new Promise((resolve) => waiters.push({ test, resolve }))
    },
    exited,
    kill (signal) { child.kill(signal) }
  }
}

/** A reply read back: its status and its JSON body. */
export interface Api { status: number, body: any }

/** A JSON request to a server process, with a bearer token when given; resolves with the status and the JSON body. */
export async function api (server: ServerProcess, path: string, init: { method?: string, body?: unknown, token?: string } = {}): Promise<Api> {
  const res = await fetch(`${server.url}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {})
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body)
  })
  return { status: res.status, body: await res.json() }
}

/** An admin token from `server`: POST /api/auth/login with the processes' admin key. */
export async function adminToken (server: ServerProcess): Promise<string> {
  const login = await api(server, '/api/auth/login', { method: 'POST', body: { key: PROCESS_ADMIN_KEY } })
  if (login.status !== 200) throw new Error(`login answered ${login.status}: ${JSON.stringify(login.body)}`)
  return login.body.token as string
}

/** A connected pg client on `databaseUrl`, for a test's own queries; closed when the test ends. */
export async function pgClient (t: Test, databaseUrl: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  t.teardown(() => client.end())
  return client
}

/**
 * Why several processes cannot share a test database here, or undefined when they can: they need a PostgreSQL server
 * (TEST_DATABASE_URL, as CI sets); the embedded PGlite is one process by design. Use as `t.test(name, { skip }, …)`.
 */
export const replicasSkip = (): string | undefined => process.env.TEST_DATABASE_URL
  ? undefined
  : 'several processes need one PostgreSQL database (set TEST_DATABASE_URL); PGlite is one process by design'

/**
 * Starts `count` real service processes on one fresh PostgreSQL database (throws without TEST_DATABASE_URL: see
 * replicasSkip). The first boots alone, so it runs the migrations and seeds the catalog; the others then boot at once.
 * Resolves with the processes and the database URL (for a test's own pg client).
 */
export async function startReplicas (t: Test, count: number, env: Record<string, string> = {}): Promise<{ servers: ServerProcess[], databaseUrl: string }> {
  const reason = replicasSkip()
  if (reason) throw new Error(reason)
  const { DATABASE_URL: databaseUrl } = await testDatabase(t)
  const shared = { ...env, DATABASE_URL: databaseUrl }
  const first = await startServer(t, shared)
  const rest = await Promise.all(Array.from({ length: count - 1 }, () => startServer(t, shared)))
  return { servers: [first, ...rest], databaseUrl }
}
