import { sql } from 'kysely'
import t from 'tap'
import { build } from '../helper.ts'
import { healthBound, idleHealth, probeWhile } from '../fixtures/health-probes.ts'

// The catalog CSV export is written a page of games at a time: health answers within a bound while a catalog of
// 20,000 games (what the 400,000-line import benchmark leaves) is exported. Read and written out at once, it held the
// embedded database and then the event loop for seconds.
const GAMES = 20_000

t.test('health answers while a large catalog is exported as CSV', async (t) => {
  const app = await build(t)
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  // One statement seeds the catalog (after the 67 bundled games).
  await sql`insert into games (pack_name, title, min_players, max_players, game_type)
    select 'Big Pack', 'Game ' || i, 1 + i % 4, 8, '=formula' from generate_series(1, ${GAMES}) i`.execute(app.db)

  const idle = await idleHealth(base)
  const bound = healthBound(idle)
  const { result: lines, probes } = await probeWhile(base, async () => {
    const res = await fetch(`${base}/api/games/export/csv`)
    if (res.status !== 200) throw new Error(`export answered ${res.status}: ${await res.text()}`)
    return (await res.text()).split('\n')
  })
  t.equal(lines[0], 'pack_name,title,min_players,max_players,length_minutes,has_audience,family_friendly,game_type,drawing', 'one header line')
  t.equal(lines.filter((line) => line.startsWith('Big Pack,')).length, GAMES, 'every game exported')
  t.equal(lines.filter((line) => line.startsWith('pack_name,')).length, 1, 'no header repeated between pages')
  t.equal(lines[lines.length - 2], `Big Pack,Game ${GAMES},${1 + GAMES % 4},8,,0,0,'=formula,0`, 'in id order, cells escaped')
  t.equal(lines[lines.length - 1], '', 'ends with a line break')
  t.ok(probes.count >= 3, `${probes.count} health probes while it was written`)
  t.equal(probes.failed, 0, 'every probe answered 200')
  t.ok(probes.slowest <= bound, `slowest health probe ${probes.slowest.toFixed(0)} ms (bound ${bound} ms, idle ${idle.toFixed(0)} ms)`)
})
