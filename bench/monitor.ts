import pg from 'pg'
import { startPostgres } from './lib/postgres.ts'
import { startService, percentile, median } from './lib/server.ts'
import { playingGames, startPlayerCheck } from './lib/rooms.ts'
import { FakeEcast } from '../test/fixtures/fake-ecast.ts'

// 200 rooms watched at once against a fake ecast (in this process) by the real service (a child process), players
// joining at random for 30 s. Lag: from a join on the fake to the stored player_count showing it (polled every 25 ms,
// so the figure includes up to ~25 ms of observation delay).

const ROOMS = 200
const POLL_MS = 1000
const DURATION_MS = 30_000
const JOINS_PER_SECOND = 20
const TARGETS = { cpuShare: 0.10, rssGrowthMb: 150, p99LagMs: 2 * POLL_MS }

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const fake = await FakeEcast.start()
const postgres = startPostgres()
const databaseUrl = await postgres.createDatabase('bench_monitor')
const service = await startService({
  DATABASE_URL: databaseUrl,
  ECAST_BASE_URL: fake.url,
  ECAST_POLL_INTERVAL_MS: String(POLL_MS),
  ECAST_ROOM_WAIT_MS: '600000'
})
const db = new pg.Client({ connectionString: databaseUrl })
await db.connect()

try {
  const codes = Array.from({ length: ROOMS }, (_, i) => `M${i.toString(36).toUpperCase().padStart(3, '0')}`)
  for (const code of codes) fake.createRoom(code, { maxPlayers: 100, audience: Math.floor(Math.random() * 4) })

  const games = await playingGames(db, codes)

  const rssBoot = service.rssMb()
  const started = Date.now()
  for (let i = 0; i < games.length; i += 20) {
    await Promise.all(games.slice(i, i + 20).map((game) => startPlayerCheck(service, game)))
  }
  // Every room counted once (0 players) means every watch is in the lobby with its audience socket.
  for (;;) {
    const { rows } = await db.query<{ n: string }>('select count(*) as n from session_games where player_count = 0')
    if (Number(rows[0].n) === ROOMS) break
    if (Date.now() - started > 60_000) throw new Error(`only ${rows[0].n} of ${ROOMS} rooms counted after 60 s`)
    await sleep(100)
  }
  console.log(`${ROOMS} watches up in ${Date.now() - started} ms; ${fake.openSockets()} audience sockets open`)

  const pending: Array<{ code: string, count: number, at: number }> = []
  const players = new Map(codes.map((code) => [code, 0]))
  const lags: number[] = []
  let observeError: unknown = null
  const run = { active: true }
  const observer = (async () => {
    while (run.active || pending.length) {
      const { rows } = await db.query<{ room_code: string, player_count: number }>('select room_code, player_count from session_games')
      const now = Date.now()
      const counts = new Map(rows.map((r) => [r.room_code, r.player_count]))
      for (let i = pending.length - 1; i >= 0; i--) {
        if ((counts.get(pending[i].code) ?? 0) >= pending[i].count) {
          lags.push(now - pending[i].at)
          pending.splice(i, 1)
        }
      }
      if (!run.active && pending.length && now - Math.min(...pending.map((p) => p.at)) > 10 * POLL_MS) break
      await sleep(25)
    }
  })().catch((err) => { observeError = err })

  const requests0 = fake.totalRequests()
  const cpu0 = service.cpuSeconds()
  const rss0 = service.rssMb()
  const wall0 = Date.now()
  let joins = 0
  while (Date.now() - wall0 < DURATION_MS) {
    const code = codes[Math.floor(Math.random() * codes.length)]
    const count = players.get(code)! + 1
    players.set(code, count)
    pending.push({ code, count, at: fake.addPlayer(code, `p${joins++}`) })
    await sleep(-Math.log(1 - Math.random()) * 1000 / JOINS_PER_SECOND)
  }
  const wall = (Date.now() - wall0) / 1000
  const requests = fake.totalRequests() - requests0
  const cpuShare = (service.cpuSeconds() - cpu0) / wall
  const rssEnd = service.rssMb()
  run.active = false
  await observer
  if (observeError) throw observeError

  const p99 = percentile(lags, 99)
  const growth = rssEnd - rssBoot
  console.log(`joins: ${joins} over ${wall.toFixed(1)} s; observed ${lags.length}, never observed ${pending.length}`)
  console.log(`ecast REST requests: ${(requests / wall).toFixed(0)}/s (${(requests / wall / ROOMS).toFixed(2)} per room per second)`)
  console.log(`service CPU: ${(cpuShare * 100).toFixed(1)}% of one core (target < ${TARGETS.cpuShare * 100}%)`)
  console.log(`service RSS: ${rssBoot.toFixed(0)} MB before the watches, ${rss0.toFixed(0)} MB with ${ROOMS} watches, ` +
    `${rssEnd.toFixed(0)} MB at the end, peak ${service.peakRssMb().toFixed(0)} MB; growth ${growth.toFixed(0)} MB (target < ${TARGETS.rssGrowthMb} MB)`)
  console.log(`join → stored count lag: median ${median(lags)} ms, p99 ${p99} ms, max ${Math.max(...lags)} ms (target p99 < ${TARGETS.p99LagMs} ms)`)
  const ok = cpuShare < TARGETS.cpuShare && growth < TARGETS.rssGrowthMb && p99 < TARGETS.p99LagMs && pending.length === 0
  console.log(ok ? 'PASS' : 'FAIL')
  process.exitCode = ok ? 0 : 1
} finally {
  await db.end()
  await service.stop()
  await fake.close()
  postgres.stop()
}
