import t from 'tap'
import { startServer, PROCESS_ADMIN_KEY } from './server-process.ts'
import { testDatabase } from './helper.ts'
import { LiveSocket } from './fixtures/live-client.ts'

// Resume across a restart of the service: the history lives in the database, not in the process that sent it.
t.test('a client resubscribing with since after a restart gets exactly the events it missed, then live ones', async (t) => {
  const database = await testDatabase(t, { onDisk: true })
  const first = await startServer(t, database)

  const login = async (url: string) => {
    const res = await fetch(`${url}/api/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: PROCESS_ADMIN_KEY })
    })
    return ((await res.json()) as { token: string }).token
  }
  const api = async (url: string, token: string, method: string, path: string, body: object = {}) => {
    const res = await fetch(`${url}/api${path}`, {
      method, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body)
    })
    const json = await res.json() as Record<string, unknown>
    t.ok(res.status < 300, `${method} ${path}: ${JSON.stringify(json)}`)
    return json
  }
  const live = async (url: string, token: string) => {
    const socket = await LiveSocket.open(t, `${url.replace('http', 'ws')}/api/sessions/live`)
    t.same(await socket.request({ type: 'auth', token }), { type: 'auth_success' })
    return socket
  }

  let token = await login(first.url)
  const session = await api(first.url, token, 'POST', '/sessions')
  const before = await live(first.url, token)
  t.same(await before.request({ type: 'subscribe', sessionId: session.id }), { type: 'subscribed', sessionId: session.id })
  const game = await api(first.url, token, 'POST', `/sessions/${session.id}/games`, { game_id: 1 })
  const seen = await before.next()
  t.match(seen, { type: 'game.added', id: Number, data: { game: { id: game.id } } })
  await before.close()

  // Three events the client misses, then the service stops.
  await api(first.url, token, 'PATCH', `/sessions/${session.id}/games/${game.id}/player-count`, { player_count: 4 })
  await api(first.url, token, 'POST', '/votes/live', { username: 'viewer', vote: 'up', timestamp: new Date(Date.parse(game.played_at as string) + 500).toISOString() })
  await api(first.url, token, 'POST', `/sessions/${session.id}/games`, { game_id: 2 })
  const missed = ((await (await fetch(`${first.url}/api/sessions/${session.id}/events?since=${seen.id}`)).json()) as { events: unknown[] }).events
  t.equal(missed.length, 3)
  process.kill(first.pid, 'SIGTERM')
  t.same(await first.exited, { code: 0, signal: null })

  const second = await startServer(t, database)
  token = await login(second.url)
  const after = await live(second.url, token)
  t.same(await after.request({ type: 'subscribe', sessionId: session.id, since: seen.id }), { type: 'subscribed', sessionId: session.id })
  t.same(await after.take(3), missed, 'the three missed events, whole and in order')
  await after.assertNothingPending(t, 'nothing more of the history')
  const closed = await api(second.url, token, 'POST', `/sessions/${session.id}/close`)
  t.match(await after.next(), { type: 'session.ended', data: { session: { id: closed.id, is_active: 0 } } })
  await after.assertNothingPending(t, 'each event once')
})
