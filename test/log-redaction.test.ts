import t from 'tap'
import { once } from 'node:events'
import { Writable } from 'node:stream'
import { sql } from 'kysely'
import WebSocket from 'ws'
import { buildApp } from '../app.ts'
import { loadConfig } from '../plugins/config.ts'
import { ADMIN_KEY, TEST_SECRET, authHeaders, testDatabase } from './helper.ts'
import { redactUrl } from '../plugins/logging.ts'

t.test('a logged URL loses the value of every credential-named parameter, JWT or not; other values stay', async (t) => {
  t.equal(redactUrl('/api/games?key=hunter2&secret=s3cr3t-Value&token=opaque-0123456789&limit=5'),
    '/api/games?key=[redacted]&secret=[redacted]&token=[redacted]&limit=5')
  t.equal(redactUrl('/api/x?api_key=k1&client_secret=c2&%74oken=t3&Password=p4&q=token'),
    '/api/x?api_key=[redacted]&client_secret=[redacted]&%74oken=[redacted]&Password=[redacted]&q=token')
  t.equal(redactUrl('/api/sessions?page=2&sort=key'), '/api/sessions?page=2&sort=key', 'nothing else is touched')
})

t.test('no secret, token, body or SQL parameter reaches a log line, and every line stays under 8 KB', async (t) => {
  const lines: string[] = []
  let rest = ''
  const stream = new Writable({
    write (chunk, _encoding, done) {
      const parts = (rest + chunk.toString()).split('\n')
      rest = parts.pop()!
      lines.push(...parts)
      done()
    }
  })
  const app = buildApp(loadConfig({ LOG_LEVEL: 'trace', JWT_SECRET: TEST_SECRET, ADMIN_KEY, WEBHOOK_ALLOW_LOOPBACK: 'true', ...await testDatabase(t) }),
    { logger: { stream } })
  t.teardown(() => app.close())
  const dbSecret = 'sql-param-secret-5b8e1d'
  // Routes that fail inside the database with a secret among the bound parameters: one mapped to a 400, one a 500.
  app.get('/test/sql-cast', async () => sql`select ${dbSecret}::int`.execute(app.db))
  app.get('/test/sql-crash', async () => sql`select no_such_function(${dbSecret})`.execute(app.db))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const admin = authHeaders(app)
  const jwt = admin.authorization.slice(7)
  const send = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => fetch(`${base}${path}`, {
    method, headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body)
  })

  const secret = 'webhook-secret-3c9f7a21e4'
  const created = await send('POST', '/api/webhooks', { name: 'log check', url: 'http://127.0.0.1:9/hook', events: ['session.started'], secret }, admin)
  if (created.status !== 201) throw new Error(`setup: POST /api/webhooks answered ${created.status}: ${await created.text()}`)
  const { id } = await created.json() as { id: number }
  const newSecret = 'webhook-new-secret-8d2b6f'
  const patch = await send('PATCH', `/api/webhooks/${id}`, { secret: newSecret, name: 'x\u0000' }, admin)
  t.equal(patch.status, 400, 'the failing PATCH is refused')
  const patched = await send('PATCH', `/api/webhooks/${id}`, { secret: newSecret, name: 'renamed' }, admin)
  t.equal(patched.status, 200, 'a good PATCH with a secret')

  t.equal((await send('GET', '/test/sql-cast')).status, 400)
  t.equal((await send('GET', '/test/sql-crash')).status, 500)

  const socket = new WebSocket(`${base.replace('http', 'ws')}/api/sessions/live?%74oken=${jwt}`)
  t.teardown(() => socket.terminate())
  const [message] = await once(socket, 'message')
  t.same(JSON.parse(String(message)), { type: 'auth_success' }, 'the encoded parameter name authenticates')
  socket.close()
  await once(socket, 'close')
  t.equal((await send('GET', `/api/auth/verify?TOKEN=${jwt}&access_token=${jwt}`, undefined, admin)).status, 200)

  const chat = 'chat-message-secret-7e1a'
  const session = await send('POST', '/api/sessions', { notes: 'n' }, admin)
  const sessionId = (await session.json() as { id: number }).id
  await send('POST', `/api/sessions/${sessionId}/chat-import`, { chatData: [{ username: 'u', message: chat, timestamp: 'not a date' }] }, admin)
  t.equal((await send('POST', '/api/pick', { packs: ['a'.repeat(900_000) + '\u0000'] })).status, 400)
  app.log.info({ huge: 'h'.repeat(100_000), nested: { list: Array.from({ length: 1000 }, (_, i) => `item${i}`) } }, 'm'.repeat(100_000))
  app.log.error({ err: Object.assign(new Error('boom'), { params: [dbSecret], query: `select '${dbSecret}'`, detail: dbSecret }) }, 'an error object carrying parameters')
  app.log.warn({ failure: Object.assign(new Error('nested'), { parameters: [dbSecret] }) }, 'an error under another key')

  await app.close()
  const text = lines.join('\n')
  t.ok(lines.length > 20, `${lines.length} lines captured`)
  const secrets = {
    'the webhook secret': secret,
    'the new webhook secret': newSecret,
    'the JWT': jwt,
    "the JWT's signature": jwt.split('.')[2],
    'the admin key': ADMIN_KEY,
    'a SQL parameter': dbSecret,
    'a chat message': chat
  }
  for (const [what, value] of Object.entries(secrets)) {
    t.same(lines.filter((line) => line.includes(value)), [], `${what} appears in no log line`)
  }
  t.same(lines.filter((line) => Buffer.byteLength(line) >= 8192).map((line) => line.slice(0, 200)), [], 'every line is under 8 KB')
  t.match(text, /"url":"\/api\/sessions\/live\?%74oken=\[redacted\]"/, 'the encoded token parameter is redacted')
  t.match(text, /TOKEN=\[redacted\]&access_token=\[redacted\]/, 'so is any other spelling')
  const crash = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'request failed')
  t.match(crash, { level: 50, err: { type: String, message: String, code: '42883' } }, 'the 500 is logged with its code')
  t.same(Object.keys(crash.err).filter((key) => !['type', 'message', 'code', 'routine', 'stack', 'statusCode'].includes(key)), [],
    'and nothing else of the error object')
})
