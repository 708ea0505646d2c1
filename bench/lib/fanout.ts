import { fork, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { freePort, median, percentile } from './server.ts'

// The pieces bench/fanout.ts and bench/replicas.ts share: live clients in a process of their own
// (bench/fanout-clients.ts), the bare @fastify/websocket broadcast server (bench/fanout-bare.ts), and the timing.
// Times are on the machine's wall clock (performance.timeOrigin + now()), shared by the processes.

export const now = () => performance.timeOrigin + performance.now()

export function openFileLimit (): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))
  return Number(line?.split(/\s+/)[3])
}

/** Exits with a clear line when this process (whose limit the servers inherit) cannot hold `sockets` descriptors. */
export function requireOpenFiles (sockets: number): void {
  if (openFileLimit() < sockets + 200) {
    console.error(`ulimit -n is ${openFileLimit()}; ${sockets} clients need at least ${sockets + 200}. Raise it (ulimit -n 4096) and rerun.`)
    process.exit(1)
  }
}

export interface Clients {
  child: ChildProcess
  /** Resolves with the wall-clock time at which the last client had event n. */
  lastReceipt (n: number): Promise<number>
  sample: Promise<string>
  close (): Promise<void>
}

/** `count` clients of `url` in a child process; with a sessionId each one subscribes to it (the token in the URL). */
export async function startClients (url: string, count: number, sessionId?: number): Promise<Clients> {
  const args = [url, String(count), ...(sessionId ? [String(sessionId)] : [])]
  const child = fork(new URL('../fanout-clients.ts', import.meta.url).pathname, args, { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
  const receipts = new Map<number, number>()
  const waiting = new Map<number, (at: number) => void>()
  let gotSample: (s: string) => void = () => {}
  const sample = new Promise<string>((resolve) => { gotSample = resolve })
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`clients exited with ${code}`)))
    child.on('message', (message: { ready?: true, event?: number, lastAt?: number, sample?: string }) => {
      if (message.ready) resolve()
      if (message.sample !== undefined) gotSample(message.sample)
      if (message.event !== undefined) {
        const resolveReceipt = waiting.get(message.event)
        if (resolveReceipt) resolveReceipt(message.lastAt!)
        else receipts.set(message.event, message.lastAt!)
      }
    })
  })
  await ready
  return {
    child,
    sample,
    lastReceipt: (n) => receipts.has(n) ? Promise.resolve(receipts.get(n)!) : new Promise((resolve) => waiting.set(n, resolve)),
    async close () {
      child.send({ close: true })
      await once(child, 'exit')
    }
  }
}

/** The bare @fastify/websocket server: POST /broadcast writes the body to every client of /ws. */
export async function startBare () {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('../fanout-bare.ts', import.meta.url).pathname], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`bare server exited with ${child.exitCode}`)
    try { if ((await fetch(`${url}/health`)).ok) break } catch {}
    if (i > 300) throw new Error('bare server did not start')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { url, pid: child.pid!, async stop () { child.kill('SIGTERM'); await once(child, 'exit') } }
}

export interface Times { fromResponse: number[], fromRequest: number[] }

/**
 * One warm-up trigger (not counted: it pays for first-call compilation on both sides), then `count` in a row, each
 * awaited. Per trigger, the last receipt over every group of clients minus the HTTP response's arrival, and minus the
 * request's start.
 */
export async function measure (groups: Clients[], count: number, trigger: (n: number) => Promise<void>): Promise<Times> {
  const times: Times = { fromResponse: [], fromRequest: [] }
  for (let n = 0; n <= count; n++) {
    const sentAt = now()
    await trigger(n)
    const respondedAt = now()
    const lastAt = Math.max(...await Promise.all(groups.map((clients) => clients.lastReceipt(n))))
    if (n === 0) continue
    times.fromResponse.push(lastAt - respondedAt)
    times.fromRequest.push(lastAt - sentAt)
  }
  return times
}

export const summary = (times: number[]) =>
  `p50 ${median(times).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms`
