import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { startPostgres } from './lib/postgres.ts'
import { median, startService } from './lib/server.ts'
import { messageHash, voteTypeOf } from '../domain/chat-import-tally.ts'
import { CHAT_LOG_VIEWERS, chatLog, type ChatLine } from '../test/fixtures/chat-log.ts'

// Chat logs of 100,000 and 1,000,000 messages (5% votes, 300 users, six games; about 11 and 116 MB of JSON) imported
// through the HTTP endpoint of the real service on PostgreSQL 15, then imported again (all duplicates). The floor is
// the database alone: the same rows, precomputed, COPYed into a staging table and merged into chat_logs with
// INSERT ... ON CONFLICT DO NOTHING. The service's RSS is read when it is idle (started, before the import) and at its
// peak (VmHWM after both imports); each run starts a fresh service. Beside the times, the CPU seconds the first import
// took in the service and in PostgreSQL, and the floor's in PostgreSQL: on a shared machine they move less than times.
// SIZES=100000,1000000 and RUNS (runs per size; default 3 for 100k, 1 for 1M) change what runs.

const SIZES = (process.env.SIZES ?? '100000,1000000').split(',').map(Number)
const GAMES = 6
const START = Date.parse('2026-03-15T20:00:00.000Z')
const GAME_MS = 30 * 60_000

async function setUp (client: pg.Client): Promise<{ sessionId: number, playedAt: number[] }> {
  const { rows: [session] } = await client.query<{ id: number }>('insert into sessions (notes, is_active) values ($1, 0) returning id', ['bench'])
  const playedAt = Array.from({ length: GAMES }, (_, k) => START + k * GAME_MS)
  for (let k = 0; k < GAMES; k++) {
    await client.query('insert into session_games (session_id, game_id, status, played_at) values ($1, $2, $3, $4)',
      [session.id, k + 1, 'played', new Date(playedAt[k])])
  }
  return { sessionId: session.id, playedAt }
}

async function timedImport (url: string, token: string, sessionId: number, body: Buffer) {
  const started = performance.now()
  const res = await fetch(`${url}/api/sessions/${sessionId}/chat-import`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body
  })
  const result = await res.json() as Record<string, unknown>
  const seconds = (performance.now() - started) / 1000
  if (res.status !== 200) throw new Error(`import answered ${res.status}: ${JSON.stringify(result)}`)
  return { seconds, result }
}

const csvField = (value: string | number | null) => value === null ? '' : `"${String(value).replace(/"/g, '""')}"`

/** The database's own cost for the same rows: COPY into a staging table, then one merge into chat_logs. */
async function floor (client: pg.Client, dir: string, sessionId: number, playedAt: number[], rows: ChatLine[], sessionGameIds: number[]) {
  const lines: string[] = []
  for (const row of rows) {
    const t = Date.parse(row.timestamp)
    let k = -1
    while (k + 1 < playedAt.length && playedAt[k + 1] <= t) k++
    lines.push([sessionId, k < 0 ? null : sessionGameIds[k], row.username, row.message, row.timestamp,
      voteTypeOf(row.message), messageHash(row.username, row.message, new Date(t))].map(csvField).join(','))
  }
  const file = join(dir, 'chat.csv')
  writeFileSync(file, lines.join('\n') + '\n')
  chmodSync(file, 0o644)
  await client.query('drop table if exists staging')
  await client.query(`create unlogged table staging (session_id int, session_game_id int, username text, message text,
    "timestamp" timestamptz(3), vote_type text, message_hash text)`)
  const started = performance.now()
  await client.query(`copy staging from '${file}' with (format csv)`)
  const merged = await client.query(`insert into chat_logs (session_id, session_game_id, username, message, "timestamp", vote_type, message_hash)
    select session_id, session_game_id, username, message, "timestamp", vote_type, message_hash from staging
    on conflict (session_id, message_hash) do nothing`)
  const seconds = (performance.now() - started) / 1000
  if (merged.rowCount !== rows.length) throw new Error(`floor merged ${merged.rowCount} rows`)
  return seconds
}

const postgres = startPostgres()
const dir = mkdtempSync(join(tmpdir(), 'bench-chat-'))
chmodSync(dir, 0o755)
const summary: string[] = []
let allMet = true
try {
  for (const MESSAGES of SIZES) {
    const RUNS = Number(process.env.RUNS ?? (MESSAGES >= 1_000_000 ? 1 : 3))
    let rows: ChatLine[] | undefined = chatLog(MESSAGES, START, (GAMES * GAME_MS) / MESSAGES)
    const votes = rows.filter((r) => voteTypeOf(r.message)).length
    const body = Buffer.from(JSON.stringify({ chatData: rows }))
    console.log(`\nchat log: ${MESSAGES} messages, ${votes} votes, ${CHAT_LOG_VIEWERS} users, ${GAMES} games, ${(body.length / 1e6).toFixed(1)} MB of JSON; ${RUNS} runs`)
    const results: Array<{ first: number, again: number, floor: number, idle: number, peak: number, serviceCpu: number, dbCpu: number, floorCpu: number }> = []
    for (let run = 1; run <= RUNS; run++) {
      const databaseUrl = await postgres.createDatabase(`chat_import_${MESSAGES}_${run}`)
      const service = await startService({ DATABASE_URL: databaseUrl })
      const client = new pg.Client({ connectionString: databaseUrl })
      await client.connect()
      try {
        const { sessionId } = await setUp(client)
        const idle = service.rssMb()
        const cpuBefore = [service.cpuSeconds(), postgres.cpuSeconds()]
        const first = await timedImport(service.url, service.token, sessionId, body)
        const serviceCpu = service.cpuSeconds() - cpuBefore[0]
        const dbCpu = postgres.cpuSeconds() - cpuBefore[1]
        if (first.result.messagesImported !== MESSAGES) throw new Error(`imported ${String(first.result.messagesImported)}`)
        const again = await timedImport(service.url, service.token, sessionId, body)
        if (again.result.duplicatesSkipped !== MESSAGES) throw new Error(`re-import skipped ${String(again.result.duplicatesSkipped)}`)
        const peak = service.peakRssMb()
        // The floor writes the same rows for a second session with the same games, into the same table and indexes.
        const { sessionId: floorSession, playedAt: floorPlayedAt } = await setUp(client)
        const { rows: games } = await client.query<{ id: number }>('select id from session_games where session_id = $1 order by played_at, id', [floorSession])
        const floorCpuBefore = postgres.cpuSeconds()
        const floorSeconds = await floor(client, dir, floorSession, floorPlayedAt, rows, games.map((g) => g.id))
        const floorCpu = postgres.cpuSeconds() - floorCpuBefore
        results.push({ first: first.seconds, again: again.seconds, floor: floorSeconds, idle, peak, serviceCpu, dbCpu, floorCpu })
        console.log(`run ${run}: import ${first.seconds.toFixed(2)} s, re-import ${again.seconds.toFixed(2)} s, floor (COPY + merge) ${floorSeconds.toFixed(2)} s, ` +
          `ratios ${(first.seconds / floorSeconds).toFixed(2)} / ${(again.seconds / floorSeconds).toFixed(2)}, ` +
          `import CPU ${serviceCpu.toFixed(2)} s service + ${dbCpu.toFixed(2)} s PostgreSQL (floor ${floorCpu.toFixed(2)} s), service RSS idle ${idle.toFixed(0)} MB, peak ${peak.toFixed(0)} MB (+${(peak - idle).toFixed(0)})`)
      } finally {
        await client.end()
        await service.stop()
      }
    }
    rows = undefined
    const m = (key: keyof typeof results[number]) => median(results.map((r) => r[key]))
    const firstRatio = median(results.map((r) => r.first / r.floor))
    const againRatio = median(results.map((r) => r.again / r.floor))
    const growth = median(results.map((r) => r.peak - r.idle))
    const line = `${MESSAGES} messages, median of ${RUNS}: import ${m('first').toFixed(2)} s (ratio to floor ${firstRatio.toFixed(2)}), ` +
      `re-import ${m('again').toFixed(2)} s (ratio ${againRatio.toFixed(2)}), floor ${m('floor').toFixed(2)} s, ` +
      `import CPU ${m('serviceCpu').toFixed(2)} s service + ${m('dbCpu').toFixed(2)} s PostgreSQL (floor ${m('floorCpu').toFixed(2)} s), ` +
      `RSS idle ${m('idle').toFixed(0)} MB, peak ${m('peak').toFixed(0)} MB (+${growth.toFixed(0)})`
    console.log(line)
    const ok = firstRatio <= 1.5 && againRatio <= 1.5 && (MESSAGES < 1_000_000 || growth <= 100)
    allMet &&= ok
    summary.push(`${line}: targets ${ok ? 'met' : 'NOT met'}`)
  }
  console.log(`\n${summary.join('\n')}`)
  console.log(`targets (both ratios <= 1.5 at every size; peak RSS <= idle + 100 MB at 1M): ${allMet ? 'met' : 'NOT met'}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
  postgres.stop()
}
