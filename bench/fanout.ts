import { readFileSync } from 'node:fs'
import { startPostgres } from './lib/postgres.ts'
import { percentile, startService } from './lib/server.ts'
import { measure, requireOpenFiles, startBare, startClients, summary } from './lib/fanout.ts'

// 1,000 authenticated WebSocket clients (bench/fanout-clients.ts, a separate process) subscribe to one session of the
// real service (on a throwaway PostgreSQL 15); then 20 live votes in a row, each POST /api/votes/live awaited, and for
// each the time from its HTTP response to the moment the last client has the vote.received event. Beside it, in the
// same run, a bare @fastify/websocket server (bench/fanout-bare.ts) broadcasts the same bytes to 1,000 clients.
// Times are on the machine's wall clock (performance.timeOrigin + now()), shared by the processes. An event is
// written to the sockets before the HTTP response is sent, so a time can be slightly negative; p99 and max matter.

const CLIENTS = Number(process.env.CLIENTS ?? 1000)
const VOTES = 20

// Each process holds one descriptor per socket: the service and the bare server inherit this process' limit.
requireOpenFiles(CLIENTS)

const rssOf = (pid: number) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1]) / 1024

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
  const clients = await startClients(wsUrl, CLIENTS, session.id)
  const rssConnected = service.rssMb()
  const serviceTimes = await measure([clients], VOTES, async (n) => {
    await post('/api/votes/live', { username: `fan${n}`, vote: n % 3 ? 'up' : 'down', timestamp: new Date().toISOString() })
  })
  const rssAfter = service.rssMb()
  const bytes = await clients.sample
  await clients.close()

  const bare = await startBare()
  const bareClients = await startClients(bare.url.replace('http', 'ws') + '/ws', CLIENTS)
  const bareRss = rssOf(bare.pid)
  const bareTimes = await measure([bareClients], VOTES, async () => {
    const res = await fetch(`${bare.url}/broadcast`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: bytes })
    await res.text()
  })
  await bareClients.close()
  await bare.stop()

  const ratio = percentile(serviceTimes.fromCommit, 99) / percentile(bareTimes.fromCommit, 99)
  const growth = rssConnected - rssBefore
  console.log(`${CLIENTS} subscribed clients, ${VOTES} live votes in a row; each event is ${Buffer.byteLength(bytes)} bytes`)
  console.log(`commit → last client's receipt:        service ${summary(serviceTimes.fromCommit)} (from the event's timestamp)`)
  console.log(`                                       bare    ${summary(bareTimes.fromCommit)} (from the broadcast request)`)
  console.log(`HTTP response → last client's receipt: service ${summary(serviceTimes.fromResponse)}`)
  console.log(`                                       bare    ${summary(bareTimes.fromResponse)}`)
  console.log(`HTTP request sent → last client's receipt: service ${summary(serviceTimes.fromRequest)}`)
  console.log(`                                           bare    ${summary(bareTimes.fromRequest)}`)
  console.log(`service RSS: ${rssBefore.toFixed(0)} MB before the clients, ${rssConnected.toFixed(0)} MB with them connected ` +
    `(+${growth.toFixed(0)} MB), ${rssAfter.toFixed(0)} MB after the votes (peak ${service.peakRssMb().toFixed(0)} MB); bare server with its clients: ${bareRss.toFixed(0)} MB`)
  console.log(`targets: p99 commit → last receipt ≤ 2× bare (${ratio.toFixed(2)}×: ${ratio <= 2 ? 'met' : 'MISSED'}), ` +
    `RSS growth < 150 MB (${growth < 150 ? 'met' : 'MISSED'})`)
} finally {
  await service.stop()
  postgres.stop()
}
