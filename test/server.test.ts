import t from 'tap'
import { request, Agent } from 'node:http'
import { once } from 'node:events'
import WebSocket from 'ws'
import { startServer, PROCESS_ADMIN_KEY } from './server-process.ts'

const json = (line: string) => {
  try {
    return JSON.parse(line)
  } catch {
    return {}
  }
}

/**
 * Connects to the live WebSocket and proves the route answers (a ping gets its pong). Resolves with the open socket;
 * rejects when the upgrade is refused or the socket closes unanswered, so a missing route fails the test.
 */
function connectLive (url: string, token: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url.replace('http', 'ws')}/api/sessions/live?token=${token}`)
    socket.once('open', () => socket.send(JSON.stringify({ type: 'ping' })))
    socket.on('message', (data) => {
      if (JSON.parse(String(data)).type === 'pong') resolve(socket)
    })
    socket.once('close', (code) => reject(new Error(`the live socket closed (${code}) without answering a ping`)))
    socket.once('unexpected-response', (_req, res) => {
      res.resume()
      reject(new Error(`the live socket upgrade was refused with ${res.statusCode}`))
    })
    socket.once('error', reject)
  })
}

t.test('SIGTERM drains: the in-flight request completes, live sockets get a close frame, exit 0', async (t) => {
  const server = await startServer(t, { LOG_LEVEL: 'info' })

  const login = await fetch(`${server.url}/api/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: PROCESS_ADMIN_KEY })
  })
  const { token } = await login.json() as { token: string }

  const live = await connectLive(server.url, token)
  const closed = once(live, 'close') as Promise<[number, Buffer]>

  // A slow client: the headers and half the body now, the rest only after SIGTERM has been handled.
  // A keep-alive agent, as browsers and bots use, must not hold the drain open either.
  const body = JSON.stringify({ key: PROCESS_ADMIN_KEY })
  const slow = request({
    host: '127.0.0.1',
    port: server.port,
    method: 'POST',
    path: '/api/auth/login',
    agent: new Agent({ keepAlive: true }),
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-request-id': 'slow-request' }
  })
  const answered = once(slow, 'response').then(async ([res]) => {
    let text = ''
    for await (const chunk of res) text += chunk
    return { status: res.statusCode as number, body: JSON.parse(text) }
  })
  slow.write(body.slice(0, 8))
  await server.waitForLine((line) => json(line).reqId === 'slow-request' && json(line).msg === 'incoming request')

  process.kill(server.pid, 'SIGTERM')
  const exitedInTime = Promise.race([
    server.exited,
    new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref())
  ])
  await server.waitForLine((line) => json(line).msg === 'shutting down')
  slow.end(body.slice(8))

  const response = await answered
  t.equal(response.status, 200, 'the slow request gets its normal answer')
  t.match(response.body, { token: String, expiresIn: '24h' })

  const [code] = await closed
  t.not(code, 1006, `a close frame arrived (code ${code}), not a dropped connection`)

  const exit = await exitedInTime
  t.not(exit, 'timeout', 'the process exits within 10 s of SIGTERM')
  t.same(exit, { code: 0, signal: null }, 'with exit code 0')
  const messages = server.lines().map((line) => json(line).msg)
  t.ok(messages.includes('shut down'), 'after a complete close')
  t.notOk(messages.includes('still running 8 s after the signal; exiting anyway'), 'without the watchdog')
})
