import { fork, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { startPostgres } from './lib/postgres.ts'
import { freePort, median, percentile, startService } from './lib/server.ts'

// 1,000 authenticated WebSocket clients (bench/fanout-clients.ts, a separate process) subscribe to one session of the
// real service (on a throwaway PostgreSQL 15); then 20 live votes in a row, each POST /api/votes/live awaited, and for
// each the time from its HTTP response to the moment the last client has the vote.received event. Beside it, in the
// same run, a bare @fastify/websocket server (bench/fanout-bare.ts) broadcasts the same bytes to 1,000 clients.
// Times are on the machine's wall clock (performance.timeOrigin + now()), shared by the processes. An event is
// written to the sockets before the HTTP response is sent, so a time can be slightly negative; p99 and max matter.

const CLIENTS = Number(process.env.CLIENTS ?? 1000)
const VOTES = 20
const now = () => performance.timeOrigin + performance.now()

function openFileLimit (): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))
  return Number(line?.split(/\s+/)[3])
}

// Each process holds one descriptor per socket: the service and the bare server inherit this process' limit.
if (openFileLimit() < CLIENTS + 200) {
  console.error(`ulimit -n is ${openFileLimit()}; ${CLIENTS} clients need at least ${CLIENTS + 200}. Raise it (ulimit -n 4096) and rerun.`)
  process.exit(1)
}

interface Clients {
  child: ChildProcess
  /** Resolves with the wall-clock time at which the last client had event n. */
  lastReceipt (n: number): Promise<number>
  sample: Promise<string>
  close (): Promise<void>
}

async function startClients (url: string, sessionId?: number): Promise<Clients> {
  const args = [url, String(CLIENTS), ...(sessionId ? [String(sessionId)] : [])]
  const child = fork(new URL('./fanout-clients.ts', import.meta.url).pathname, args, { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
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

async function startBare () {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./fanout-bare.ts', import.meta.url).pathname], {
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

const rssOf = (pid: number) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1]) / 1024

interface Times { fromResponse: number[], fromRequest: number[] }

/**
 * One warm-up trigger (not counted: it pays for first-call compilation on both sides), then `VOTES` in a row, each
 * awaited. Per trigger, the last client's receipt minus the HTTP response's arrival, and minus the request's start.
 */
async function measure (clients: Clients, trigger: (n: number) => Promise<void>): Promise<Times> {
  const times: Times = { fromResponse: [], fromRequest: [] }
  for (let n = 0; n <= VOTES; n++) {
    const sentAt = now()
    await trigger(n)
    const respondedAt = now()
    const lastAt = await clients.lastReceipt(n)
    if (n === 0) continue
    times.fromResponse.push(lastAt - respondedAt)
    times.fromRequest.push(lastAt - sentAt)
  }
  return times
}

const summary = (times: number[]) =>
  `p50 ${median(times).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms`

const postgres = startPostgres()
const service = await startService({ DATABASE_URL: await postgres.createDatabase('fanout') })
try {
  const headers = { authorization: `Bearer ${service.token}`, 'content-type': 'application/json' }
  const post = async (path: string, body: unknown) => {
    const res = await fetch(service.url + path, { method: 'POST', headers, body: JSON.stringify(body) })
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
    return res.json() as Promise<{ id: number }>
  }
  const session = await post('/api/sessions', {})
  await post(`/api/sessions/${session.id}/games`, { game_id: 1 })

  const rssBefore = service.rssMb()
  const wsUrl = service.url.replace('http', 'ws') + `/api/sessions/live?token=${service.token}`
  const clients = await startClients(wsUrl, session.id)
  const rssConnected = service.rssMb()
  const serviceTimes = await measure(clients, async (n) => {
    await post('/api/votes/live', { username: `fan${n}`, vote: n % 3 ? 'up' : 'down', timestamp: new Date().toISOString() })
  })
  const rssAfter = service.rssMb()
  const bytes = await clients.sample
  await clients.close()

  const bare = await startBare()
  const bareClients = await startClients(bare.url.replace('http', 'ws') + '/ws')
  const bareRss = rssOf(bare.pid)
  const bareTimes = await measure(bareClients, async () => {
    const res = await fetch(`${bare.url}/broadcast`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: bytes })
    await res.text()
  })
  await bareClients.close()
  await bare.stop()

  const ratio = percentile(serviceTimes.fromResponse, 99) / percentile(bareTimes.fromResponse, 99)
  const growth = rssConnected - rssBefore
  console.log(`${CLIENTS} subscribed clients, ${VOTES} live votes in a row; each event is ${Buffer.byteLength(bytes)} bytes`)
  console.log(`HTTP response → last client's receipt: service ${summary(serviceTimes.fromResponse)}`)
  console.log(`                                       bare    ${summary(bareTimes.fromResponse)}`)
  console.log(`HTTP request sent → last client's receipt: service ${summary(serviceTimes.fromRequest)}`)
  console.log(`                                           bare    ${summary(bareTimes.fromRequest)}`)
  console.log(`service RSS: ${rssBefore.toFixed(0)} MB before the clients, ${rssConnected.toFixed(0)} MB with them connected ` +
    `(+${growth.toFixed(0)} MB), ${rssAfter.toFixed(0)} MB after the votes (peak ${service.peakRssMb().toFixed(0)} MB); bare server with its clients: ${bareRss.toFixed(0)} MB`)
  console.log(`targets: p99 ≤ 2× bare (${ratio.toFixed(2)}×: ${ratio <= 2 ? 'met' : 'MISSED'}), ` +
    `RSS growth < 150 MB (${growth < 150 ? 'met' : 'MISSED'})`)
} finally {
  await service.stop()
  postgres.stop()
}
