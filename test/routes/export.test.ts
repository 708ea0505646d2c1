import t from 'tap'
import { build, resetDb, authHeaders } from '../helper.ts'
import { insertSession, insertSessionGame } from '../fixtures/votes.ts'

t.test('export', async (t) => {
  const app = await build(t)
  const auth = authHeaders(app)
  t.beforeEach(() => resetDb(app))

  async function finishedNight () {
    const session = await insertSession(app, {
      notes: 'Friday game night',
      is_active: 0,
      created_at: new Date('2026-03-15T19:00:00.000Z'),
      closed_at: new Date('2026-03-15T23:30:00.000Z')
    })
    await insertSessionGame(app, session.id, 3, '2026-03-15T19:15:00.000Z', { manually_added: 1, player_count: 6, room_code: 'ABCD' })
    await insertSessionGame(app, session.id, 2, '2026-03-15T20:00:00.000Z', { status: 'skipped' })
    const res = await app.inject({
      method: 'POST',
      url: `/api/sessions/${session.id}/chat-import`,
      headers: auth,
      payload: {
        chatData: [
          { username: 'viewer2', message: 'what a game\nseriously', timestamp: '2026-03-15T19:30:00.000Z' },
          { username: 'viewer1', message: 'thisgame++', timestamp: '2026-03-15T19:20:00.000Z' },
          { username: 'viewer3', message: 'THISGAME--', timestamp: '2026-03-15T20:05:00.000Z' }
        ]
      }
    })
    t.equal(res.statusCode, 200)
    return session
  }

  const exportOf = (id: number | string, query = '', headers: Record<string, string> = auth) =>
    app.inject({ url: `/api/sessions/${id}/export${query}`, headers })

  t.test('JSON: the documented shape with real booleans, games in play order, chat in time order', async (t) => {
    const session = await finishedNight()
    const res = await exportOf(session.id, '?format=json')
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^application\/json/)
    t.equal(res.headers['content-disposition'], `attachment; filename="session-${session.id}.json"`)
    t.same(res.json(), {
      session: {
        id: session.id,
        created_at: '2026-03-15T19:00:00.000Z',
        closed_at: '2026-03-15T23:30:00.000Z',
        is_active: false,
        notes: 'Friday game night',
        games_played: 2
      },
      games: [
        { title: 'Drawful', pack: 'The Jackbox Party Pack', players: '3-8', type: 'Drawing', played_at: '2026-03-15T19:15:00.000Z', manually_added: true, status: 'played' },
        { title: 'Fibbage XL', pack: 'The Jackbox Party Pack', players: '2-8', type: 'Bluffing', played_at: '2026-03-15T20:00:00.000Z', manually_added: false, status: 'skipped' }
      ],
      chat_logs: [
        { username: 'viewer1', message: 'thisgame++', timestamp: '2026-03-15T19:20:00.000Z', vote: 'thisgame++' },
        { username: 'viewer2', message: 'what a game\nseriously', timestamp: '2026-03-15T19:30:00.000Z', vote: null },
        { username: 'viewer3', message: 'THISGAME--', timestamp: '2026-03-15T20:05:00.000Z', vote: 'thisgame--' }
      ]
    })
  })

  t.test('TXT (the default): header block, one line per game, then the chat log', async (t) => {
    const session = await finishedNight()
    const res = await exportOf(session.id)
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^text\/plain/)
    t.equal(res.headers['content-disposition'], `attachment; filename="session-${session.id}.txt"`)
    t.equal(res.body, [
      `Session ${session.id}`,
      'Notes: Friday game night',
      'Started: 2026-03-15T19:00:00.000Z',
      'Closed: 2026-03-15T23:30:00.000Z',
      'Games played: 2',
      '',
      'GAMES (time | title | pack | status | players)',
      '2026-03-15T19:15:00.000Z | Drawful | The Jackbox Party Pack | played | 6 players',
      '2026-03-15T20:00:00.000Z | Fibbage XL | The Jackbox Party Pack | skipped | players unknown',
      '',
      'CHAT LOG',
      '2026-03-15T19:20:00.000Z viewer1: thisgame++',
      '2026-03-15T19:30:00.000Z viewer2: what a game\\nseriously',
      '2026-03-15T20:05:00.000Z viewer3: THISGAME--',
      ''
    ].join('\n'))
    const explicit = await exportOf(session.id, '?format=txt')
    t.equal(explicit.body, res.body)
  })

  t.test('an active session with no games and no chat', async (t) => {
    const session = await insertSession(app, { notes: null })
    const json = await exportOf(session.id, '?format=json')
    t.same(json.json(), {
      session: { id: session.id, created_at: '2026-03-15T19:00:00.000Z', closed_at: null, is_active: true, notes: null, games_played: 0 },
      games: [],
      chat_logs: []
    })
    const txt = await exportOf(session.id)
    t.equal(txt.body, [
      `Session ${session.id}`, 'Notes: (none)', 'Started: 2026-03-15T19:00:00.000Z', 'Closed: (still active)', 'Games played: 0', '',
      'GAMES (time | title | pack | status | players)', '(none)', '', 'CHAT LOG', '(none)', ''
    ].join('\n'))
  })

  t.test('a chat log longer than one page comes out whole and in order', async (t) => {
    const session = await insertSession(app)
    await insertSessionGame(app, session.id, 1, '2026-03-15T19:00:00.000Z')
    const start = Date.parse('2026-03-15T19:00:00.000Z')
    // 12,001 messages: three pages and one row; pairs share a timestamp so the keyset's id tiebreak matters.
    const chatData = Array.from({ length: 12_001 }, (_, i) => ({ username: `u${i}`, message: `m${i}`, timestamp: new Date(start + Math.floor(i / 2) * 1000).toISOString() }))
    const imported = await app.inject({ method: 'POST', url: `/api/sessions/${session.id}/chat-import`, headers: auth, payload: { chatData } })
    t.equal(imported.json().messagesImported, 12_001)
    const json = await exportOf(session.id, '?format=json')
    const logs = json.json().chat_logs as Array<{ username: string }>
    t.equal(logs.length, 12_001)
    t.ok(logs.every((log, i) => log.username === `u${i}`), 'every message once, in order')
    const txt = await exportOf(session.id)
    const chatLines = txt.body.split('\n').slice(txt.body.split('\n').indexOf('CHAT LOG') + 1, -1)
    t.equal(chatLines.length, 12_001)
    t.equal(chatLines[12_000], `${new Date(start + 6000 * 1000).toISOString()} u12000: m12000`)
  })

  t.test('404 Session not found; 400 for a bad format or id; 401 without a token', async (t) => {
    const missing = await exportOf(42)
    t.equal(missing.statusCode, 404)
    t.same(missing.json(), { error: 'Session not found' })
    const session = await insertSession(app)
    const format = await exportOf(session.id, '?format=csv')
    t.equal(format.statusCode, 400)
    t.same(format.json(), { error: 'format must be "json" or "txt"' })
    const id = await exportOf('abc')
    t.equal(id.statusCode, 400)
    t.type(id.json().error, 'string')
    const noAuth = await exportOf(session.id, '', {})
    t.equal(noAuth.statusCode, 401)
    t.type(noAuth.json().error, 'string')
  })
})
