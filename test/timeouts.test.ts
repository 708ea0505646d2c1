import t from 'tap'
import { once } from 'node:events'
import WebSocket from 'ws'
import { build, authHeaders } from './helper.ts'
import { rawRequest } from './fixtures/http.ts'

t.test('time and count limits, through the real HTTP server', async (t) => {
  const app = await build(t, { LIVE_MAX_CLIENTS: '3', TRUST_PROXY: '1' }, { requestTimeoutMs: 1000, connectionsCheckingIntervalMs: 100, liveAuthTimeoutMs: 400 })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  const token = authHeaders(app).authorization.slice(7)
  const open = async (query = '') => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/api/sessions/live${query}`)
    t.teardown(() => socket.terminate())
    // Listening from the start: the answer to ?token= can arrive in the same read as the handshake.
    const first = once(socket, 'message').then(([data]) => JSON.parse(String(data)))
    const closed = once(socket, 'close').then(([code]) => code as number)
    await once(socket, 'open')
    return { socket, closed, first }
  }
  const authenticated = async () => {
    const live = await open(`?token=${token}`)
    t.same(await live.first, { type: 'auth_success' })
    return live
  }

  t.test('behind a trusted proxy the login throttle counts the forwarded client address; old failures are pruned', async (t) => {
    await app.db.insertInto('login_failures').values({ address: '198.51.100.9', failed_at: new Date(Date.now() - 120_000) }).execute()
    const login = (forwardedFor: string, key = 'wrong-key-wrong-key') => fetch(`http://127.0.0.1:${port}/api/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor }, body: JSON.stringify({ key })
    })
    // TRUST_PROXY=1: one hop (the proxy) is trusted, so the client is the last X-Forwarded-For entry, whatever the
    // client itself put before it.
    for (let i = 0; i < 10; i++) t.equal((await login(`10.9.9.${i}, 203.0.113.7`)).status, 401)
    const blocked = await login('203.0.113.7')
    t.equal(blocked.status, 429)
    t.equal((await login('203.0.113.8')).status, 401, 'another client behind the same proxy is not locked out')
    t.equal((await login('203.0.113.7, 203.0.113.9')).status, 401, 'a forged entry before the proxy\'s is not the client')
    const rows = await app.db.selectFrom('login_failures').select('address').execute()
    t.notOk(rows.some((row) => row.address === '198.51.100.9'), 'a failure older than the window is gone')
    t.ok(rows.every((row) => row.address !== '127.0.0.1'), 'the proxy address itself is never counted')
  })

  t.test('a body trickling in past requestTimeout gets 408 in the error shape', async (t) => {
    const started = Date.now()
    const data = await rawRequest(port, 'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"key":')
    t.ok(Date.now() - started < 5000, `closed after ${Date.now() - started} ms`)
    t.match(data, /^HTTP\/1\.1 408 /)
    t.equal(data.slice(data.indexOf('\r\n\r\n') + 4), '{"error":"The request did not arrive in time"}')
  })

  t.test('a socket that does not authenticate in time is closed with 4401; an authenticated one stays', async (t) => {
    const idle = await open()
    const live = await authenticated()
    t.equal(await idle.closed, 4401)
    await new Promise((resolve) => setTimeout(resolve, 500))
    t.equal(live.socket.readyState, WebSocket.OPEN)
    live.socket.close()
    await live.closed
  })

  t.test('a socket signed out by a revocation is closed with 4401 unless it authenticates again in time', async (t) => {
    const minted = await app.inject({ method: 'POST', url: '/api/auth/tokens', headers: authHeaders(app), payload: { name: 'overlay', role: 'overlay' } })
    const { id, token: scoped } = minted.json() as { id: number, token: string }
    const left = await open(`?token=${scoped}`)
    const renewed = await open(`?token=${scoped}`)
    for (const live of [left, renewed]) t.same(await live.first, { type: 'auth_success' })
    const [leftOut, renewedOut] = [left, renewed].map((live) => once(live.socket, 'message').then(([data]) => JSON.parse(String(data))))
    t.equal((await app.inject({ method: 'DELETE', url: `/api/auth/tokens/${id}`, headers: authHeaders(app) })).statusCode, 200)
    t.same(await Promise.all([leftOut, renewedOut]), Array(2).fill({ type: 'auth_error', message: 'Token revoked' }))
    const again = once(renewed.socket, 'message').then(([data]) => JSON.parse(String(data)))
    renewed.socket.send(JSON.stringify({ type: 'auth', token }))
    t.same(await again, { type: 'auth_success' })
    t.equal(await left.closed, 4401)
    await new Promise((resolve) => setTimeout(resolve, 500))
    t.equal(renewed.socket.readyState, WebSocket.OPEN, 'the one that authenticated again stays')
    renewed.socket.close()
    await renewed.closed
  })

  t.test('past LIVE_MAX_CLIENTS one more is accepted and closed at once with 1013', async (t) => {
    const held = [await authenticated(), await authenticated(), await open()]
    const refused = await open(`?token=${token}`)
    t.equal(await refused.closed, 1013)
    held[2].socket.close()
    await held[2].closed
    const again = await authenticated()
    t.equal(again.socket.readyState, WebSocket.OPEN, 'a freed place is taken again')
    held.push(again)

    const codes = held.slice(0, 2).concat(again).map((live) => live.closed)
    await app.close()
    t.same(await Promise.all(codes), [1001, 1001, 1001], 'every client gets 1001 on shutdown')
  })
})
