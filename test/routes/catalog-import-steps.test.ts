import { setImmediate } from 'node:timers/promises'
import { sql } from 'kysely'
import t from 'tap'
import { authHeaders, build, resetDb } from '../helper.ts'
import { healthBound, idleHealth, probeWhile } from '../fixtures/health-probes.ts'

// A catalog CSV import writes its new games in short statements, out of sight, and shows them with its updates in one
// short transaction. Written in one transaction, 60,000 new games held the embedded database (one connection, on the
// main thread) and so every other request for over a second.

const HEADER = 'pack_name,title,min_players,max_players'
const bigCsv = (games: number, prefix = 'g') => [HEADER, ...Array.from({ length: games }, (_, i) => `Big,${prefix}${i},1,${2 + i % 6}`)].join('\n')

t.test('catalog CSV import in short steps', async (t) => {
  const app = await build(t)
  const auth = { ...authHeaders(app), 'content-type': 'application/json' }
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  t.beforeEach(() => resetDb(app))

  const post = async (csv: string, mode = 'append') => {
    const res = await fetch(`${base}/api/games/import/csv`, { method: 'POST', headers: auth, body: JSON.stringify({ csv, mode }) })
    return { status: res.status, body: await res.json() as { imported: number, updated: number } }
  }
  const bigGames = async () => (await app.inject({ url: '/api/games?pack=Big' })).json() as Array<{ title: string, max_players: number }>
  const rowCount = async () => Number((await sql<{ n: number }>`select count(*)::int as n from game_rows`.execute(app.db)).rows[0].n)

  t.test('health answers within a bound while 60,000 new games are imported', async (t) => {
    const games = 60_000
    const csv = bigCsv(games)
    const idle = await idleHealth(base)
    const bound = healthBound(idle)
    const { result, probes } = await probeWhile(base, () => post(csv))
    t.same(result, { status: 200, body: { imported: games, updated: 0, errors: [], errorCount: 0 } })
    t.equal((await app.inject({ url: '/api/games/packs' })).json().find((p: { name: string }) => p.name === 'Big')?.total, games, 'every game imported')
    t.ok(probes.count >= 3, `${probes.count} health probes while it ran`)
    t.equal(probes.failed, 0, 'every probe answered 200')
    t.ok(probes.slowest <= bound, `slowest health probe ${probes.slowest.toFixed(0)} ms (bound ${bound} ms, idle ${idle.toFixed(0)} ms)`)
  })

  t.test('a reader sees the catalog before the import or after it, never part of it', async (t) => {
    await post(`${HEADER}\nBig,old,1,2`)
    const before = JSON.stringify(await bigGames())
    // 5,000 new games (several statements) and an update of the game there was.
    const csv = bigCsv(5000) + '\nBig,old,1,9'
    const seen = new Set<string>()
    let inFlight = 0
    const state = { done: false }
    const reading = (async () => {
      while (!state.done) {
        const games = await bigGames()
        const old = games.find((g) => g.title === 'old')
        seen.add(`${games.length} games, old max ${old?.max_players}`)
        if (!state.done) inFlight++
        await setImmediate() // inject answers without I/O: let the import's request in
      }
    })()
    const result = await post(csv).finally(() => { state.done = true })
    await reading
    t.same(result, { status: 200, body: { imported: 5000, updated: 1, errors: [], errorCount: 0 } })
    t.not(JSON.stringify(await bigGames()), before)
    t.ok(inFlight >= 2, `${inFlight} reads while the import ran`)
    t.same([...seen].filter((s) => s !== '1 games, old max 2' && s !== '5001 games, old max 9'), [], `only the states before and after: ${[...seen].join('; ')}`)
  })

  t.test('a failure part-way leaves the catalog as it was and nothing behind', async (t) => {
    await post(`${HEADER}\nBig,old,1,2`)
    const before = await bigGames()
    const rows = await rowCount()
    // The database refuses the 2,500th new game: two statements of new games were written by then.
    await sql`create function refuse_boom() returns trigger language plpgsql as $$
      begin if new.title = 'g2499' then raise exception 'refused'; end if; return new; end $$`.execute(app.db)
    await sql`create trigger refuse_boom before insert on game_rows for each row execute function refuse_boom()`.execute(app.db)
    t.teardown(async () => { await sql`drop function if exists refuse_boom() cascade`.execute(app.db) })
    const failed = await post(bigCsv(3000) + '\nBig,old,1,9', 'replace')
    t.equal(failed.status, 500)
    t.same(await bigGames(), before, 'no new game, the update not applied')
    t.equal(await rowCount(), rows, 'the rows written before the failure are deleted')
    t.same((await sql`select * from catalog_imports`.execute(app.db)).rows, [], 'the import\'s turn is given back')
    t.ok((await app.inject({ url: '/api/games/packs' })).json().length > 1, 'replace deleted nothing')
    await sql`drop trigger refuse_boom on game_rows`.execute(app.db)
    t.same(await post(bigCsv(3000) + '\nBig,old,1,9'), { status: 200, body: { imported: 3000, updated: 1, errors: [], errorCount: 0 } }, 'the next import runs')
  })

  t.test('two imports at once take turns: each sees the other whole', async (t) => {
    const [a, b] = await Promise.all([post(bigCsv(3000)), post(bigCsv(3000))])
    t.same([a, b].map((r) => r.status), [200, 200])
    t.same([a.body.imported + b.body.imported, a.body.updated + b.body.updated], [3000, 3000], `one added the games, the other updated them: ${JSON.stringify([a.body, b.body])}`)
    t.equal((await bigGames()).length, 3000)
  })

  t.test('a line that changes nothing counts as updated and writes nothing', async (t) => {
    await post(`${HEADER}\nBig,a,1,2\nBig,b,1,2\nBig,c,1,2`)
    const versions = async () => (await sql<{ title: string, v: string }>`select title, xmin::text as v from game_rows where pack_name = 'Big' order by title`.execute(app.db)).rows
    const before = await versions()
    t.same(await post(`${HEADER}\nBig,a,1,2\nBig,b,1,5\nBig,c,1,2`), { status: 200, body: { imported: 0, updated: 3, errors: [], errorCount: 0 } })
    const after = await versions()
    t.same(after.map((r, i) => r.v === before[i].v), [true, false, true], 'only b was written')
    t.same((await bigGames()).map((g) => g.max_players), [2, 5, 2])
  })

  t.test('an import whose process died stays invisible and is cleaned up by the next one', async (t) => {
    const { id } = (await sql<{ id: number }>`insert into catalog_imports (owner, after_id, expires_at)
      values ('gone', (select max(id) from game_rows), now() - interval '1 second') returning id`.execute(app.db)).rows[0]
    await sql`insert into game_rows (pack_name, title, min_players, max_players, import_id) values ('Big', 'ghost', 1, 2, ${id})`.execute(app.db)
    t.same(await bigGames(), [], 'its rows are not seen')
    t.same(await post(`${HEADER}\nBig,new,1,2`), { status: 200, body: { imported: 1, updated: 0, errors: [], errorCount: 0 } })
    t.same((await bigGames()).map((g) => g.title), ['new'])
    t.equal((await sql`select 1 from game_rows where title = 'ghost'`.execute(app.db)).rows.length, 0, 'its rows are deleted')
  })
})
