import { startPostgres } from './lib/postgres.ts'
import { percentile, startService } from './lib/server.ts'

// A 400,000-line catalog CSV (3.4 MB: mostly bad lines, the shape of the attack in issue 11, and every 20th line a
// new game) imported through the real service on PostgreSQL 15 while a client probes GET /api/health every 10 ms.
// The baseline is the same probing of the same idle service for the same time, just before.

const LINES = Number(process.env.LINES ?? 400_000)

function csv (): { text: string, games: number, bad: number } {
  const lines = ['pack_name,title,min_players,max_players']
  let games = 0
  for (let i = 0; i < LINES; i++) {
    if (i % 20 === 0) {
      lines.push(`Big,g${i},1,2`)
      games++
    } else {
      lines.push(['x', 'Big,"q"x,1,2', 'Big,b,0,2'][i % 3])
    }
  }
  return { text: lines.join('\n'), games, bad: LINES - games }
}

/** Probes GET /api/health every 10 ms until `until()`; `at` receives each probe's start time. */
async function probe (url: string, until: () => boolean, at: number[] = []): Promise<number[]> {
  const latencies: number[] = []
  while (!until()) {
    const started = performance.now()
    const res = await fetch(`${url}/api/health`)
    await res.arrayBuffer()
    if (res.status !== 200) throw new Error(`health answered ${res.status}`)
    latencies.push(performance.now() - started)
    at.push(started)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return latencies
}

const describe = (ms: number[]) => `${ms.length} probes, median ${percentile(ms, 50).toFixed(1)} ms, p99 ${percentile(ms, 99).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms`

const postgres = startPostgres()
try {
  const { text, games, bad } = csv()
  const body = JSON.stringify({ csv: text, mode: 'append' })
  console.log(`catalog CSV: ${LINES} lines (${games} new games, ${bad} bad lines), ${(text.length / 1e6).toFixed(1)} MB`)
  const service = await startService({ DATABASE_URL: await postgres.createDatabase('csv_import') })
  try {
    const started = performance.now()
    const importing = fetch(`${service.url}/api/games/import/csv`, {
      method: 'POST', headers: { authorization: `Bearer ${service.token}`, 'content-type': 'application/json' }, body
    })
    let done = false
    const startedAt: number[] = []
    const probes = probe(service.url, () => done, startedAt)
    const res = await importing
    const result = await res.json() as { imported: number, errorCount: number }
    const seconds = (performance.now() - started) / 1000
    done = true
    const during = await probes
    if (res.status !== 200 || result.imported !== games || result.errorCount !== bad) throw new Error(`import answered ${res.status}: ${JSON.stringify(result).slice(0, 300)}`)
    const baselineEnd = performance.now() + seconds * 1000
    const idle = await probe(service.url, () => performance.now() > baselineEnd)
    console.log(`import: ${seconds.toFixed(2)} s`)
    console.log(`health while importing: ${describe(during)}`)
    console.log(`health idle (baseline): ${describe(idle)}`)
    const slowest = during.map((ms, i) => ({ ms, at: startedAt[i] - started })).sort((a, b) => b.ms - a.ms).slice(0, 3)
    console.log(`slowest probes while importing: ${slowest.map((p) => `${p.ms.toFixed(0)} ms (sent ${p.at.toFixed(0)} ms into the import)`).join(', ')}`)
    const max = Math.max(...during)
    console.log(`targets (import finishes in seconds, health max < 100 ms while importing): ${seconds < 10 && max < 100 ? 'met' : 'NOT met'}`)
  } finally {
    await service.stop()
  }
} finally {
  postgres.stop()
}
