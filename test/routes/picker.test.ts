import t from 'tap'
import type { components } from '../../client/api.d.ts'
import { build, resetDb, authHeaders } from '../helper.ts'

/** A game as the API answers it (the generated client's type). */
type Game = components['schemas']['Game']

const PACK_3 = 'The Jackbox Party Pack 3'

t.test('picker', { timeout: 300_000 }, async (t) => {
  const app = await build(t)
  const auth = authHeaders(app)
  t.beforeEach(() => resetDb(app))

  const pick = (payload?: object) => app.inject({ method: 'POST', url: '/api/pick', ...(payload ? { payload } : {}) })
  const catalog = async (): Promise<Game[]> => (await app.inject({ url: '/api/games' })).json()
  /** The games picked by seeds 1..n. */
  const pickMany = async (payload: object, n: number): Promise<Game[]> => {
    const games: Game[] = []
    for (let seed = 1; seed <= n; seed++) {
      const res = await pick({ ...payload, seed })
      if (res.statusCode !== 200) throw new Error(`seed ${seed}: ${res.statusCode} ${res.body}`)
      games.push(res.json().game)
    }
    return games
  }

  t.test('no filters: any enabled game, with the pool and enabled counts', async (t) => {
    const res = await pick()
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.same(Object.keys(body).sort(), ['game', 'poolSize', 'totalEnabled'])
    t.match(body, { poolSize: 67, totalEnabled: 67, game: { id: Number, title: String, enabled: 1, created_at: String } })
    t.equal((await pick({})).statusCode, 200, 'an empty body works too')
  })

  t.test('every filter holds over many picks, and poolSize counts the matching games', async (t) => {
    await app.inject({ method: 'PATCH', url: '/api/games/2/toggle', headers: auth })
    const all = await catalog()
    const cases: [object, (g: Game) => boolean][] = [
      [{ playerCount: 8 }, (g) => g.min_players <= 8 && g.max_players >= 8],
      [{ playerCount: 1 }, (g) => g.min_players <= 1],
      [{ drawing: 'only' }, (g) => g.drawing === 1],
      [{ drawing: 'exclude' }, (g) => g.drawing === 0],
      [{ length: 'short' }, (g) => g.length_minutes !== null && g.length_minutes <= 15],
      [{ length: 'medium' }, (g) => g.length_minutes !== null && g.length_minutes >= 16 && g.length_minutes <= 25],
      [{ length: 'long' }, (g) => g.length_minutes !== null && g.length_minutes > 25],
      [{ familyFriendly: true }, (g) => g.family_friendly === 1],
      [{ familyFriendly: false }, (g) => g.family_friendly === 0],
      [{ gameType: 'trivia' }, (g) => g.game_type === 'Trivia'],
      [{ packs: [PACK_3, 'Fibbage'] }, (g) => g.pack_name === PACK_3 || g.pack_name === 'Fibbage'],
      [{ packs: [] }, () => true],
      [{ excludeIds: [1, 3, 5, 7] }, (g) => ![1, 3, 5, 7].includes(g.id)],
      [{ playerCount: 6, length: 'short', drawing: 'exclude', familyFriendly: false },
        (g) => g.min_players <= 6 && g.max_players >= 6 && g.length_minutes !== null && g.length_minutes <= 15 && g.drawing === 0 && g.family_friendly === 0]
    ]
    for (const [filters, keep] of cases) {
      const name = JSON.stringify(filters)
      const pool = all.filter((g) => g.enabled === 1 && keep(g))
      t.ok(pool.length > 1, `${name} has a real pool`)
      const first = (await pick({ ...filters, seed: 1 })).json()
      t.equal(first.poolSize, pool.length, `${name} poolSize`)
      t.equal(first.totalEnabled, 66, `${name} totalEnabled`)
      const picked = await pickMany(filters, 60)
      const ids = new Set(pool.map((g) => g.id))
      t.ok(picked.every((g) => ids.has(g.id)), `${name}: every pick matches`)
      t.ok(new Set(picked.map((g) => g.id)).size > 1, `${name}: more than one game comes up`)
      t.notOk(picked.some((g) => g.id === 2), `${name}: the disabled game never comes up`)
    }
  })

  t.test('games of unknown length match no length filter', async (t) => {
    const res = await app.inject({
      method: 'POST', url: '/api/games', headers: auth, payload: { pack_name: 'Lonely Pack', title: 'Untimed', min_players: 2, max_players: 4, length_minutes: null }
    })
    t.equal(res.statusCode, 201)
    for (const length of ['short', 'medium', 'long']) {
      const none = await pick({ packs: ['Lonely Pack'], length })
      t.equal(none.statusCode, 404, length)
      t.same(none.json(), { error: 'No games match the current filters' })
    }
    t.match((await pick({ packs: ['Lonely Pack'] })).json(), { game: { title: 'Untimed' }, poolSize: 1, totalEnabled: 68 })
  })

  t.test('404 when nothing matches: filters, disabled games, excluded ids', async (t) => {
    for (const filters of [{ playerCount: 999 }, { gameType: 'Nope' }, { packs: ['Nope'] }, { excludeIds: Array.from({ length: 67 }, (_, i) => i + 1) }]) {
      const res = await pick(filters)
      t.equal(res.statusCode, 404, JSON.stringify(filters).slice(0, 40))
      t.same(res.json(), { error: 'No games match the current filters' })
    }
    await app.inject({ method: 'PATCH', url: '/api/games/packs/Fibbage/toggle', headers: auth, payload: { enabled: false } })
    t.equal((await pick({ packs: ['Fibbage'] })).statusCode, 404, 'a disabled game is never picked')
  })

  t.test('repeat avoidance leaves out the session\'s two most recently added games', async (t) => {
    const session = await app.db.insertInto('sessions').values({ notes: null }).returning('id').executeTakeFirstOrThrow()
    const pack3 = (await catalog()).filter((g) => g.pack_name === PACK_3).map((g) => g.id).sort((a, b) => a - b)
    t.equal(pack3.length, 5)
    const [oldest, middle, newest, sameTimeFirst] = pack3
    const at = (minutes: number) => new Date(Date.UTC(2026, 2, 15, 19, minutes))
    // The newest by played_at is inserted first; two share a played_at, and the later id counts as more recent.
    await app.db.insertInto('session_games').values([
      { session_id: session.id, game_id: newest, played_at: at(40), status: 'playing' },
      { session_id: session.id, game_id: oldest, played_at: at(0), status: 'played' },
      { session_id: session.id, game_id: sameTimeFirst, played_at: at(20), status: 'played' },
      { session_id: session.id, game_id: middle, played_at: at(20), status: 'skipped' }
    ]).execute()
    const picked = await pickMany({ packs: [PACK_3], sessionId: session.id }, 150)
    const seen = new Set(picked.map((g) => g.id))
    t.notOk(seen.has(newest), 'the latest game is left out')
    t.notOk(seen.has(middle), 'the second latest (same time, higher id) is left out')
    t.ok(seen.has(sameTimeFirst) && seen.has(oldest) && seen.has(pack3[4]), 'older games can come up again')
    t.equal((await pick({ packs: [PACK_3], sessionId: session.id })).json().poolSize, 3)

    const other = await app.db.insertInto('sessions').values({ notes: null, is_active: 0 }).returning('id').executeTakeFirstOrThrow()
    t.equal((await pick({ packs: [PACK_3], sessionId: other.id })).json().poolSize, 5, 'a session without games excludes nothing')
    t.equal((await pick({ packs: [PACK_3] })).json().poolSize, 5, 'without sessionId nothing is excluded')

    const missing = await pick({ sessionId: 999 })
    t.equal(missing.statusCode, 404)
    t.same(missing.json(), { error: 'Session not found' })
  })

  t.test('the same seed picks the same game on the same catalog; different seeds vary', async (t) => {
    for (const seed of [0, 1, 42, 123456789, -5, 4294967295]) {
      const a = (await pick({ seed, playerCount: 4 })).json()
      const b = (await pick({ seed, playerCount: 4 })).json()
      t.same(a, b, `seed ${seed}`)
    }
    const games = new Set((await pickMany({}, 40)).map((g) => g.id))
    t.ok(games.size > 15, `40 seeds pick many games (${games.size})`)
  })

  t.test('favor_bias weighs 3 / 1 / 0.2 (seeds 1..3000)', async (t) => {
    // Pack 3's five games: one favored, one disfavored, three neutral; expected shares 3, 1, 1, 1, 0.2 of 6.2.
    const [favored, disfavored, ...neutral] = (await catalog()).filter((g) => g.pack_name === PACK_3).map((g) => g.id)
    await app.inject({ method: 'PATCH', url: `/api/games/${favored}/favor`, headers: auth, payload: { favor_bias: 1 } })
    await app.inject({ method: 'PATCH', url: `/api/games/${disfavored}/favor`, headers: auth, payload: { favor_bias: -1 } })
    const counts = new Map<number, number>()
    for (const g of await pickMany({ packs: [PACK_3] }, 3000)) counts.set(g.id, (counts.get(g.id) ?? 0) + 1)
    const perNeutral = neutral.reduce((n, id) => n + (counts.get(id) ?? 0), 0) / neutral.length
    const favoredRatio = (counts.get(favored) ?? 0) / perNeutral
    const disfavoredRatio = (counts.get(disfavored) ?? 0) / perNeutral
    t.ok(favoredRatio > 2.5 && favoredRatio < 3.5, `favored ≈ 3× neutral (got ${favoredRatio.toFixed(2)})`)
    t.ok(disfavoredRatio > 0.12 && disfavoredRatio < 0.28, `disfavored ≈ 0.2× neutral (got ${disfavoredRatio.toFixed(3)})`)
  })

  t.test('a catalog change reaches the very next pick, however it is made; vote counters do not reset the pools', async (t) => {
    const only = { packs: [PACK_3], gameType: 'Trivia', playerCount: 2 }
    const poolIds = async () => {
      const ids = new Set<number>()
      for (let seed = 1; seed <= 40; seed++) {
        const res = await pick({ ...only, seed })
        if (res.statusCode === 200) ids.add(res.json().game.id)
      }
      return [...ids].sort((a, b) => a - b)
    }
    const trivia = (await catalog()).filter((g) => g.pack_name === PACK_3 && g.game_type === 'Trivia')
      .map((g) => g.id).sort((a, b) => a - b)
    t.same(await poolIds(), trivia, 'every matching game is picked by some seed')
    const version = async () => (await app.db.selectFrom('catalog_version').select('version').executeTakeFirstOrThrow()).version

    const [first, ...rest] = trivia
    await app.inject({ method: 'PATCH', url: `/api/games/${first}/toggle`, headers: auth })
    t.same(await poolIds(), rest, 'a game disabled through the API leaves the pool at once')

    await app.db.updateTable('games').set({ enabled: 1 }).where('id', '=', first).execute()
    t.same(await poolIds(), trivia, 'a change made straight in the database is seen too (the trigger moves the version)')

    const before = await version()
    await app.db.updateTable('games').set((eb) => ({ upvotes: eb('upvotes', '+', 1), play_count: eb('play_count', '+', 1) }))
      .where('id', '=', first).execute()
    t.equal(await version(), before, 'counters do not move the version')
    const picked = (await pick({ ...only, excludeIds: rest, seed: 1 })).json().game
    t.equal(picked.upvotes, 1, 'the picked game is read fresh, counters included')
    t.equal(picked.play_count, 1)
  })

  t.test('bad input is a 400 naming the field', async (t) => {
    const cases: [unknown, string][] = [
      [{ playerCount: '5' }, 'playerCount must be integer'],
      [{ playerCount: 0 }, 'playerCount must be >= 1'],
      [{ drawing: 'maybe' }, "drawing must be 'only' or 'exclude'"],
      [{ length: 'epic' }, "length must be 'short', 'medium' or 'long'"],
      [{ familyFriendly: 1 }, 'familyFriendly must be boolean'],
      [{ packs: 'Fibbage' }, 'packs must be array'],
      [{ excludeIds: [1, 'x'] }, 'excludeIds[1] must be integer'],
      [{ sessionId: 0 }, 'sessionId must be >= 1'],
      [{ seed: 1.5 }, 'seed must be integer'],
      [[1], 'body must be object']
    ]
    for (const [payload, error] of cases) {
      const res = await pick(payload as object)
      t.equal(res.statusCode, 400, error)
      t.same(res.json(), { error }, error)
    }
    const badJson = await app.inject({ method: 'POST', url: '/api/pick', headers: { 'content-type': 'application/json' }, payload: '{"seed":' })
    t.equal(badJson.statusCode, 400)
    t.type(badJson.json().error, 'string')
  })
})
