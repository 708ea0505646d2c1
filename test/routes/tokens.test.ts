import t from 'tap'
import { once } from 'node:events'
import WebSocket from 'ws'
import { build, resetDb, authHeaders } from '../helper.ts'
import { LiveSocket } from '../fixtures/live-client.ts'
import { httpCaller } from '../fixtures/http.ts'

t.test('scoped tokens and roles, through the real HTTP server', async (t) => {
  const app = await build(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const admin = authHeaders(app)
  t.beforeEach(() => resetDb(app))

  const call = httpCaller(base)
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
  const mint = async (role: string, expiresIn?: string) => {
    const res = await call('POST', '/api/auth/tokens', { name: `${role} one`, role, ...(expiresIn ? { expiresIn } : {}) }, admin)
    if (res.status !== 201) throw new Error(`could not create a ${role} token: ${res.status} ${JSON.stringify(res.body)}`)
    return res.body as { id: number, token: string }
  }
  /** The live socket's answer to an auth message with this token. */
  const liveAuth = async (token: string) => {
    const socket = new WebSocket(`${base.replace('http', 'ws')}/api/sessions/live`)
    t.teardown(() => socket.terminate())
    await once(socket, 'open')
    socket.send(JSON.stringify({ type: 'auth', token }))
    const [data] = await once(socket, 'message')
    socket.close()
    return JSON.parse(String(data))
  }

  t.test('an admin creates, lists and revokes tokens; the JWT is shown once', async (t) => {
    const before = Date.now()
    const created = await call('POST', '/api/auth/tokens', { name: 'chat bot', role: 'bot' }, admin)
    t.equal(created.status, 201)
    t.match(created.body, { id: 1, name: 'chat bot', role: 'bot', token: /^eyJ/, expiresAt: String, created_at: String })
    t.same(Object.keys(created.body).sort(), ['created_at', 'expiresAt', 'id', 'name', 'role', 'token'])
    const hours = (Date.parse(created.body.expiresAt) - before) / 3_600_000
    t.ok(hours > 23.99 && hours <= 24.001, `JWT_EXPIRES_IN by default (${hours} h)`)
    const [, payload] = created.body.token.split('.')
    t.match(JSON.parse(Buffer.from(payload, 'base64url').toString()), { role: 'bot', jti: '1', exp: Math.floor(Date.parse(created.body.expiresAt) / 1000) })

    const month = await call('POST', '/api/auth/tokens', { name: 'overlay', role: 'overlay', expiresIn: '30d' }, admin)
    t.equal(month.status, 201)
    const list = await call('GET', '/api/auth/tokens', undefined, admin)
    t.same(list.body, [
      { id: 2, name: 'overlay', role: 'overlay', expiresAt: month.body.expiresAt, created_at: month.body.created_at, last_used_at: null },
      { id: 1, name: 'chat bot', role: 'bot', expiresAt: created.body.expiresAt, created_at: created.body.created_at, last_used_at: null }
    ])

    const revoked = await call('DELETE', '/api/auth/tokens/1', undefined, admin)
    t.same([revoked.status, revoked.body], [200, { message: 'Token revoked', tokenId: 1 }])
    t.same((await call('GET', '/api/auth/tokens', undefined, admin)).body.map((row: { id: number }) => row.id), [2])
    t.same(await call('DELETE', '/api/auth/tokens/1', undefined, admin).then((r) => [r.status, r.body]), [404, { error: 'Token not found' }])
    t.same(await call('DELETE', '/api/auth/tokens/99', undefined, admin).then((r) => [r.status, r.body]), [404, { error: 'Token not found' }])
  })

  t.test('bad token requests are 400s naming the problem', async (t) => {
    const cases: [unknown, string][] = [
      [{ role: 'bot' }, 'name is required'],
      [{ name: 'x', role: 'root' }, 'role must be equal to one of the allowed values'],
      [{ name: 'x', role: 'bot', expiresIn: '31d' }, 'expiresIn must be at most 30 days'],
      [{ name: 'x', role: 'bot', expiresIn: 'forever' }, 'expiresIn must match pattern "^\\d+(ms|s|m|h|d)?$"']
    ]
    for (const [body, error] of cases) {
      const res = await call('POST', '/api/auth/tokens', body, admin)
      t.equal(res.status, 400, JSON.stringify(body))
      t.match(res.body.error, error.startsWith('role') ? /^role/ : error)
    }
  })

  t.test('a bot reads, records live votes, imports chat and uses the live socket; nothing else', async (t) => {
    const session = await call('POST', '/api/sessions', {}, admin)
    const sessionId = session.body.id as number
    t.equal((await call('POST', `/api/sessions/${sessionId}/games`, { game_id: 9 }, admin)).status, 201)
    const bot = bearer((await mint('bot')).token)

    t.match(await call('GET', '/api/auth/verify', undefined, bot), { status: 200, body: { valid: true, role: 'bot' } })
    const vote = await call('POST', '/api/votes/live', { username: 'viewer1', vote: 'up', timestamp: new Date().toISOString() }, bot)
    t.equal(vote.status, 200, 'POST /api/votes/live')
    const imported = await call('POST', `/api/sessions/${sessionId}/chat-import`, { chatData: [] }, bot)
    t.equal(imported.status, 200, 'POST /api/sessions/{id}/chat-import')
    t.equal((await call('GET', `/api/sessions/${sessionId}/export?format=json`, undefined, bot)).status, 200, 'GET export')
    t.equal((await call('GET', '/api/sessions', undefined, bot)).status, 200, 'public reads')
    t.same(await liveAuth(bot.authorization.slice(7)), { type: 'auth_success' })

    const forbidden: [string, string, unknown?][] = [
      ['POST', '/api/sessions', {}],
      ['POST', `/api/sessions/${sessionId}/close`, {}],
      ['DELETE', `/api/sessions/${sessionId}`],
      ['POST', '/api/games', { pack_name: 'P', title: 'T', min_players: 1, max_players: 2 }],
      ['GET', '/api/webhooks'],
      ['GET', '/api/auth/tokens'],
      ['POST', '/api/auth/tokens', { name: 'escalate', role: 'admin' }]
    ]
    for (const [method, path, body] of forbidden) {
      const res = await call(method, path, body, bot)
      t.same([res.status, res.body], [403, { error: 'A bot token may not do this (allowed roles: admin)' }], `${method} ${path}`)
    }
    t.equal((await call('GET', `/api/sessions/${sessionId}`)).body.is_active, 1, 'the session is still open')
  })

  t.test('an overlay reads and uses the live socket; it may not vote or import', async (t) => {
    const session = await call('POST', '/api/sessions', {}, admin)
    const overlay = bearer((await mint('overlay')).token)
    t.match(await call('GET', '/api/auth/verify', undefined, overlay), { status: 200, body: { role: 'overlay' } })
    t.equal((await call('GET', `/api/sessions/${session.body.id}/export`, undefined, overlay)).status, 200)
    t.same(await liveAuth(overlay.authorization.slice(7)), { type: 'auth_success' })
    const vote = await call('POST', '/api/votes/live', { username: 'v', vote: 'up', timestamp: new Date().toISOString() }, overlay)
    t.same([vote.status, vote.body], [403, { error: 'An overlay token may not do this (allowed roles: admin, bot)' }])
    const chat = await call('POST', `/api/sessions/${session.body.id}/chat-import`, { chatData: [] }, overlay)
    t.equal(chat.status, 403)
    t.equal((await call('POST', '/api/sessions', {}, overlay)).status, 403)
  })

  t.test('a scoped admin token may do everything', async (t) => {
    const scoped = bearer((await mint('admin')).token)
    t.equal((await call('POST', '/api/sessions', {}, scoped)).status, 201)
    t.equal((await call('GET', '/api/auth/tokens', undefined, scoped)).status, 200)
  })

  t.test('a revoked token is 401 at once, on routes and on the live socket', async (t) => {
    const { id, token } = await mint('bot')
    t.equal((await call('GET', '/api/auth/verify', undefined, bearer(token))).status, 200, 'cached as valid')
    t.equal((await call('DELETE', `/api/auth/tokens/${id}`, undefined, admin)).status, 200)
    const verify = await call('GET', '/api/auth/verify', undefined, bearer(token))
    t.same([verify.status, verify.headers.get('www-authenticate'), verify.body], [401, 'Bearer', { error: 'Token revoked' }])
    const vote = await call('POST', '/api/votes/live', { username: 'v', vote: 'up', timestamp: new Date().toISOString() }, bearer(token))
    t.equal(vote.status, 401)
    t.same(await liveAuth(token), { type: 'auth_error', message: 'Token revoked' })
  })

  t.test('a live socket authenticated with a token is signed out when the token is revoked; others keep theirs', async (t) => {
    // Ids restart with each test (resetDb): an overlay, as the bot token the test before revoked may still be in the
    // row cache, and this revoked row must not be found there by the next test.
    const { id, token } = await mint('overlay')
    t.teardown(() => app.forgetToken(id))
    const sessionId = (await call('POST', '/api/sessions', {}, admin)).body.id as number
    const url = `${base.replace('http', 'ws')}/api/sessions/live`
    const bot = await LiveSocket.open(t, url)
    const other = await LiveSocket.open(t, url)
    t.same(await bot.request({ type: 'auth', token }), { type: 'auth_success' })
    t.same(await other.request({ type: 'auth', token: admin.authorization.slice(7) }), { type: 'auth_success' })
    for (const client of [bot, other]) t.same(await client.request({ type: 'subscribe', sessionId }), { type: 'subscribed', sessionId })

    t.equal((await call('DELETE', `/api/auth/tokens/${id}`, undefined, admin)).status, 200)
    t.same(await bot.next(), { type: 'auth_error', message: 'Token revoked' }, 'told at once, subscriptions dropped')
    t.equal((await call('POST', `/api/sessions/${sessionId}/games`, { game_id: 1 }, admin)).status, 201)
    t.match(await other.next(), { type: 'game.added', data: { session: { id: sessionId } } }, 'the admin client still gets events (and no internal one)')
    await bot.assertNothingPending(t, 'no event reaches the revoked client')
    t.same(await bot.request({ type: 'subscribe', sessionId }), { type: 'error', message: 'Not authenticated' })
    t.same(await bot.request({ type: 'auth', token }), { type: 'auth_error', message: 'Token revoked' })
    const timeline = (await call('GET', `/api/sessions/${sessionId}/events`)).body as { events: Array<{ type: string }> }
    t.same(timeline.events.map((e) => e.type), ['session.started', 'game.added'], 'the revocation is not in the timeline')
  })

  t.test('a revocation reaches a process whose cache still holds the row within a second', async (t) => {
    const { id, token } = await mint('overlay')
    t.equal((await call('GET', '/api/auth/verify', undefined, bearer(token))).status, 200)
    // Revoked behind this process's back, as another process would: only the cache's age protects it.
    await app.db.updateTable('tokens').set({ revoked_at: new Date() }).where('id', '=', id).execute()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    t.equal((await call('GET', '/api/auth/verify', undefined, bearer(token))).status, 401)
  })

  t.test('an expired scoped token is 401; use is recorded in last_used_at', async (t) => {
    // 3 s, not 1 s: on a loaded machine more than a second could pass between minting and the first use.
    const { id, token } = await mint('bot', '3s')
    t.equal((await call('GET', '/api/auth/verify', undefined, bearer(token))).status, 200)
    const row = await app.db.selectFrom('tokens').select(['last_used_at', 'expires_at']).where('id', '=', id).executeTakeFirstOrThrow()
    t.type(row.last_used_at, Date)
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, row.expires_at.getTime() - Date.now()) + 100))
    const res = await call('GET', '/api/auth/verify', undefined, bearer(token))
    t.same([res.status, res.body], [401, { error: 'Token expired' }])
  })
})
