import t from 'tap'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { once } from 'node:events'
import WebSocket from 'ws'
import { startServer, PROCESS_ADMIN_KEY, PROCESS_JWT_SECRET } from './server-process.ts'

// The real entry point with its output piped, as under `docker logs`: the production log path, not a test logger.
t.test('logs are JSON lines with request ids, and no secret ever reaches them', async (t) => {
  const server = await startServer(t, { LOG_LEVEL: 'trace', WEBHOOK_ALLOW_LOOPBACK: 'true' })
  const api = (path: string, init: RequestInit = {}) => fetch(`${server.url}${path}`, init)
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    api(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

  const wrongKey = 'wrong-admin-key-3d9b5f27'
  t.equal((await post('/api/auth/login', { key: wrongKey })).status, 401)
  const login = await post('/api/auth/login', { key: PROCESS_ADMIN_KEY })
  t.equal(login.status, 200)
  const { token } = await login.json() as { token: string }
  const bearer = { authorization: `Bearer ${token}` }

  const verify = await api('/api/auth/verify', { headers: bearer })
  t.equal(verify.status, 200)
  const verifyId = verify.headers.get('x-request-id')
  t.match(verifyId, /^[0-9a-f-]{36}$/, 'every response names its request id')
  t.equal((await api('/api/auth/verify', { headers: { authorization: `Bearer ${token}x` } })).status, 401)
  await api(`/api/auth/verify?token=${token}`)

  // The token rides in the URL and in a message; a refused upgrade rejects here and fails the test.
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/sessions/live?token=${token}`)
  const replies: unknown[] = []
  socket.on('message', (data) => replies.push(JSON.parse(String(data))))
  await once(socket, 'open')
  socket.send(JSON.stringify({ type: 'auth', token }))
  socket.send(JSON.stringify({ type: 'ping' }))
  while (replies.length < 3) await once(socket, 'message')
  t.same(replies, [{ type: 'auth_success' }, { type: 'auth_success' }, { type: 'pong' }], 'both tokens were taken')
  socket.close()
  await once(socket, 'close')

  const deliveries: IncomingHttpHeaders[] = []
  const receiver = createServer((req, res) => {
    deliveries.push(req.headers)
    req.resume()
    res.end('ok')
  }).listen(0, '127.0.0.1')
  await once(receiver, 'listening')
  t.teardown(() => { receiver.close() })
  const webhookSecret = 'webhook-secret-8e2a6c4d1f'
  const hook = await post('/api/webhooks', {
    name: 'log check',
    url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`,
    events: ['session.started'],
    secret: webhookSecret
  }, bearer)
  t.equal(hook.status, 201, 'a webhook with a secret is stored')
  const { id } = await hook.json() as { id: number }
  t.equal((await post(`/api/webhooks/${id}/test`, {}, bearer)).status, 200)
  t.equal(deliveries.length, 1, 'one delivery reached the receiver')
  t.match(deliveries[0]?.['x-webhook-signature'], /^sha256=[0-9a-f]{64}$/, 'signed with the secret')

  process.kill(server.pid, 'SIGTERM')
  t.same(await server.exited, { code: 0, signal: null })

  const lines = server.lines().filter((line) => line !== '')
  t.ok(lines.length > 10, `${lines.length} log lines`)
  const entries = lines.map((line) => {
    try {
      return JSON.parse(line)
    } catch {
      return { unparsable: line }
    }
  })
  t.same(entries.filter((e) => 'unparsable' in e), [], 'every line is one JSON object')

  const ofVerify = entries.filter((e) => e.reqId === verifyId)
  t.same(ofVerify.map((e) => e.msg).filter((m) => m === 'incoming request' || m === 'request completed'),
    ['incoming request', 'request completed'], 'the request id ties a request to its log lines')
  t.ok(entries.some((e) => /\?token=\[redacted\]/.test(e.req?.url ?? '')), 'a token in the URL is logged as [redacted]')

  const secrets = {
    'the admin key': PROCESS_ADMIN_KEY,
    'a wrong admin key': wrongKey,
    'the token': token,
    "the token's signature": token.split('.')[2],
    JWT_SECRET: PROCESS_JWT_SECRET,
    'the webhook secret': webhookSecret
  }
  for (const [what, secret] of Object.entries(secrets)) {
    t.same(lines.filter((line) => line.includes(secret)), [], `${what} appears in no log line`)
  }
})
