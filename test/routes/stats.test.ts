import t from 'tap'
import { build, resetDb, authHeaders } from '../helper.ts'

t.test('stats', async (t) => {
  const app = await build(t)
  const auth = authHeaders(app)
  t.beforeEach(() => resetDb(app))

  const stats = async () => {
    const res = await app.inject({ url: '/api/stats' })
    t.equal(res.statusCode, 200)
    return res.json()
  }
  const titles = (games: { title: string }[]) => games.map((g) => g.title)

  t.test('on the bundled catalog and no sessions', async (t) => {
    const body = await stats()
    t.same(Object.keys(body).sort(), ['activeSessionId', 'games', 'gamesEnabled', 'mostPlayed', 'packs', 'sessions', 'topRated', 'totalGamesPlayed'])
    t.match(body, { games: 67, gamesEnabled: 67, packs: 19, sessions: 0, activeSessionId: null, totalGamesPlayed: 0 })
    // All counters are 0: ties go by title.
    const firstFive = ['Bidiots', 'Blather \'Round', 'Bomb Corp.', 'Bracketeering', 'Champ\'d Up']
    t.same(titles(body.mostPlayed), firstFive)
    t.same(titles(body.topRated), firstFive)
    t.match(body.mostPlayed[0], { id: 8, pack_name: 'The Jackbox Party Pack 2', play_count: 0, enabled: 1, favor_bias: 0, created_at: String })
  })

  t.test('counts sessions, session games, enabled games; ranks by play_count and popularity_score', async (t) => {
    await app.inject({ method: 'PATCH', url: '/api/games/1/toggle', headers: auth })
    await app.inject({ method: 'PATCH', url: '/api/games/packs/Fibbage/toggle', headers: auth, payload: { enabled: false } })
    const closed = await app.db.insertInto('sessions').values({ notes: 'old', is_active: 0, closed_at: new Date() }).returning('id').executeTakeFirstOrThrow()
    const active = await app.db.insertInto('sessions').values({ notes: 'tonight' }).returning('id').executeTakeFirstOrThrow()
    await app.db.insertInto('session_games').values([
      { session_id: closed.id, game_id: 3, status: 'played' },
      { session_id: closed.id, game_id: 3, status: 'played' },
      { session_id: active.id, game_id: 11, status: 'playing' }
    ]).execute()
    const counters: [number, number, number, number][] = [ // id, play_count, upvotes, downvotes
      [3, 9, 1, 4], [11, 9, 10, 0], [20, 5, 3, 3], [30, 2, 6, 1], [40, 1, 0, 0], [50, 7, 2, 0]
    ]
    for (const [id, playCount, upvotes, downvotes] of counters) {
      await app.db.updateTable('games').set({ play_count: playCount, upvotes, downvotes }).where('id', '=', id).execute()
    }
    const body = await stats()
    t.match(body, { games: 67, gamesEnabled: 65, packs: 19, sessions: 2, activeSessionId: active.id, totalGamesPlayed: 3 })
    t.same(body.mostPlayed.map((g: { id: number }) => g.id), [3, 11, 50, 20, 30], 'play_count desc, ties by title (Drawful < Quiplash 2)')
    t.same(body.topRated.map((g: { id: number, popularity_score: number }) => [g.id, g.popularity_score]), [[11, 10], [30, 5], [50, 2], [8, 0], [35, 0]],
      'popularity_score desc, then title')
    t.match(body.topRated[0], { id: 11, title: 'Quiplash 2', upvotes: 10, downvotes: 0, popularity_score: 10, play_count: 9 })

    await app.db.updateTable('sessions').set({ is_active: 0 }).execute()
    t.equal((await stats()).activeSessionId, null)
  })
})
