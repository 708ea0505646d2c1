import t from 'tap'
import type { components } from '../../client/api.d.ts'
import { readFileSync } from 'node:fs'
import { build, resetDb, authHeaders } from '../helper.ts'

const BUNDLED_CSV = readFileSync(new URL('../../db/catalog/jackbox-games.csv', import.meta.url), 'utf8')
const HEADER = 'pack_name,title,min_players,max_players,length_minutes,has_audience,family_friendly,game_type,drawing'
const PACK_3 = 'The Jackbox Party Pack 3'

/** A game as the API answers it (the generated client's type). */
type Game = components['schemas']['Game']

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const newGame = {
  pack_name: 'Test Pack',
  title: 'Quips, "Quotes" and More',
  min_players: 2,
  max_players: 6,
  length_minutes: 20,
  has_audience: 1,
  family_friendly: 1,
  game_type: 'Writing',
  drawing: 0
}

t.test('games catalog', async (t) => {
  const app = await build(t)
  const auth = authHeaders(app)
  t.beforeEach(() => resetDb(app))

  const list = async (query = ''): Promise<Game[]> => {
    const res = await app.inject({ url: `/api/games${query}` })
    t.equal(res.statusCode, 200, `GET /api/games${query}`)
    return res.json()
  }
  const count = async () => (await list()).length
  const addSessionGame = async (gameId: number) => {
    const session = await app.db.insertInto('sessions').values({ notes: null, is_active: 0 }).returning('id').executeTakeFirstOrThrow()
    await app.db.insertInto('session_games').values({ session_id: session.id, game_id: gameId, status: 'played' }).execute()
    return session.id
  }

  t.test('GET / lists the whole catalog, ordered by pack then title', async (t) => {
    const games = await list()
    t.equal(games.length, 67)
    for (let i = 1; i < games.length; i++) {
      const [a, b] = [games[i - 1], games[i]]
      t.ok(a.pack_name < b.pack_name || (a.pack_name === b.pack_name && a.title <= b.title), `${a.title} before ${b.title}`)
    }
    t.same(games.filter((g) => g.pack_name === PACK_3).map((g) => g.title),
      ['Fakin\' It', 'Guesspionage', 'Quiplash 2', 'Tee K.O.', 'Trivia Murder Party'])
  })

  t.test('GET / filters, each alone and combined', async (t) => {
    const all = await list()
    const expect = async (query: string, keep: (g: Game) => boolean) => {
      const got = await list(query)
      t.ok(got.length > 0, `${query} matches something`)
      t.same(got.map((g) => g.id), all.filter(keep).map((g) => g.id), query)
    }
    await app.inject({ method: 'PATCH', url: '/api/games/1/toggle', headers: auth })
    const allAfter = await list()
    t.same(allAfter.find((g) => g.id === 1)?.enabled, 0)
    all.splice(0, all.length, ...allAfter)
    await expect('?enabled=false', (g) => g.enabled === 0)
    await expect('?enabled=true', (g) => g.enabled === 1)
    await expect('?playerCount=10', (g) => g.min_players <= 10 && g.max_players >= 10)
    await expect('?playerCount=1', (g) => g.min_players <= 1)
    await expect(`?pack=${encodeURIComponent(PACK_3)}`, (g) => g.pack_name === PACK_3)
    await expect('?gameType=wRiTiNg', (g) => g.game_type === 'Writing')
    await expect('?familyFriendly=true', (g) => g.family_friendly === 1)
    await expect('?familyFriendly=false', (g) => g.family_friendly === 0)
    await expect('?drawing=true', (g) => g.drawing === 1)
    await expect('?drawing=false', (g) => g.drawing === 0)
    await expect('?q=QUIP', (g) => g.title.toLowerCase().includes('quip'))
    await expect('?q=fibbage&playerCount=8&drawing=false&enabled=true',
      (g) => g.title.includes('Fibbage') && g.min_players <= 8 && g.max_players >= 8 && g.drawing === 0 && g.enabled === 1)
    t.same(await list('?q=100%25'), [], 'q is a plain substring, % is no wildcard')
    t.same(await list('?pack=Nope'), [])
  })

  t.test('GET / rejects bad filter values with 400', async (t) => {
    for (const [query, error] of [
      ['?enabled=maybe', 'enabled must be boolean'],
      ['?playerCount=abc', 'playerCount must be integer'],
      ['?playerCount=0', 'playerCount must be >= 1'],
      ['?drawing=2', 'drawing must be boolean']
    ]) {
      const res = await app.inject({ url: `/api/games${query}` })
      t.equal(res.statusCode, 400, query)
      t.same(res.json(), { error }, query)
    }
  })

  t.test('GET /:id returns the game, 404 for an unknown id, 400 for a bad one', async (t) => {
    const res = await app.inject({ url: '/api/games/4' })
    t.equal(res.statusCode, 200)
    const game = res.json()
    t.match(game.created_at, ISO)
    t.same({ ...game, created_at: 'x' }, {
      id: 4,
      pack_name: 'The Jackbox Party Pack',
      title: 'Word Spud',
      min_players: 2,
      max_players: 8,
      length_minutes: 13,
      has_audience: 0,
      family_friendly: 0,
      game_type: 'Word',
      drawing: 0,
      play_count: 0,
      popularity_score: 0,
      upvotes: 0,
      downvotes: 0,
      enabled: 1,
      favor_bias: 0,
      created_at: 'x'
    })
    const missing = await app.inject({ url: '/api/games/999' })
    t.equal(missing.statusCode, 404)
    t.same(missing.json(), { error: 'Game not found' })
    for (const id of ['abc', '0', '-3', '1.5', '99999999999']) {
      const bad = await app.inject({ url: `/api/games/${id}` })
      t.equal(bad.statusCode, 400, id)
      t.match(bad.json(), { error: /^id / }, id)
    }
  })

  t.test('POST / adds a game (201) with defaults', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/api/games', headers: auth, payload: newGame })
    t.equal(res.statusCode, 201)
    const game = res.json()
    t.match(game, { created_at: ISO })
    t.same({ ...game, created_at: 'x' }, {
      ...newGame, id: 68, play_count: 0, popularity_score: 0, upvotes: 0, downvotes: 0, enabled: 1, favor_bias: 0, created_at: 'x'
    })
    t.same((await app.inject({ url: '/api/games/68' })).json(), game)

    const minimal = await app.inject({
      method: 'POST', url: '/api/games', headers: auth, payload: { pack_name: 'Test Pack', title: 'Bare', min_players: 1, max_players: 1 }
    })
    t.equal(minimal.statusCode, 201)
    t.match(minimal.json(), { length_minutes: null, game_type: null, has_audience: 0, family_friendly: 0, drawing: 0, enabled: 1, favor_bias: 0 })
  })

  t.test('POST / refuses bad input with 400, duplicates with 409, no token with 401; nothing is stored', async (t) => {
    const cases: [unknown, number, string, Record<string, string>?][] = [
      [{ ...newGame, min_players: 7, max_players: 6 }, 400, 'min_players cannot be greater than max_players'],
      [{ ...newGame, min_players: '2' }, 400, 'min_players must be integer'],
      [{ ...newGame, min_players: 0 }, 400, 'min_players must be >= 1'],
      [{ ...newGame, title: undefined }, 400, 'title is required'],
      [{ ...newGame, title: '' }, 400, 'title must NOT have fewer than 1 characters'],
      [{ ...newGame, drawing: 'yes' }, 400, 'drawing must be 0, 1, true or false'],
      [{ ...newGame, favor_bias: 2 }, 400, 'favor_bias must be -1, 0 or 1'],
      [{ ...newGame, length_minutes: 0 }, 400, 'length_minutes must be >= 1'],
      [{ ...newGame, pack_name: PACK_3, title: 'Quiplash 2' }, 409, 'A game with this title already exists in this pack'],
      [newGame, 401, '', {}]
    ]
    for (const [payload, status, error, headers] of cases) {
      const res = await app.inject({ method: 'POST', url: '/api/games', headers: headers ?? auth, payload: payload as object })
      t.equal(res.statusCode, status, error)
      if (status === 401) t.type(res.json().error, 'string')
      else t.same(res.json(), { error }, error)
    }
    const badJson = await app.inject({ method: 'POST', url: '/api/games', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"title": ' })
    t.equal(badJson.statusCode, 400)
    t.type(badJson.json().error, 'string')
    t.equal(await count(), 67)
  })

  t.test('PUT /:id replaces the facts, keeps what is left out, enforces the same rules', async (t) => {
    await app.inject({ method: 'PATCH', url: '/api/games/11/favor', headers: auth, payload: { favor_bias: 1 } })
    const res = await app.inject({
      method: 'PUT', url: '/api/games/11', headers: auth, payload: { pack_name: PACK_3, title: 'Quiplash 2 (renamed)', min_players: 3, max_players: 10 }
    })
    t.equal(res.statusCode, 200)
    t.match(res.json(), {
      id: 11, pack_name: PACK_3, title: 'Quiplash 2 (renamed)', min_players: 3, max_players: 10, length_minutes: 15, game_type: 'Writing', favor_bias: 1, enabled: 1
    })
    const full = await app.inject({ method: 'PUT', url: '/api/games/11', headers: auth, payload: { ...newGame, enabled: 0 } })
    t.same({ ...full.json(), created_at: 'x' }, {
      ...newGame, id: 11, enabled: 0, favor_bias: 1, play_count: 0, popularity_score: 0, upvotes: 0, downvotes: 0, created_at: 'x'
    })

    const before = await list()
    const cases: [string, unknown, number, string][] = [
      ['/api/games/11', { ...newGame, min_players: 9, max_players: 8 }, 400, 'min_players cannot be greater than max_players'],
      ['/api/games/11', { ...newGame, pack_name: PACK_3, title: 'Guesspionage' }, 409, 'A game with this title already exists in this pack'],
      ['/api/games/11', { ...newGame, max_players: 'ten' }, 400, 'max_players must be integer'],
      ['/api/games/999', newGame, 404, 'Game not found'],
      ['/api/games/x', newGame, 400, 'id must be integer']
    ]
    for (const [url, payload, status, error] of cases) {
      const bad = await app.inject({ method: 'PUT', url, headers: auth, payload: payload as object })
      t.equal(bad.statusCode, status, error)
      t.same(bad.json(), { error }, error)
    }
    t.equal((await app.inject({ method: 'PUT', url: '/api/games/11', payload: newGame })).statusCode, 401)
    t.same(await list(), before, 'nothing changed')
  })

  t.test('DELETE /:id deletes an unused game, 404 after, 409 when a session or a vote used it', async (t) => {
    const res = await app.inject({ method: 'DELETE', url: '/api/games/5', headers: auth })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { message: 'Game deleted successfully', gameId: 5 })
    t.equal((await app.inject({ url: '/api/games/5' })).statusCode, 404)
    const again = await app.inject({ method: 'DELETE', url: '/api/games/5', headers: auth })
    t.equal(again.statusCode, 404)
    t.same(again.json(), { error: 'Game not found' })

    const sessionId = await addSessionGame(6)
    const used = await app.inject({ method: 'DELETE', url: '/api/games/6', headers: auth })
    t.equal(used.statusCode, 409)
    t.same(used.json(), { error: 'Game has been played in a session and cannot be deleted. Disable it instead.' })

    await app.db.insertInto('live_votes').values({ session_id: sessionId, game_id: 7, username: 'u', vote_type: 'up', timestamp: new Date() }).execute()
    const voted = await app.inject({ method: 'DELETE', url: '/api/games/7', headers: auth })
    t.equal(voted.statusCode, 409)

    t.equal((await app.inject({ method: 'DELETE', url: '/api/games/8' })).statusCode, 401)
    t.equal((await app.inject({ method: 'DELETE', url: '/api/games/zero', headers: auth })).statusCode, 400)
    t.equal(await count(), 66)
  })

  t.test('PATCH /:id/toggle flips enabled', async (t) => {
    const off = await app.inject({ method: 'PATCH', url: '/api/games/3/toggle', headers: auth })
    t.equal(off.statusCode, 200)
    t.match(off.json(), { id: 3, title: 'Drawful', enabled: 0 })
    const on = await app.inject({ method: 'PATCH', url: '/api/games/3/toggle', headers: auth })
    t.match(on.json(), { id: 3, enabled: 1 })
    const missing = await app.inject({ method: 'PATCH', url: '/api/games/999/toggle', headers: auth })
    t.equal(missing.statusCode, 404)
    t.same(missing.json(), { error: 'Game not found' })
    t.equal((await app.inject({ method: 'PATCH', url: '/api/games/3/toggle' })).statusCode, 401)
  })

  t.test('PATCH /:id/favor sets favor_bias, rejects anything but -1, 0, 1', async (t) => {
    for (const bias of [1, -1, 0]) {
      const res = await app.inject({ method: 'PATCH', url: '/api/games/2/favor', headers: auth, payload: { favor_bias: bias } })
      t.equal(res.statusCode, 200)
      t.match(res.json(), { id: 2, favor_bias: bias })
    }
    for (const payload of [{ favor_bias: 2 }, { favor_bias: '1' }, { favor_bias: 0.5 }, {}]) {
      const res = await app.inject({ method: 'PATCH', url: '/api/games/2/favor', headers: auth, payload })
      t.equal(res.statusCode, 400, JSON.stringify(payload))
      t.match(res.json(), { error: /favor_bias/ })
    }
    t.same((await app.inject({ method: 'PATCH', url: '/api/games/999/favor', headers: auth, payload: { favor_bias: 1 } })).json(), { error: 'Game not found' })
    t.equal((await app.inject({ method: 'PATCH', url: '/api/games/2/favor', payload: { favor_bias: 1 } })).statusCode, 401)
    t.match((await app.inject({ url: '/api/games/2' })).json(), { favor_bias: 0 })
  })

  t.test('GET /packs counts games per pack; PATCH /packs/:name/toggle switches a whole pack', async (t) => {
    const packs = (await app.inject({ url: '/api/games/packs' })).json()
    t.equal(packs.length, 19)
    t.same(packs.find((p: { name: string }) => p.name === PACK_3), { name: PACK_3, total: 5, enabled: 5 })
    t.same(packs.find((p: { name: string }) => p.name === 'Fibbage'), { name: 'Fibbage', total: 1, enabled: 1 })
    t.equal(packs.reduce((n: number, p: { total: number }) => n + p.total, 0), 67)

    const url = `/api/games/packs/${encodeURIComponent(PACK_3)}/toggle`
    const off = await app.inject({ method: 'PATCH', url, headers: auth, payload: { enabled: false } })
    t.equal(off.statusCode, 200)
    t.same(off.json(), { pack: PACK_3, enabled: false, gamesAffected: 5 })
    t.same((await list(`?pack=${encodeURIComponent(PACK_3)}`)).map((g) => g.enabled), [0, 0, 0, 0, 0])
    const after = (await app.inject({ url: '/api/games/packs' })).json()
    t.same(after.find((p: { name: string }) => p.name === PACK_3), { name: PACK_3, total: 5, enabled: 0 })
    const on = await app.inject({ method: 'PATCH', url, headers: auth, payload: { enabled: true } })
    t.same(on.json(), { pack: PACK_3, enabled: true, gamesAffected: 5 })

    const unknown = await app.inject({ method: 'PATCH', url: '/api/games/packs/Nope/toggle', headers: auth, payload: { enabled: true } })
    t.equal(unknown.statusCode, 404)
    t.same(unknown.json(), { error: 'Pack not found' })
    // a flag is written as true/false or 0/1 alike
    const offByNumber = await app.inject({ method: 'PATCH', url, headers: auth, payload: { enabled: 0 } })
    t.same(offByNumber.json(), { pack: PACK_3, enabled: false, gamesAffected: 5 })
    const bad = await app.inject({ method: 'PATCH', url, headers: auth, payload: { enabled: 'on' } })
    t.equal(bad.statusCode, 400)
    t.same(bad.json(), { error: 'enabled must be 0, 1, true or false' })
    t.equal((await app.inject({ method: 'PATCH', url, payload: { enabled: false } })).statusCode, 401)
  })

  t.test('GET /export/csv is the bundled CSV for the bundled catalog, quoted where needed', async (t) => {
    const res = await app.inject({ url: '/api/games/export/csv' })
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^text\/csv/)
    t.equal(res.body, BUNDLED_CSV)

    await app.inject({ method: 'POST', url: '/api/games', headers: auth, payload: { ...newGame, length_minutes: null, game_type: null } })
    const withQuotes = (await app.inject({ url: '/api/games/export/csv' })).body
    t.equal(withQuotes.split('\n').at(-2), 'Test Pack,"Quips, ""Quotes"" and More",2,6,,1,1,,0')
  })

  t.test('POST /import/csv appends, updates, and reports bad lines by number', async (t) => {
    await app.inject({ method: 'PATCH', url: '/api/games/11/favor', headers: auth, payload: { favor_bias: 1 } })
    const csv = [
      HEADER,
      'Test Pack,"Commas, and ""quotes""",2,8,15,1,1,Writing,0',
      `${PACK_3},Quiplash 2,3,10,16,1,1,Writing,0`,
      'Test Pack,Backwards,8,2,10,0,0,Word,0',
      'Test Pack,"A title',
      'spanning two lines",3,5,,0,0,,1',
      '',
      'Test Pack,Too Few,3,5',
      'Test Pack,Bad Flag,3,5,10,2,0,Word,0',
      ',No Pack,3,5,10,0,0,Word,0',
      'Test Pack,Bad Length,3,5,abc,0,0,Word,0',
      'Test Pack,"Commas, and ""quotes""",1,2,15,1,1,Writing,0',
      'Test Pack,Last,1,100,45,0,0,,1'
    ].join('\n')
    const res = await app.inject({ method: 'POST', url: '/api/games/import/csv', headers: auth, payload: { csv, mode: 'append' } })
    t.equal(res.statusCode, 200)
    t.same(res.json(), {
      imported: 3,
      updated: 1,
      errors: [
        { line: 4, error: 'min_players cannot be greater than max_players' },
        { line: 8, error: 'Expected 9 fields, found 4' },
        { line: 9, error: 'has_audience must be 0 or 1' },
        { line: 10, error: 'pack_name is required' },
        { line: 11, error: 'length_minutes must be a positive integer' },
        { line: 12, error: 'Same pack_name and title as line 2' }
      ],
      errorCount: 6
    })
    t.equal(await count(), 70)
    const imported = await list('?pack=Test%20Pack')
    t.same(imported.map((g) => [g.title, g.min_players, g.max_players, g.length_minutes, g.game_type, g.drawing]), [
      ['A title\nspanning two lines', 3, 5, null, null, 1],
      ['Commas, and "quotes"', 2, 8, 15, 'Writing', 0],
      ['Last', 1, 100, 45, null, 1]
    ])
    t.match((await app.inject({ url: '/api/games/11' })).json(), {
      title: 'Quiplash 2', max_players: 10, length_minutes: 16, family_friendly: 1, favor_bias: 1, enabled: 1
    }, 'the update keeps favor_bias and enabled')
  })

  t.test('POST /import/csv replace deletes unlisted games except the ones sessions used', async (t) => {
    await addSessionGame(1)
    const keep = BUNDLED_CSV.split('\n').slice(0, 11).join('\n') // header + the first ten games
    const csv = keep + '\nTest Pack,New One,2,4,10,0,1,Word,0\n' + `${PACK_3},Quiplash 2,3,x\n`
    const res = await app.inject({ method: 'POST', url: '/api/games/import/csv', headers: auth, payload: { csv, mode: 'replace' } })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { imported: 1, updated: 10, errors: [{ line: 13, error: 'Expected 9 fields, found 4' }], errorCount: 1 })
    const ids = (await list()).map((g) => g.id).sort((a, b) => a - b)
    t.same(ids, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 68], 'the first ten, game 11 named on a bad line, and the new one')

    await addSessionGame(2)
    const again = await app.inject({ method: 'POST', url: '/api/games/import/csv', headers: auth, payload: { csv: HEADER + '\n', mode: 'replace' } })
    t.same(again.json(), { imported: 0, updated: 0, errors: [], errorCount: 0 })
    t.same((await list()).map((g) => g.id).sort((a, b) => a - b), [1, 2], 'only the games sessions used remain')
  })

  t.test('POST /import/csv refuses a bad header, a bad mode, no token; nothing changes', async (t) => {
    const before = await list()
    const cases: [unknown, number, string][] = [
      [{ csv: 'title,min_players\nX,1\n', mode: 'append' }, 400, 'The CSV header must name the columns pack_name, title, min_players, max_players (missing: pack_name, max_players)'],
      [{ csv: '\n\n', mode: 'append' }, 400, 'The CSV header must name the columns pack_name, title, min_players, max_players (missing: pack_name, title, min_players, max_players)'],
      [{ csv: BUNDLED_CSV, mode: 'merge' }, 400, "mode must be 'append' or 'replace'"],
      [{ csv: BUNDLED_CSV }, 400, 'mode is required'],
      [{ csv: 5, mode: 'append' }, 400, 'csv must be string'],
      [{ csv: '', mode: 'replace' }, 400, 'csv must NOT have fewer than 1 characters']
    ]
    for (const [payload, status, error] of cases) {
      const res = await app.inject({ method: 'POST', url: '/api/games/import/csv', headers: auth, payload: payload as object })
      t.equal(res.statusCode, status, error)
      t.same(res.json(), { error }, error)
    }
    const noAuth = await app.inject({ method: 'POST', url: '/api/games/import/csv', payload: { csv: HEADER + '\n', mode: 'replace' } })
    t.equal(noAuth.statusCode, 401)
    t.same(await list(), before)
  })

  t.test('export → import round-trips the catalog unchanged', async (t) => {
    await app.inject({ method: 'POST', url: '/api/games', headers: auth, payload: { ...newGame, length_minutes: null, game_type: null } })
    await app.inject({ method: 'POST', url: '/api/games', headers: auth, payload: { ...newGame, title: 'Line\nbreak, "and" comma' } })
    await app.inject({ method: 'PATCH', url: '/api/games/3/toggle', headers: auth })
    const before = await list()
    const csv = (await app.inject({ url: '/api/games/export/csv' })).body

    const same = await app.inject({ method: 'POST', url: '/api/games/import/csv', headers: auth, payload: { csv, mode: 'replace' } })
    t.same(same.json(), { imported: 0, updated: 69, errors: [], errorCount: 0 })
    t.same(await list(), before, 'importing the export into the same catalog changes nothing')

    await resetDb(app, { catalog: false })
    const fresh = await app.inject({ method: 'POST', url: '/api/games/import/csv', headers: auth, payload: { csv, mode: 'append' } })
    t.same(fresh.json(), { imported: 69, updated: 0, errors: [], errorCount: 0 })
    t.equal((await app.inject({ url: '/api/games/export/csv' })).body, csv, 'an empty catalog filled from the export exports the same CSV')
    const strip = ({ id, created_at: _c, enabled: _e, ...facts }: Game) => ({ id, ...facts })
    t.same((await list()).map(strip), before.map(strip))
  })
})
