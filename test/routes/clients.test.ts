import t from 'tap'
import { once } from 'node:events'
import WebSocket from 'ws'
import { build, authHeaders } from '../helper.ts'
import { MAX_WAITING_COMMANDS } from '../../plugins/clients/index.ts'
import { until } from '../fixtures/event-log.ts'

type Message = Record<string, unknown>
/** What a test bot does with a command: answer with a command_result body, or never answer (undefined). */
type Handler = (data: unknown) => Message | undefined

const TIMEOUT_MS = 1500
const ROUTES: Array<['GET' | 'POST', string]> = [['GET', '/api/clients'], ['GET', '/api/clients/x'], ['POST', '/api/clients/x/disconnect'],
  ['POST', '/api/clients/x/message'], ['POST', '/api/clients/disconnect'], ['POST', '/api/clients/message']]

/**
 * A real `ws` client on the live socket that queues what it receives. Commands whose key has a handler are answered
 * by it; every command is also kept in `commands`, so a test can see what reached the client.
 */
class Bot {
  readonly commands: Message[] = []
  readonly #queue: Message[] = []
  readonly #waiting: Array<(m: Message) => void> = []
  handlers: Record<string, Handler> = {}
  clientId = ''

  constructor (readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      const message = JSON.parse(raw.toString()) as Message
      if (message.type === 'command') {
        this.commands.push(message)
        const answer = this.handlers[message.key as string]?.(message.data)
        if (answer) ws.send(JSON.stringify({ type: 'command_result', id: message.id, ...answer }))
        return
      }
      const resolve = this.#waiting.shift()
      if (resolve) resolve(message)
      else this.#queue.push(message)
    })
  }

  next (): Promise<Message> {
    const queued = this.#queue.shift()
    if (queued) return Promise.resolve(queued)
    return new Promise((resolve) => this.#waiting.push(resolve))
  }

  request (message: unknown): Promise<Message> {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message))
    return this.next()
  }
}

t.test('connected clients', async (t) => {
  const logLines: string[] = []
  const app = await build(t, { LOG_LEVEL: 'warn', CLIENT_COMMAND_TIMEOUT_MS: String(TIMEOUT_MS) }, {
    logger: { stream: { write: (line: string) => { logLines.push(line) } } }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const headers = authHeaders(app)

  const sockets: WebSocket[] = []
  t.afterEach(() => { for (const ws of sockets.splice(0)) ws.terminate() })

  async function connect (): Promise<Bot> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/sessions/live`)
    sockets.push(ws)
    const bot = new Bot(ws)
    await once(ws, 'open')
    return bot
  }

  async function announced (name: string, functions: string[], handlers: Record<string, Handler> = {}): Promise<Bot> {
    const bot = await connect()
    t.same(await bot.request({ type: 'auth', token: app.jwt.sign({ role: 'admin' }) }), { type: 'auth_success' })
    const ok = await bot.request({ type: 'hello', name, functions })
    t.match(ok, { type: 'hello_ok', clientId: String })
    bot.clientId = ok.clientId as string
    bot.handlers = handlers
    return bot
  }

  const get = (url: string) => app.inject({ method: 'GET', url, headers })
  const post = (url: string, payload: unknown = {}) => app.inject({ method: 'POST', url, headers, payload: payload as object })
  const message = (bot: Bot, key: string, data?: unknown) => post(`/api/clients/${bot.clientId}/message`, data === undefined ? { key } : { key, data })

  t.test('hello before auth is refused; after auth it gets a clientId', async (t) => {
    const bot = await connect()
    t.same(await bot.request({ type: 'hello', name: 'early', functions: [] }), { type: 'error', message: 'Not authenticated' })
    t.same((await get('/api/clients')).json(), { success: true, sessions: [] }, 'nobody is listed')
    t.same(await bot.request({ type: 'auth', token: app.jwt.sign({ role: 'admin' }) }), { type: 'auth_success' })
    t.same(await bot.request({ type: 'hello', name: 'x' }), { type: 'error', message: 'hello needs a name (1 to 100 characters) and functions (an array of up to 100 strings)' })
    t.same(await bot.request({ type: 'hello', name: '', functions: [] }), { type: 'error', message: 'hello needs a name (1 to 100 characters) and functions (an array of up to 100 strings)' })
    const ok = await bot.request({ type: 'hello', name: 'late', functions: ['a'] })
    t.equal(typeof ok.clientId, 'string')
    t.same(await bot.request({ type: 'ping' }), { type: 'pong' }, 'the socket keeps working')
  })

  t.test('list and get show the announced name, functions and subscriptions; a second hello keeps the clientId', async (t) => {
    const session = await app.db.insertInto('sessions').values({ notes: null, is_active: 1, closed_at: null }).returningAll().executeTakeFirstOrThrow()
    const before = Date.now()
    const overlay = await announced('obs-overlay', ['show-pick', 'say'])
    const bot = await announced('chat-bot', [])
    t.same(await overlay.request({ type: 'subscribe', sessionId: session.id }), { type: 'subscribed', sessionId: session.id })

    const list = await get('/api/clients')
    t.equal(list.statusCode, 200)
    const sessions = list.json().sessions as Array<{ created_at: number }>
    t.ok(sessions.every((s) => s.created_at >= before && s.created_at <= Date.now()), 'created_at is epoch ms of the hello')
    t.same(list.json(), {
      success: true,
      sessions: [
        { id: overlay.clientId, user_key: null, name: 'obs-overlay', functions: ['show-pick', 'say'], subscriptions: [session.id], created_at: sessions[0].created_at },
        { id: bot.clientId, user_key: null, name: 'chat-bot', functions: [], subscriptions: [], created_at: sessions[1].created_at }
      ]
    })

    const again = await overlay.request({ type: 'hello', name: 'obs-overlay-2', functions: ['show-pick'] })
    t.same(again, { type: 'hello_ok', clientId: overlay.clientId }, 'a second hello keeps the clientId')
    const one = await get(`/api/clients/${overlay.clientId}`)
    t.equal(one.statusCode, 200)
    t.same(one.json(), {
      success: true,
      session: { id: overlay.clientId, user_key: null, name: 'obs-overlay-2', functions: ['show-pick'], subscriptions: [session.id], created_at: sessions[0].created_at }
    })
    await app.db.deleteFrom('sessions').execute()
  })

  t.test('an unknown clientId is 404 on every single-client route', async (t) => {
    for (const res of [await get('/api/clients/nope'), await post('/api/clients/nope/disconnect'), await post('/api/clients/nope/message', { key: 'say' })]) {
      t.equal(res.statusCode, 404)
      t.same(res.json(), { success: false, error: 'Session not found' })
    }
  })

  t.test('a processed command, and each of the four reasons', async (t) => {
    const bot = await announced('bot', ['echo', 'list', 'fail', 'number', 'text', 'null', 'no-response', 'silent'], {
      echo: (data) => ({ ok: true, response: { got: data } }),
      list: () => ({ ok: true, response: [1, 'two', { three: 3 }] }),
      fail: () => ({ ok: false, error: 'the scene is missing' }),
      number: () => ({ ok: true, response: 42 }),
      text: () => ({ ok: true, response: 'done' }),
      null: () => ({ ok: true, response: null }),
      'no-response': () => ({ ok: true })
    })

    const processed = await message(bot, 'echo', { gameId: 7, nested: [true, null] })
    t.equal(processed.statusCode, 200)
    t.same(processed.json(), { success: true, processed: true, response: { got: { gameId: 7, nested: [true, null] } } })
    t.same((await message(bot, 'echo')).json(), { success: true, processed: true, response: { got: [] } }, 'data absent means []')
    t.same((await message(bot, 'list')).json(), { success: true, processed: true, response: [1, 'two', { three: 3 }] }, 'an array is valid')
    t.same((await message(bot, 'fail')).json(), { success: true, processed: false, reason: 'function errored, message: the scene is missing' })
    for (const key of ['number', 'text', 'null', 'no-response']) {
      t.same((await message(bot, key)).json(), { success: true, processed: false, reason: 'invalid return data' }, key)
    }

    const sent = bot.commands.length
    t.same((await message(bot, 'unknown-key')).json(), { success: true, processed: false, reason: 'function doesnt exist' })
    t.same(await bot.request({ type: 'ping' }), { type: 'pong' })
    t.equal(bot.commands.length, sent, 'an unknown key is never sent')

    const started = Date.now()
    t.same((await message(bot, 'silent')).json(), { success: true, processed: false, reason: 'client never responded' })
    t.ok(Date.now() - started >= TIMEOUT_MS - 50, 'it waited for the timeout')
    t.match(bot.commands.at(-1), { type: 'command', id: String, key: 'silent', data: [] }, 'the command reached the client')
  })

  t.test('an answer to no waiting command is dropped; a result without an id is an error', async (t) => {
    const bot = await announced('bot', ['x'])
    bot.ws.send(JSON.stringify({ type: 'command_result', id: 'never-sent', ok: true, response: {} }))
    t.same(await bot.request({ type: 'ping' }), { type: 'pong' }, 'no reply to an answer nobody waits for')
    t.same(await bot.request({ type: 'command_result', ok: true, response: {} }), { type: 'error', message: 'command_result needs the id of the command, a string' })
    t.equal(bot.ws.readyState, WebSocket.OPEN)
  })

  t.test('disconnect closes the socket with 1000 and the client leaves the list at once', async (t) => {
    const bot = await announced('bot', [])
    const other = await announced('other', [])
    const closed = once(bot.ws, 'close')
    const res = await post(`/api/clients/${bot.clientId}/disconnect`)
    t.equal(res.statusCode, 200)
    t.same(res.json(), { success: true })
    t.same((await get('/api/clients')).json().sessions.map((s: { id: string }) => s.id), [other.clientId])
    t.equal((await get(`/api/clients/${bot.clientId}`)).statusCode, 404)
    const [code] = await closed
    t.equal(code, 1000)
  })

  t.test('bulk disconnect closes each socket with 1000 and skips unknown ids', async (t) => {
    const a = await announced('a', [])
    const b = await announced('b', [])
    const c = await announced('c', [])
    const closedA = once(a.ws, 'close')
    const closedB = once(b.ws, 'close')
    const res = await post('/api/clients/disconnect', { session_ids: [a.clientId, 'unknown', b.clientId, a.clientId] })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { success: true })
    t.same((await get('/api/clients')).json().sessions.map((s: { id: string }) => s.id), [c.clientId])
    t.equal((await closedA)[0], 1000)
    t.equal((await closedB)[0], 1000)
    t.equal(c.ws.readyState, WebSocket.OPEN)
  })

  t.test('a client that closes its socket leaves the list', async (t) => {
    const bot = await announced('bot', [])
    bot.ws.close()
    await once(bot.ws, 'close')
    // The server sees the close a moment later; poll briefly rather than sleep a fixed time.
    let listed = true
    for (let i = 0; i < 50 && listed; i++) {
      listed = (await get(`/api/clients/${bot.clientId}`)).statusCode === 200
      if (listed) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    t.notOk(listed)
  })

  t.test('bulk message runs in parallel and answers in the given order within the timeout', async (t) => {
    const answers = await announced('answers', ['show-pick'], { 'show-pick': (data) => ({ ok: true, response: { shown: data } }) })
    const errors = await announced('errors', ['show-pick'], { 'show-pick': () => ({ ok: false, error: 'no scene' }) })
    const silent = await announced('silent', ['show-pick'])
    const alsoSilent = await announced('also silent', ['show-pick'])
    const started = Date.now()
    const ids = [answers.clientId, errors.clientId, silent.clientId, 'unknown', alsoSilent.clientId]
    const res = await post('/api/clients/message', { session_ids: ids, key: 'show-pick', data: { gameId: 3 } })
    const elapsed = Date.now() - started
    t.equal(res.statusCode, 200)
    t.same(res.json(), {
      success: true,
      responses: [
        { processed: true, response: { shown: { gameId: 3 } } },
        { processed: false, reason: 'function errored, message: no scene' },
        { processed: false, reason: 'client never responded' },
        { processed: false, reason: 'client never responded' },
        { processed: false, reason: 'client never responded' }
      ]
    })
    t.ok(elapsed >= TIMEOUT_MS - 50, `waited for the silent client (${elapsed} ms)`)
    t.ok(elapsed < 2 * TIMEOUT_MS, `one timeout, not one per silent client (${elapsed} ms)`)
  })

  t.test('one slow client does not delay the others', async (t) => {
    const fast = await announced('fast', ['go'], { go: () => ({ ok: true, response: {} }) })
    const slow = await announced('slow', ['go'])
    const started = Date.now()
    const [toFast] = await Promise.all([message(fast, 'go'), message(slow, 'go')])
    t.same(toFast.json(), { success: true, processed: true, response: {} })
    t.ok(Date.now() - started >= TIMEOUT_MS - 50, 'both requests ended')
    const again = Date.now()
    const slowCall = message(slow, 'go')
    t.same((await message(fast, 'go')).json(), { success: true, processed: true, response: {} })
    t.ok(Date.now() - again < TIMEOUT_MS / 2, 'the fast answer did not wait for the slow client')
    await slowCall
  })

  t.test('a client that leaves while a command waits answers "client never responded" at once', async (t) => {
    const bot = await announced('bot', ['slow'])
    const started = Date.now()
    const pending = message(bot, 'slow')
    while (bot.commands.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    bot.ws.terminate()
    t.same((await pending).json(), { success: true, processed: false, reason: 'client never responded' })
    t.ok(Date.now() - started < TIMEOUT_MS / 2, 'before the timeout')
  })

  t.test(`at most ${MAX_WAITING_COMMANDS} commands wait for one client; one more is refused at once with a log line`, async (t) => {
    const bot = await announced('bot', ['slow'])
    logLines.length = 0
    const waiting = Array.from({ length: MAX_WAITING_COMMANDS }, () => message(bot, 'slow'))
    while (bot.commands.length < MAX_WAITING_COMMANDS) await new Promise((resolve) => setTimeout(resolve, 5))
    const started = Date.now()
    t.same((await message(bot, 'slow')).json(), { success: true, processed: false, reason: 'client never responded' })
    t.ok(Date.now() - started < TIMEOUT_MS / 2, 'at once')
    t.equal(bot.commands.length, MAX_WAITING_COMMANDS, 'the extra command was not sent')
    t.match(logLines.map((l) => JSON.parse(l)), [{ level: 40, clientId: bot.clientId, waiting: MAX_WAITING_COMMANDS, msg: /too many commands waiting/ }])
    bot.ws.terminate()
    for (const res of await Promise.all(waiting)) t.same(res.json(), { success: true, processed: false, reason: 'client never responded' })
  })

  t.test('a process taken for dead (its row pruned while it was cut off) lists its clients again at its next heartbeat', async (t) => {
    const bot = await announced('survivor', ['echo'], { echo: () => ({ ok: true, response: {} }) })
    await app.db.deleteFrom('live_processes').execute()
    t.same((await get('/api/clients')).json(), { success: true, sessions: [] }, 'gone with its process row')
    await until('listed again', async () => (await get('/api/clients')).json().sessions.length === 1, 10_000)
    t.same((await get('/api/clients')).json().sessions.map((s: { id: string }) => s.id), [bot.clientId])
    t.same((await message(bot, 'echo')).json(), { success: true, processed: true, response: {} })
  })

  t.test('bad input is a 400 naming the field', async (t) => {
    const bot = await announced('bot', ['x'])
    const cases: Array<[string, string, unknown, string]> = [
      ['empty session_ids', '/api/clients/message', { session_ids: [], key: 'x' }, 'session_ids must be an array of 1 to 1000 client ids'],
      ['empty session_ids (disconnect)', '/api/clients/disconnect', { session_ids: [] }, 'session_ids must be an array of 1 to 1000 client ids'],
      ['session_ids not an array', '/api/clients/message', { session_ids: 'abc', key: 'x' }, 'session_ids must be an array of 1 to 1000 client ids'],
      ['a non-string id', '/api/clients/message', { session_ids: [bot.clientId, 5], key: 'x' }, 'session_ids[1] must be string'],
      ['a non-string id (disconnect)', '/api/clients/disconnect', { session_ids: [null] }, 'session_ids[0] must be string'],
      ['missing session_ids', '/api/clients/disconnect', {}, 'session_ids is required'],
      ['missing key', '/api/clients/message', { session_ids: [bot.clientId] }, 'key is required'],
      ['missing key (one client)', `/api/clients/${bot.clientId}/message`, {}, 'key is required'],
      ['key not a string', `/api/clients/${bot.clientId}/message`, { key: 5 }, 'key must be string'],
      ['an unknown field', '/api/clients/message', { session_ids: [bot.clientId], key: 'x', sessionIds: [] }, "Unknown field 'sessionIds' in the request body"]
    ]
    for (const [name, url, payload, error] of cases) {
      const res = await post(url, payload)
      t.equal(res.statusCode, 400, name)
      t.same(res.json(), { error }, name)
    }
    t.equal(bot.commands.length, 0, 'nothing was sent')
    t.equal(bot.ws.readyState, WebSocket.OPEN, 'nothing was disconnected')
  })

  t.test('the OpenAPI description names the operations and the ClientSession component', async (t) => {
    const spec = (await app.inject('/docs/json')).json()
    // The list route may be published with or without a trailing slash, as the other route files' '/' routes are.
    const ops = (path: string) => Object.values((spec.paths[path] ?? spec.paths[`${path}/`]) as Record<string, { operationId: string, security: unknown, tags: string[] }>)
    const described = ['/api/clients', '/api/clients/{clientId}', '/api/clients/{clientId}/disconnect', '/api/clients/{clientId}/message',
      '/api/clients/disconnect', '/api/clients/message'].flatMap(ops)
    t.same(described.map((op) => op.operationId).sort(),
      ['disconnectClient', 'disconnectClients', 'getClient', 'listClients', 'messageClient', 'messageClients'])
    for (const op of described) t.same([op.tags, op.security], [['clients'], [{ bearer: [] }]], op.operationId)
    t.ok(spec.components.schemas.ClientSession, 'ClientSession is a named component')
    t.ok(spec.components.schemas.CommandOutcome, 'CommandOutcome is a named component')
  })

  t.test('user_key is the scoped token\'s id; a bot or overlay token may not use these routes (403)', async (t) => {
    const scoped: Record<string, { id: number, token: string }> = {}
    for (const role of ['bot', 'overlay']) {
      const created = await post('/api/auth/tokens', { name: `${role} for clients`, role })
      t.equal(created.statusCode, 201)
      scoped[role] = created.json()
    }
    const overlay = await connect()
    t.same(await overlay.request({ type: 'auth', token: scoped.overlay.token }), { type: 'auth_success' })
    const { clientId } = await overlay.request({ type: 'hello', name: 'scoped overlay', functions: [] })
    t.same((await get(`/api/clients/${clientId as string}`)).json().session.user_key, scoped.overlay.id)

    for (const role of ['bot', 'overlay']) {
      for (const [method, url] of ROUTES) {
        const res = await app.inject({ method, url, headers: { authorization: `Bearer ${scoped[role].token}` }, payload: method === 'POST' ? {} : undefined })
        t.equal(res.statusCode, 403, `${role}: ${method} ${url}`)
        t.match(res.json(), { error: String })
      }
    }
  })

  t.test('every route needs a token', async (t) => {
    for (const [method, url] of ROUTES) {
      const res = await app.inject({ method, url, payload: method === 'POST' ? {} : undefined })
      t.equal(res.statusCode, 401, `${method} ${url}`)
      t.match(res.json(), { error: String })
    }
  })
})
