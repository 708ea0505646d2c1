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

export interface Receipt { lastAt: number, stampedAt: number }

export interface Clients {
  child: ChildProcess
  /** Resolves with the wall-clock time at which the last client had event n, and the event's own timestamp. */
  lastReceipt (n: number): Promise<Receipt>
  sample: Promise<string>
  close (): Promise<void>
}

/** `count` clients of `url` in a child process; with a sessionId each one subscribes to it (the token in the URL). */
export async function startClients (url: string, count: number, sessionId?: number): Promise<Clients> {
  const args = [url, String(count), ...(sessionId ? [String(sessionId)] : [])]
  const child = fork(new URL('../fanout-clients.ts', import.meta.url).pathname, args, { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
  const receipts = new Map<number, Receipt>()
  const waiting = new Map<number, (receipt: Receipt) => void>()
  let gotSample: (s: string) => void = () => {}
  const sample = new Promise<string>((resolve) => { gotSample = resolve })
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`clients exited with ${code}`)))
    child.on('message', (message: { ready?: true, event?: number, lastAt?: number, stampedAt?: number | null, sample?: string }) => {
      if (message.ready) resolve()
      if (message.sample !== undefined) gotSample(message.sample)
      if (message.event !== undefined) {
        // NaN crosses IPC (JSON) as null.
        const receipt = { lastAt: message.lastAt!, stampedAt: message.stampedAt ?? NaN }
        const resolveReceipt = waiting.get(message.event)
        if (resolveReceipt) resolveReceipt(receipt)
        else receipts.set(message.event, receipt)
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

/**
 * fromCommit: for the service, from the event's own timestamp (taken in its transaction just before the commit) to the
 * last receipt: the contract's "commit to the last client". For the bare server, which has no commit, from the
 * request's start (its broadcast begins as the request arrives): an upper bound that favours neither side.
 */
export interface Times { fromResponse: number[], fromRequest: number[], fromCommit: number[] }

/**
 * One warm-up trigger (not counted: it pays for first-call compilation on both sides), then `count` in a row, each
 * awaited. Per trigger, the last receipt over every group of clients minus the HTTP response's arrival, minus the
 * request's start, and minus the event's timestamp when it has a fresh one.
 */
export async function measure (groups: Clients[], count: number, trigger: (n: number) => Promise<void>): Promise<Times> {
  const times: Times = { fromResponse: [], fromRequest: [], fromCommit: [] }
  for (let n = 0; n <= count; n++) {
    const sentAt = now()
    await trigger(n)
    const respondedAt = now()
    const receipts = await Promise.all(groups.map((clients) => clients.lastReceipt(n)))
    const lastAt = Math.max(...receipts.map((r) => r.lastAt))
    if (n === 0) continue
    times.fromResponse.push(lastAt - respondedAt)
    times.fromRequest.push(lastAt - sentAt)
    // A timestamp from before this trigger (the bare server's bytes are a copy of an old event) is no commit time.
    const stampedAt = receipts[0].stampedAt
    times.fromCommit.push(stampedAt >= sentAt - 1 ? lastAt - stampedAt : lastAt - sentAt)
  }
  return times
}

export const summary = (times: number[]) =>
  `p50 ${median(times).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms`
