import { once } from 'node:events'
import pg from 'pg'
import WebSocket from 'ws'
import { startPostgres } from './lib/postgres.ts'
import { percentile, startService } from './lib/server.ts'
import { FakeTwitch } from '../test/fixtures/fake-twitch.ts'

// A Twitch chat source under load: the fake Twitch chat (test/fixtures) sends 1,000 messages a second, one in ten a
// vote, for DURATION s to the real service on PostgreSQL 15. Every vote comes from its own chatter, so the rules
// accept all of them. Measured: every accepted vote counted, and the time from the message's send to `vote.received`
// on a live client, p99; beside it, in the same run, the same votes at the same rate sent through POST
// /api/votes/live (the path a bot takes). CPU: the service's over each phase and over an idle stretch, so the CPU
// the connection adds is the chat phase's less the HTTP phase's (the same votes, without the 900 other messages).

const DURATION = Number(process.env.DURATION ?? 30)
const RATE = 1000
const VOTE_EVERY = 10
const TICK_MS = 10

const postgres = startPostgres()
const fake = await FakeTwitch.start()
try {
  const databaseUrl = await postgres.createDatabase('chat_sources')
  const service = await startService({ DATABASE_URL: databaseUrl, TWITCH_CHAT_URL: fake.url })
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  const auth = { authorization: `Bearer ${service.token}`, 'content-type': 'application/json' }
  try {
    const { rows: [session] } = await db.query<{ id: number }>('insert into sessions (notes) values ($1) returning id', ['bench'])
    await db.query('insert into session_games (session_id, game_id, status, played_at) values ($1, 1, $2, $3)',
      [session.id, 'playing', new Date(Date.now() - 60_000)])

    // The live client: the time each vote reaches it, by username.
    const received = new Map<string, number>()
    const live = new WebSocket(`${service.url.replace('http', 'ws')}/api/sessions/live?token=${service.token}`)
    live.on('message', (raw) => {
      const message = JSON.parse(String(raw))
      if (message.type === 'vote.received') received.set(message.data.vote.username, Date.now())
    })
    await once(live, 'open')
    live.send(JSON.stringify({ type: 'subscribe', sessionId: session.id }))

    const sent = new Map<string, number>()
    /** Runs `perTick` every TICK_MS for DURATION s, catching up when a tick is late, so the rate holds. */
    async function drive (perMessage: (n: number, now: number) => void) {
      const start = Date.now()
      let n = 0
      while (Date.now() - start < DURATION * 1000) {
        const due = Math.floor((Date.now() - start) * RATE / 1000)
        for (; n < due; n++) perMessage(n, Date.now())
        await new Promise((resolve) => setTimeout(resolve, TICK_MS))
      }
      return n
    }
    async function settle (names: string[]) {
      const deadline = Date.now() + 30_000
      while (names.some((name) => !received.has(name)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const latencies = (names: string[]) => names.filter((name) => received.has(name)).map((name) => received.get(name)! - sent.get(name)!)

    const idleFrom = service.cpuSeconds()
    await new Promise((resolve) => setTimeout(resolve, 5000))
    const idleCpu = (service.cpuSeconds() - idleFrom) / 5

    // Phase 1: chat.
    const res = await fetch(`${service.url}/api/chat-sources`, { method: 'POST', headers: auth, body: JSON.stringify({ platform: 'twitch', channel: 'bench_channel' }) })
    const { id: sourceId } = await res.json() as { id: number }
    while (fake.inChannel('bench_channel') !== 1) await new Promise((resolve) => setTimeout(resolve, 50))
    const chatVoters: string[] = []
    const chatFrom = service.cpuSeconds()
    const messages = await drive((n, now) => {
      if (n % VOTE_EVERY) {
        fake.say('bench_channel', `lurker${n % 500}`, `message ${n} from chat, no vote here`, { sentAt: now })
        return
      }
      const name = `chat${n}`
      chatVoters.push(name)
      sent.set(name, now)
      fake.say('bench_channel', name, n % 40 ? 'thisgame++ great' : 'thisgame-- meh', { sentAt: now })
    })
    await settle(chatVoters)
    const chatCpu = (service.cpuSeconds() - chatFrom) / DURATION

    // Phase 2: the same votes through POST /api/votes/live.
    const httpVoters: string[] = []
    const pending: Promise<unknown>[] = []
    let failed = 0
    const httpFrom = service.cpuSeconds()
    await drive((n, now) => {
      if (n % VOTE_EVERY) return
      const name = `http${n}`
      httpVoters.push(name)
      sent.set(name, now)
      pending.push(fetch(`${service.url}/api/votes/live`, {
        method: 'POST', headers: auth, body: JSON.stringify({ username: name, vote: 'up', timestamp: new Date(now).toISOString() })
      }).then((r) => { if (!r.ok) failed++; return r.arrayBuffer() }, () => { failed++ }))
    })
    await Promise.all(pending)
    await settle(httpVoters)
    const httpCpu = (service.cpuSeconds() - httpFrom) / DURATION
    live.terminate()

    const { rows: [row] } = await db.query<{ counted: number }>('select count(*)::int as counted from live_votes where chat_source_id = $1', [sourceId])
    const source = await (await fetch(`${service.url}/api/chat-sources/${sourceId}`, { headers: auth })).json() as { votes_counted: number, votes_refused: number }
    const chat = latencies(chatVoters)
    const http = latencies(httpVoters)
    const p99Chat = percentile(chat, 99)
    const p99Http = percentile(http, 99)
    console.log(`${DURATION} s at ${RATE} chat messages/s (1 in ${VOTE_EVERY} a vote), then the same votes through POST /api/votes/live:`)
    console.log(`chat source     : ${messages} messages, ${chatVoters.length} votes sent, ${row.counted} counted (source says ${source.votes_counted} counted, ${source.votes_refused} refused), ` +
      `${chat.length} reached the live client; send → vote.received p50 ${percentile(chat, 50)} ms, p99 ${p99Chat} ms`)
    console.log(`POST votes/live : ${httpVoters.length} votes sent, ${failed} failed, ${http.length} reached the live client; send → vote.received p50 ${percentile(http, 50)} ms, p99 ${p99Http} ms`)
    console.log(`p99 ratio chat/HTTP: ${(p99Chat / p99Http).toFixed(2)} (target <= 1.5: ${p99Chat <= 1.5 * p99Http ? 'met' : 'NOT met'})`)
    console.log(`service CPU: idle ${(idleCpu * 100).toFixed(1)}%, chat phase ${(chatCpu * 100).toFixed(1)}%, HTTP phase ${(httpCpu * 100).toFixed(1)}% of a core; ` +
      `the connection and its ${RATE - RATE / VOTE_EVERY} non-vote messages/s add ${((chatCpu - httpCpu) * 100).toFixed(1)}% of a core over the same votes by HTTP`)
    if (row.counted !== chatVoters.length || chat.length !== chatVoters.length || failed) process.exitCode = 1
  } finally {
    await db.end()
    await service.stop()
  }
} finally {
  await fake.close()
  postgres.stop()
}
