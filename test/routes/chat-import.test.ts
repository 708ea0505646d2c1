import { createHash } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { sql } from 'kysely'
import t from 'tap'
import { build, resetDb, authHeaders } from '../helper.ts'
import { insertSession, insertSessionGame, findGame, countRows } from '../fixtures/votes.ts'

t.test('chat import', async (t) => {
  const app = await build(t)
  const auth = authHeaders(app)
  t.beforeEach(() => resetDb(app))

  const importChat = (sessionId: number | string, payload: unknown, headers: Record<string, string> = auth) =>
    app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/chat-import`, headers, payload: payload as object })

  // YDKJ (game 1) at 20:00, Fibbage XL (game 2, skipped) at 20:30, Drawful (game 3) at 21:00.
  async function gameNight () {
    const session = await insertSession(app)
    const g1 = await insertSessionGame(app, session.id, 1, '2026-03-15T20:00:00.000Z')
    const g2 = await insertSessionGame(app, session.id, 2, '2026-03-15T20:30:00.000Z', { status: 'skipped' })
    const g3 = await insertSessionGame(app, session.id, 3, '2026-03-15T21:00:00.000Z', { status: 'playing' })
    return { session, g1, g2, g3 }
  }

  const timeline = [
    { title: "You Don't Know Jack 2015", played_at: '2026-03-15T20:00:00.000Z', played_at_ms: Date.parse('2026-03-15T20:00:00.000Z') },
    { title: 'Fibbage XL', played_at: '2026-03-15T20:30:00.000Z', played_at_ms: Date.parse('2026-03-15T20:30:00.000Z') },
    { title: 'Drawful', played_at: '2026-03-15T21:00:00.000Z', played_at_ms: Date.parse('2026-03-15T21:00:00.000Z') }
  ]

  const log = [
    { username: 'early', message: 'thisgame++', timestamp: '2026-03-15T19:59:59.999Z' },
    { username: 'viewer1', message: 'thisgame++', timestamp: '2026-03-15T20:00:00Z' },
    { username: 'viewer2', message: 'lol THISGAME-- honestly', timestamp: '2026-03-15T20:10:00.000Z' },
    { username: 'viewer3', message: 'hello chat', timestamp: '2026-03-15T20:11:00.000Z' },
    { username: 'viewer1', message: 'ThisGame++ ThisGame--', timestamp: '2026-03-15T20:45:00.000Z' },
    { username: 'viewer2', message: 'thisgame+ almost', timestamp: '2026-03-15T20:46:00.000Z' },
    { username: 'viewer4', message: 'thisgame++', timestamp: '2026-03-15 21:00:00' }
  ]

  t.test('imports every message, counts the votes by the timeline, and answers the documented shape', async (t) => {
    const { session, g1, g2, g3 } = await gameNight()
    const res = await importChat(session.id, { chatData: log })
    t.equal(res.statusCode, 200)
    t.same(res.json(), {
      message: 'Chat log imported and processed successfully',
      messagesImported: 7,
      duplicatesSkipped: 0,
      votesProcessed: 4,
      votesByGame: {
        1: { title: "You Don't Know Jack 2015", upvotes: 1, downvotes: 1 },
        2: { title: 'Fibbage XL', upvotes: 1, downvotes: 0 },
        3: { title: 'Drawful', upvotes: 1, downvotes: 0 }
      },
      debug: {
        sessionGamesTimeline: timeline,
        voteMatches: [
          { username: 'viewer1', message: 'thisgame++', timestamp: '2026-03-15T20:00:00.000Z', vote_type: 'up', session_game_id: g1.id, game_id: 1, title: "You Don't Know Jack 2015" },
          { username: 'viewer2', message: 'lol THISGAME-- honestly', timestamp: '2026-03-15T20:10:00.000Z', vote_type: 'down', session_game_id: g1.id, game_id: 1, title: "You Don't Know Jack 2015" },
          { username: 'viewer1', message: 'ThisGame++ ThisGame--', timestamp: '2026-03-15T20:45:00.000Z', vote_type: 'up', session_game_id: g2.id, game_id: 2, title: 'Fibbage XL' },
          { username: 'viewer4', message: 'thisgame++', timestamp: '2026-03-15T21:00:00.000Z', vote_type: 'up', session_game_id: g3.id, game_id: 3, title: 'Drawful' }
        ]
      }
    })
    t.match(await findGame(app, 1), { upvotes: 1, downvotes: 1, popularity_score: 0 })
    t.match(await findGame(app, 2), { upvotes: 1, downvotes: 0, popularity_score: 1 })
    t.match(await findGame(app, 3), { upvotes: 1, downvotes: 0, popularity_score: 1 })

    const rows = await app.db.selectFrom('chat_logs').selectAll().orderBy('timestamp').execute()
    t.equal(rows.length, 7)
    t.match(rows[0], { session_id: session.id, session_game_id: null, username: 'early', vote_type: 'up' }, 'a vote before the first game is stored, not counted')
    t.match(rows.map((r) => [r.session_game_id, r.vote_type]), [
      [null, 'up'], [g1.id, 'up'], [g1.id, 'down'], [g1.id, null], [g2.id, 'up'], [g2.id, null], [g3.id, 'up']
    ])
    const expectedHash = createHash('sha256').update('viewer1:thisgame++:2026-03-15T20:00:00.000Z').digest('hex')
    t.equal(rows[1].message_hash, expectedHash, 'the hash is of username:message:ISO timestamp')
    t.same(rows[6].timestamp, new Date('2026-03-15T21:00:00.000Z'), 'a timestamp without a zone is UTC')
  })

  t.test('re-importing the same log imports nothing and counts nothing again', async (t) => {
    const { session } = await gameNight()
    await importChat(session.id, { chatData: log })
    // The same instants written differently hash the same: the timestamp is normalised first.
    const again = log.map((row) => ({ ...row, timestamp: new Date(row.timestamp.replace(' ', 'T') + (row.timestamp.includes(' ') ? 'Z' : '')).toISOString() }))
    const res = await importChat(session.id, { chatData: again })
    t.equal(res.statusCode, 200)
    t.same(res.json(), {
      message: 'Chat log imported and processed successfully',
      messagesImported: 0,
      duplicatesSkipped: 7,
      votesProcessed: 0,
      votesByGame: {},
      debug: { sessionGamesTimeline: timeline, voteMatches: [] }
    })
    t.equal(await countRows(app, 'chat_logs'), 7)
    t.match(await findGame(app, 1), { upvotes: 1, downvotes: 1 })

    const more = await importChat(session.id, { chatData: [...log, { username: 'late', message: 'thisgame--', timestamp: '2026-03-15T21:30:00.000Z' }] })
    t.match(more.json(), { messagesImported: 1, duplicatesSkipped: 7, votesProcessed: 1, votesByGame: { 3: { title: 'Drawful', upvotes: 0, downvotes: 1 } } })
    t.match(await findGame(app, 3), { upvotes: 1, downvotes: 1 })
  })

  t.test('a row repeated within one log is stored and counted once', async (t) => {
    const { session } = await gameNight()
    const row = { username: 'v', message: 'thisgame++', timestamp: '2026-03-15T20:05:00.000Z' }
    const res = await importChat(session.id, { chatData: [row, row, { ...row, username: 'w' }] })
    t.match(res.json(), { messagesImported: 2, duplicatesSkipped: 1, votesProcessed: 2, votesByGame: { 1: { upvotes: 2, downvotes: 0 } } })
    t.match(await findGame(app, 1), { upvotes: 2 })
  })

  // On a server the columns travel in PostgreSQL's binary format (db/binary-arrays.ts), on PGlite as text.
  t.test('every row is stored as it was read: timestamps far from now and text of any kind', async (t) => {
    const { session, g3 } = await gameNight()
    const rows = [
      { username: 'ancient', message: '', timestamp: '0001-01-01T00:00:00.001Z' },
      { username: 'epoch', message: 'a "quoted", {braced} \\ backslashed, NULL', timestamp: '1969-12-31T23:59:59.999Z' },
      { username: 'y2k', message: 'thisgame-- 🎮 ünïcödé 日本語', timestamp: '1999-12-31T23:59:59.999+02:00' },
      { username: 'NULL', message: 'thisgame++', timestamp: '2026-03-15T20:15:00.5-05:30' },
      { username: 'last', message: 'thisgame++ \u2028', timestamp: '9999-12-31T23:59:59.999Z' }
    ]
    const res = await importChat(session.id, { chatData: rows })
    t.match(res.json(), { messagesImported: 5, votesProcessed: 2 })
    // The instant as the database holds it, in epoch ms (PGlite's parser reads year 1 back as 2001).
    const stored = await app.db.selectFrom('chat_logs')
      .select(['username', 'message', sql<string>`(extract(epoch from timestamp) * 1000)::bigint::text`.as('ms'), 'vote_type', 'session_game_id'])
      .where('session_id', '=', session.id).orderBy('timestamp').execute()
    t.same(stored.map((r) => [r.username, r.message, Number(r.ms), r.vote_type, r.session_game_id]), [
      ['ancient', '', Date.parse(rows[0].timestamp), null, null],
      ['epoch', rows[1].message, Date.parse(rows[1].timestamp), null, null],
      ['y2k', rows[2].message, Date.parse(rows[2].timestamp), 'down', null],
      ['NULL', 'thisgame++', Date.parse(rows[3].timestamp), 'up', g3.id],
      ['last', rows[4].message, Date.parse(rows[4].timestamp), 'up', g3.id]
    ])
  })

  t.test('the same log in two sessions is imported into each', async (t) => {
    const { session } = await gameNight()
    const other = await insertSession(app, { is_active: 0 })
    await insertSessionGame(app, other.id, 4, '2026-03-15T19:00:00.000Z')
    await importChat(session.id, { chatData: log })
    const res = await importChat(other.id, { chatData: log })
    t.match(res.json(), { messagesImported: 7, duplicatesSkipped: 0, votesProcessed: 5, votesByGame: { 4: { title: 'Word Spud', upvotes: 4, downvotes: 1 } } })
  })

  t.test('an empty log imports nothing', async (t) => {
    const { session } = await gameNight()
    const res = await importChat(session.id, { chatData: [] })
    t.equal(res.statusCode, 200)
    t.match(res.json(), { messagesImported: 0, duplicatesSkipped: 0, votesProcessed: 0, votesByGame: {} })
  })

  t.test('chatData must be an array', async (t) => {
    const { session } = await gameNight()
    for (const payload of [{}, { chatData: 'nope' }, { chatData: { username: 'a' } }, { chatData: null }, { chatData: 5 }]) {
      const res = await importChat(session.id, payload)
      t.equal(res.statusCode, 400, JSON.stringify(payload))
      t.same(res.json(), { error: 'chatData must be an array' })
    }
    t.equal(await countRows(app, 'chat_logs'), 0)
  })

  t.test('a bad row rejects the whole import with a 400 naming the first bad index', async (t) => {
    const { session } = await gameNight()
    const ok = { username: 'a', message: 'thisgame++', timestamp: '2026-03-15T20:05:00.000Z' }
    const cases: Array<[unknown, string]> = [
      [{ message: 'x', timestamp: ok.timestamp }, 'chatData[3].username is required'],
      [{ ...ok, username: '' }, 'chatData[3].username is required'],
      [{ ...ok, username: 7 }, 'chatData[3].username must be a string'],
      [{ username: 'a', timestamp: ok.timestamp }, 'chatData[3].message is required'],
      [{ ...ok, message: ['x'] }, 'chatData[3].message must be a string'],
      [{ username: 'a', message: 'x' }, 'chatData[3].timestamp is required'],
      [{ ...ok, timestamp: 'last tuesday' }, 'chatData[3].timestamp is not a valid timestamp'],
      [{ ...ok, timestamp: '2026-13-01T00:00:00Z' }, 'chatData[3].timestamp is not a valid timestamp'],
      [{ ...ok, timestamp: 1773605400000 }, 'chatData[3].timestamp is not a valid timestamp'],
      ['just a string', 'chatData[3] must be an object'],
      [null, 'chatData[3] must be an object']
    ]
    for (const [bad, error] of cases) {
      // Rows 0-2 are good, row 3 is bad, row 4 is bad in another way: only row 3 is named.
      const res = await importChat(session.id, { chatData: [ok, { ...ok, username: 'b' }, { ...ok, username: 'c' }, bad, { username: 'd' }] })
      t.equal(res.statusCode, 400, error)
      t.same(res.json(), { error })
    }
    t.equal(await countRows(app, 'chat_logs'), 0, 'nothing is stored')
    t.match(await findGame(app, 1), { upvotes: 0, downvotes: 0 })
  })

  t.test('400 No games played in this session to match votes against', async (t) => {
    const session = await insertSession(app)
    const res = await importChat(session.id, { chatData: log })
    t.equal(res.statusCode, 400)
    t.same(res.json(), { error: 'No games played in this session to match votes against' })
    t.equal(await countRows(app, 'chat_logs'), 0)
  })

  t.test('404 Session not found; 400 for a bad id; 401 without a token', async (t) => {
    const missing = await importChat(42, { chatData: log })
    t.equal(missing.statusCode, 404)
    t.same(missing.json(), { error: 'Session not found' })
    const bad = await importChat('abc', { chatData: log })
    t.equal(bad.statusCode, 400)
    const { session } = await gameNight()
    const noAuth = await importChat(session.id, { chatData: log }, {})
    t.equal(noAuth.statusCode, 401)
    t.type(noAuth.json().error, 'string')
    t.equal(await countRows(app, 'chat_logs'), 0)
  })

  t.test('invalid JSON is a 400 and stores nothing', async (t) => {
    const { session } = await gameNight()
    const res = await app.inject({
      method: 'POST', url: `/api/sessions/${session.id}/chat-import`, headers: { ...auth, 'content-type': 'application/json' }, payload: '{"chatData": ['
    })
    t.equal(res.statusCode, 400)
    t.type(res.json().error, 'string')
    t.equal(await countRows(app, 'chat_logs'), 0)
  })

  t.test('a large log: counted in batches, voteMatches stays bounded', async (t) => {
    const { session } = await gameNight()
    const start = Date.parse('2026-03-15T19:50:00.000Z')
    // 25,000 messages over 100 minutes, every 10th a vote alternating up/down: spans all three games and the time before.
    const chatData = Array.from({ length: 25_000 }, (_, i) => ({
      username: `user${i % 300}`,
      message: i % 10 === 0 ? (i % 20 === 0 ? 'thisgame++' : 'thisgame--') : `message ${i}`,
      timestamp: new Date(start + i * 240).toISOString()
    }))
    const res = await importChat(session.id, { chatData })
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.equal(body.messagesImported, 25_000)
    t.equal(body.debug.voteMatches.length, 100)
    // Votes before 20:00 (the first 2,500 messages, 250 votes) are stored but not counted.
    t.equal(body.votesProcessed, 2250)
    const counted = [1, 2, 3].map((id) => body.votesByGame[id].upvotes + body.votesByGame[id].downvotes)
    t.same(counted, [750, 750, 750])
    const games = await Promise.all([1, 2, 3].map((id) => findGame(app, id)))
    t.same(games.map((g) => [g.upvotes, g.downvotes]), [1, 2, 3].map((id) => [body.votesByGame[id].upvotes, body.votesByGame[id].downvotes]))
    const again = await importChat(session.id, { chatData })
    t.match(again.json(), { messagesImported: 0, duplicatesSkipped: 25_000, votesProcessed: 0 })
  })

  t.test('two imports of the same log at once count each vote once', async (t) => {
    const { session } = await gameNight()
    const [a, b] = await Promise.all([importChat(session.id, { chatData: log }), importChat(session.id, { chatData: log })])
    t.same([a.json().messagesImported, b.json().messagesImported].sort(), [0, 7])
    t.match(await findGame(app, 1), { upvotes: 1, downvotes: 1 })
  })

  t.test('the body is read as it arrives: a bad row after several written batches still leaves nothing stored', async (t) => {
    const { session } = await gameNight()
    const chatData: unknown[] = Array.from({ length: 12_000 }, (_, i) => ({
      username: `user${i % 50}`, message: i % 10 ? `message ${i}` : 'thisgame++', timestamp: new Date(Date.parse('2026-03-15T20:00:00Z') + i * 100).toISOString()
    }))
    chatData[11_500] = { username: 'x', message: 'y', timestamp: 'soon' }
    const res = await importChat(session.id, { chatData })
    t.equal(res.statusCode, 400)
    t.same(res.json(), { error: 'chatData[11500].timestamp is not a valid timestamp' })
    t.equal(await countRows(app, 'chat_logs'), 0, 'the batches written before the bad row are rolled back')
    t.match(await findGame(app, 1), { upvotes: 0, downvotes: 0 })
  })

  t.test('rows are read field by field: nested values, unknown fields, NUL characters, a repeated chatData', async (t) => {
    const { session } = await gameNight()
    const ok = { username: 'a', message: 'thisgame++', timestamp: '2026-03-15T20:05:00.000Z' }
    const cases: Array<[unknown, string]> = [
      [{ chatData: [ok, { ...ok, username: { name: 'a' } }] }, 'chatData[1].username must be a string'],
      [{ chatData: [ok, { ...ok, timestamp: [ok.timestamp] }] }, 'chatData[1].timestamp is not a valid timestamp'],
      [{ chatData: [ok, [ok]] }, 'chatData[1] must be an object'],
      [{ chatData: [ok, { ...ok, message: 'nul \u0000 here' }] }, 'chatData[1].message must not contain a NUL character'],
      [{ chatData: [ok, { ...ok, username: 'a\u0000' }] }, 'chatData[1].username must not contain a NUL character'],
      [[ok], 'chatData must be an array'],
      ['chatData', 'chatData must be an array']
    ]
    for (const [payload, error] of cases) {
      const res = await app.inject({
        method: 'POST', url: `/api/sessions/${session.id}/chat-import`, headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify(payload)
      })
      t.equal(res.statusCode, 400, error)
      t.same(res.json(), { error }, error)
    }
    const twice = await app.inject({
      method: 'POST',
      url: `/api/sessions/${session.id}/chat-import`,
      headers: { ...auth, 'content-type': 'application/json' },
      payload: `{"chatData": [${JSON.stringify(ok)}], "chatData": []}`
    })
    t.same(twice.json(), { error: 'chatData must appear once' })
    t.equal(await countRows(app, 'chat_logs'), 0)

    const unknown = await importChat(session.id, { chatData: [ok], source: { platform: 'twitch' } })
    t.equal(unknown.statusCode, 400)
    t.same(unknown.json(), { error: "Unknown field 'source' in the request body" })
    t.equal(await countRows(app, 'chat_logs'), 0)

    const extra = await importChat(session.id, { chatData: [{ ...ok, badges: { moderator: true, list: [1, [2]] }, id: 7 }, { ...ok, username: 'b' }] })
    t.equal(extra.statusCode, 200)
    t.match(extra.json(), { messagesImported: 2, votesProcessed: 2 }, 'a row\'s other fields are skipped')
  })

  t.test('a body announced above 200 MB is refused with 413 before it is read', async (t) => {
    const { session } = await gameNight()
    const base = await app.listen({ port: 0, host: '127.0.0.1' })
    const { status, body } = await new Promise<{ status: number, body: string }>((resolve, reject) => {
      const req = httpRequest(`${base}/api/sessions/${session.id}/chat-import`, {
        method: 'POST', headers: { ...auth, 'content-type': 'application/json', 'content-length': String(200 * 1024 * 1024 + 1) }
      }, (res) => {
        let text = ''
        res.on('data', (chunk) => { text += chunk })
        res.on('end', () => resolve({ status: res.statusCode!, body: text }))
      })
      req.on('error', reject)
      req.write('{"chatData": [')
    })
    t.equal(status, 413)
    t.same(JSON.parse(body), { error: 'Request body is too large' })
  })
})
