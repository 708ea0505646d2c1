import t, { type Test } from 'tap'
import { once } from 'node:events'
import { buildApp } from '../../app.ts'
import { loadConfig } from '../../plugins/config.ts'
import { MAX_WAITING_COMMANDS } from '../../plugins/clients/index.ts'
import { LIVE_LIMITS, TOO_MANY_MESSAGES, TOO_MANY_SUBSCRIPTIONS } from '../../plugins/live/limits.ts'
import { authHeaders, build, testDatabase, ADMIN_KEY, TEST_SECRET } from '../helper.ts'
import { LiveSocket, type Message } from '../fixtures/live-client.ts'
import { publish, until } from '../fixtures/event-log.ts'
import { createSigner } from 'fast-jwt'

// The live socket's input edges answer in words (an `error` message naming the field), never a 500, and one socket
// cannot flood the process.
const TIMEOUT_MS = 20_000
// The flood and the paced subscriptions take seconds of their own on a loaded machine.
t.setTimeout(300_000)
const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels)

t.test('the live socket edges', async (t) => {
  const logLines: string[] = []
  const app = await build(t, { LOG_LEVEL: 'info', CLIENT_COMMAND_TIMEOUT_MS: String(TIMEOUT_MS) }, {
    logger: { stream: { write: (line: string) => { logLines.push(line) } } }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const base = `http://127.0.0.1:${port}`
  const headers = authHeaders(app)
  const session = (await app.inject({ method: 'POST', url: '/api/sessions', headers, payload: {} })).json() as { id: number }

  /** A subtest that ends by checking the log: nothing at error level, no 500. */
  const edge = (name: string, fn: (t: Test) => Promise<void>) => t.test(name, async (t) => {
    logLines.splice(0)
    await fn(t)
    const failures = logLines.splice(0).filter((line) => JSON.parse(line).level >= 50 || line.includes('Internal Server Error'))
    t.same(failures, [], 'no error (500) in the log')
  })

  async function authed (): Promise<LiveSocket> {
    const socket = await LiveSocket.open(t, `ws://127.0.0.1:${port}/api/sessions/live`)
    t.same(await socket.request({ type: 'auth', token: app.jwt.sign({ role: 'admin' }) }), { type: 'auth_success' })
    return socket
  }

  async function hello (name: string, functions: string[]): Promise<[LiveSocket, string]> {
    const socket = await authed()
    const ok = await socket.request({ type: 'hello', name, functions })
    t.match(ok, { type: 'hello_ok', clientId: String })
    return [socket, ok.clientId as string]
  }

  /** The ids /api/clients lists now (other subtests' clients may still be connected). */
  const listedIds = async (): Promise<string[]> => {
    const res = await app.inject({ url: '/api/clients', headers })
    return (res.json() as { sessions: Array<{ id: string }> }).sessions.map((c) => c.id)
  }

  const command = (clientId: string, data: unknown) => app.inject({ method: 'POST', url: `/api/clients/${clientId}/message`, headers, payload: { key: 'f', data } })

  edge('a since no event id can reach is an error naming since, on the socket and over HTTP', async (t) => {
    const socket = await authed()
    for (const since of ['1e308', '99999999999999999999999', '9223372036854775807']) {
      socket.send(`{"type":"subscribe","sessionId":${session.id},"since":${since}}`)
      t.same(await socket.next(), { type: 'error', message: 'since must be at most 9007199254740991' }, `socket: ${since}`)
      const res = await app.inject({ url: `/api/sessions/${session.id}/events?since=${since}` })
      t.same([res.statusCode, res.json()], [400, { error: 'since must be <= 9007199254740991' }], `HTTP: ${since}`)
    }
    await socket.assertNothingPending(t, 'the socket still answers')
    t.same(await socket.request({ type: 'subscribe', sessionId: session.id, since: Number.MAX_SAFE_INTEGER }),
      { type: 'subscribed', sessionId: session.id }, 'the largest since is taken (and replays nothing)')
    await socket.assertNothingPending(t, 'nothing replayed')
  })

  edge('a NUL in hello is an error naming the field, and the registry keeps what it had', async (t) => {
    const socket = await authed()
    t.same(await socket.request({ type: 'hello', name: 'a\u0000b', functions: [] }), { type: 'error', message: 'name must not contain a NUL character' })
    t.same(await socket.request({ type: 'hello', name: 'ab', functions: ['x', 'y\u0000'] }), { type: 'error', message: 'functions[1] must not contain a NUL character' })
    t.same((await app.inject({ url: '/api/clients', headers })).json(), { success: true, sessions: [] }, 'nobody is listed')
    const ok = await socket.request({ type: 'hello', name: 'good', functions: ['f'] })
    t.same(await socket.request({ type: 'hello', name: 'bad\u0000', functions: [] }), { type: 'error', message: 'name must not contain a NUL character' })
    t.match((await app.inject({ url: `/api/clients/${ok.clientId as string}`, headers })).json(),
      { success: true, session: { name: 'good', functions: ['f'] } }, 'a refused second hello changes nothing')
  })

  edge('a command_result with a NUL or nested too deep is an error naming the field, and answers its command at once', async (t) => {
    const [socket, clientId] = await hello('bot', ['f'])
    const answers: Record<string, (id: string) => string> = {
      error: (id) => JSON.stringify({ type: 'command_result', id, ok: false, error: 'x\u0000' }),
      response: (id) => JSON.stringify({ type: 'command_result', id, ok: true, response: { a: ['ok', 'x\u0000'] } }),
      deep: (id) => `{"type":"command_result","id":"${id}","ok":true,"response":${deep(5000)}}`
    }
    socket.onCommand = (c) => answers[(c.data as { mode: string }).mode](c.id as string)
    const expected: Record<string, string> = {
      error: 'error must not contain a NUL character',
      response: 'response.a[1] must not contain a NUL character',
      deep: 'response is nested too deeply (at most 64 levels)'
    }
    for (const mode of Object.keys(answers)) {
      const started = Date.now()
      const res = await command(clientId, { mode })
      t.same([res.statusCode, res.json()], [200, { success: true, processed: false, reason: 'invalid return data' }], mode)
      t.ok(Date.now() - started < TIMEOUT_MS / 2, `${mode}: answered at once, not at the timeout`)
      t.same(await socket.nextWithin(5000, 'error'), { type: 'error', message: expected[mode] }, `${mode}: the client is told`)
    }
    // More than the client's bound of waiting commands, one after the other: none stays held.
    for (let i = 0; i < MAX_WAITING_COMMANDS + 4; i++) {
      t.same((await command(clientId, { mode: 'deep' })).json().reason, 'invalid return data')
      t.same(await socket.nextWithin(5000, 'error'), { type: 'error', message: expected.deep })
    }
    socket.onCommand = (c) => ({ type: 'command_result', id: c.id, ok: true, response: { done: true } })
    t.same((await command(clientId, [])).json(), { success: true, processed: true, response: { done: true } }, 'the client still takes commands')
  })

  edge('command data nested 5,000 levels is a 400 naming data, and holds none of the client\'s commands', async (t) => {
    const [socket, clientId] = await hello('bot', ['f'])
    socket.onCommand = (c) => ({ type: 'command_result', id: c.id, ok: true, response: { got: c.data } })
    const body = `{"key":"f","data":${deep(5000)}}`
    for (let i = 0; i < MAX_WAITING_COMMANDS + 4; i++) {
      const res = await app.inject({ method: 'POST', url: `/api/clients/${clientId}/message`, headers: { ...headers, 'content-type': 'application/json' }, payload: body })
      t.same([res.statusCode, res.json()], [400, { error: 'data is nested too deeply (at most 64 levels)' }])
    }
    const bulk = await app.inject({
      method: 'POST',
      url: '/api/clients/message',
      headers: { ...headers, 'content-type': 'application/json' },
      payload: `{"session_ids":["${clientId}"],"key":"f","data":${deep(5000)}}`
    })
    t.same([bulk.statusCode, bulk.json()], [400, { error: 'data is nested too deeply (at most 64 levels)' }], 'the bulk route too')
    t.same((await command(clientId, { a: [[1]] })).json(), { success: true, processed: true, response: { got: { a: [[1]] } } })
  })

  edge('any message with a NUL or nested too deep gets an error and the socket stays open', async (t) => {
    const socket = await authed()
    t.same(await socket.request({ type: 'subscribe\u0000', sessionId: 1 }), { type: 'error', message: 'type must not contain a NUL character' })
    t.same(await socket.request({ type: 'ping', extra: { 'k\u0000': 1 } }), { type: 'error', message: 'extra must not contain a NUL character' })
    t.same(await socket.request(`{"type":"ping","x":${deep(5000)}}`), { type: 'error', message: 'x is nested too deeply (at most 64 levels)' })
    t.same(await socket.request(deep(5000)), { type: 'error', message: 'message is nested too deeply (at most 64 levels)' })
    await socket.assertNothingPending(t, 'still answering')
  })

  edge('one socket flooding subscribe gets errors, not a stall, and health answers meanwhile', async (t) => {
    const health = async () => {
      const started = performance.now()
      const res = await fetch(`${base}/api/health`)
      t.equal(res.status, 200)
      await res.arrayBuffer()
      return performance.now() - started
    }
    const baseline: number[] = []
    for (let i = 0; i < 5; i++) baseline.push(await health())
    const socket = await authed()
    const FLOOD = 5000
    const started = performance.now()
    for (let i = 0; i < FLOOD; i++) socket.send({ type: 'subscribe', sessionId: session.id, since: 0 })
    const replies: Message[] = []
    // Generous for a loaded machine: without a bound on the socket, every one of these subscribes replays the session.
    const deadline = started + 120_000
    const read = (async () => {
      while (replies.length < FLOOD) {
        const message = await socket.nextWithin(Math.max(1, deadline - performance.now()), `reply ${replies.length + 1} of ${FLOOD}`)
        if (message.type === 'subscribed' || message.type === 'error') replies.push(message)
      }
    })()
    const state = { done: false }
    read.finally(() => { state.done = true }).catch(() => {})
    const during: number[] = []
    while (!state.done) {
      during.push(await health())
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await read
    const elapsed = performance.now() - started
    const subscribed = replies.filter((m) => m.type === 'subscribed').length
    const refused = replies.filter((m) => m.type === 'error' && m.message === TOO_MANY_MESSAGES).length
    t.equal(subscribed + refused, FLOOD, 'every message is answered: subscribed or refused in words')
    t.ok(subscribed <= LIVE_LIMITS.burst + Math.ceil(elapsed / 1000 * LIVE_LIMITS.perSecond) + 1, `${subscribed} read the log in ${Math.round(elapsed)} ms`)
    const worst = Math.max(...during)
    const bound = Math.max(2000, 10 * Math.max(...baseline))
    t.ok(worst < bound, `health took at most ${Math.round(worst)} ms during the flood (${during.length} probes; idle: ${baseline.map(Math.round).join(', ')} ms; bound ${Math.round(bound)} ms)`)
  })

  edge('a repeated subscribe costs nothing; subscriptions per socket are capped', async (t) => {
    const socket = await authed()
    for (let i = 0; i < 500; i++) socket.send({ type: 'subscribe', sessionId: session.id })
    const replies = await socket.take(500)
    t.same(replies.filter((m) => m.type !== 'subscribed'), [], 'every repeat is answered subscribed')
    // Closed sessions to subscribe to, then as many subscriptions as allowed, paced by the bucket.
    const rows = await app.db.insertInto('sessions')
      .values(Array.from({ length: LIVE_LIMITS.maxSubscriptions }, () => ({ notes: null, is_active: 0 as const, closed_at: new Date() })))
      .returning('id').execute()
    let refusedByRate = 0
    for (const { id } of rows.slice(0, LIVE_LIMITS.maxSubscriptions - 1)) {
      for (;;) {
        const reply = await socket.request({ type: 'subscribe', sessionId: id })
        if (reply.type === 'subscribed') break
        t.same(reply, { type: 'error', message: TOO_MANY_MESSAGES })
        refusedByRate++
        await new Promise((resolve) => setTimeout(resolve, 1000 / LIVE_LIMITS.perSecond))
      }
    }
    t.ok(refusedByRate > 0, 'the bucket paced them')
    t.same(await socket.request({ type: 'subscribe', sessionId: rows.at(-1)!.id }), { type: 'error', message: TOO_MANY_SUBSCRIPTIONS })
    t.same(await socket.request({ type: 'subscribe', sessionId: session.id }), { type: 'subscribed', sessionId: session.id }, 'one already held is fine')
    t.same(await socket.request({ type: 'unsubscribe', sessionId: session.id }), { type: 'unsubscribed', sessionId: session.id })
    await new Promise((resolve) => setTimeout(resolve, 1000 / LIVE_LIMITS.perSecond))
    t.same(await socket.request({ type: 'subscribe', sessionId: rows.at(-1)!.id }), { type: 'subscribed', sessionId: rows.at(-1)!.id }, 'after an unsubscribe there is room again')
  })

  edge('a frame over 64 KiB closes the socket and is logged as the client\'s fault, without a stack', async (t) => {
    const socket = await authed()
    const closed = once(socket.ws, 'close')
    logLines.splice(0)
    socket.send('x'.repeat(70 * 1024))
    await closed
    await until('the bad frame is logged', () => logLines.some((line) => line.includes('bad frame')))
    const line = JSON.parse(logLines.find((l) => l.includes('bad frame'))!)
    t.match(line, { level: 40, code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', msg: 'live client sent a bad frame: Max payload size exceeded' })
    t.notOk(JSON.stringify(line).includes('stack'), 'no stack')
  })

  edge('a token is signed out at its expiry, not at the next heartbeat, and leaves the connected clients', async (t) => {
    const exp = Math.floor(Date.now() / 1000) + 2
    const socket = await LiveSocket.open(t, `ws://127.0.0.1:${port}/api/sessions/live`)
    t.same(await socket.request({ type: 'auth', token: createSigner({ key: TEST_SECRET })({ role: 'admin', exp }) }), { type: 'auth_success' })
    t.same(await socket.request({ type: 'subscribe', sessionId: session.id }), { type: 'subscribed', sessionId: session.id })
    const ok = await socket.request({ type: 'hello', name: 'short-lived', functions: ['f'] })
    t.ok((await listedIds()).includes(ok.clientId as string), 'listed while its token is valid')
    // The heartbeat runs every 30 s: an answer within seconds of exp is the expiry timer's.
    t.same(await socket.nextWithin(exp * 1000 - Date.now() + 5000, 'auth_error'), { type: 'auth_error', message: 'Token expired' })
    t.ok(Date.now() >= exp * 1000, 'not before exp')
    t.notOk((await listedIds()).includes(ok.clientId as string), 'no longer listed')
    const res = await command(ok.clientId as string, [])
    t.ok(res.statusCode === 404 || res.json().reason === 'client never responded', `no longer commandable: ${res.body}`)
    await publish(app, 'game.started', session.id, { playerCount: 1 })
    await socket.assertNothingPending(t, 'no events after expiry')
  })

  edge('a revoked client leaves the list and is refused commands at once', async (t) => {
    const created = await app.inject({ method: 'POST', url: '/api/auth/tokens', headers, payload: { name: 'overlay', role: 'overlay' } })
    const { id: tokenId, token } = created.json() as { id: number, token: string }
    const socket = await LiveSocket.open(t, `ws://127.0.0.1:${port}/api/sessions/live?token=${token}`)
    t.same(await socket.next(), { type: 'auth_success' })
    const ok = await socket.request({ type: 'hello', name: 'overlay', functions: ['f'] })
    const clientId = ok.clientId as string
    t.match((await app.inject({ url: `/api/clients/${clientId}`, headers })).json(), { session: { user_key: tokenId } })
    t.equal((await app.inject({ method: 'DELETE', url: `/api/auth/tokens/${tokenId}`, headers })).statusCode, 200)
    t.same(await socket.nextWithin(5000, 'auth_error'), { type: 'auth_error', message: 'Token revoked' })
    t.notOk((await listedIds()).includes(clientId), 'no longer listed')
    t.same((await app.inject({ url: `/api/clients/${clientId}`, headers })).statusCode, 404)
    const res = await command(clientId, [])
    t.ok(res.statusCode === 404 || res.json().reason === 'client never responded', `refused: ${res.body}`)
    await socket.assertNothingPending(t, 'no command reached the client')
  })
})

// Two processes on one PostgreSQL database (two apps here): a refused hello or command_result leaves no stale state.
t.test('across processes', { skip: process.env.TEST_DATABASE_URL ? false : 'two processes need one PostgreSQL database (set TEST_DATABASE_URL)' }, async (t) => {
  const env = await testDatabase(t)
  const make = async () => {
    const app = buildApp(loadConfig({ LOG_LEVEL: 'silent', JWT_SECRET: TEST_SECRET, ADMIN_KEY, CLIENT_COMMAND_TIMEOUT_MS: String(TIMEOUT_MS), ...env }))
    t.teardown(() => app.close())
    await app.listen({ port: 0, host: '127.0.0.1' })
    return app
  }
  const owner = await make()
  const other = await make()
  const headers = authHeaders(other)
  const { port } = owner.server.address() as { port: number }
  const socket = await LiveSocket.open(t, `ws://127.0.0.1:${port}/api/sessions/live?token=${owner.jwt.sign({ role: 'admin' })}`)
  t.same(await socket.next(), { type: 'auth_success' })
  const ok = await socket.request({ type: 'hello', name: 'good', functions: ['f'] })
  t.same(await socket.request({ type: 'hello', name: 'bad\u0000', functions: [] }), { type: 'error', message: 'name must not contain a NUL character' })
  const view = async () => (await other.inject({ url: `/api/clients/${ok.clientId as string}`, headers })).json()
  await until('the other process lists the client', async () => (await view()).success === true)
  t.match(await view(), { session: { name: 'good', functions: ['f'] } }, 'the other process sees the name that was accepted')
  t.match((await owner.inject({ url: `/api/clients/${ok.clientId as string}`, headers })).json(), { session: { name: 'good', functions: ['f'] } })

  socket.onCommand = (c) => ({ type: 'command_result', id: c.id, ok: false, error: 'broken\u0000' })
  const started = Date.now()
  const res = await other.inject({ method: 'POST', url: `/api/clients/${ok.clientId as string}/message`, headers, payload: { key: 'f' } })
  t.same(res.json(), { success: true, processed: false, reason: 'invalid return data' }, 'routed back through the database')
  t.ok(Date.now() - started < TIMEOUT_MS / 2, 'at once, not at the timeout')
  t.same(await socket.nextWithin(5000, 'error'), { type: 'error', message: 'error must not contain a NUL character' })
})
