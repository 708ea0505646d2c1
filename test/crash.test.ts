import t from 'tap'
import { once } from 'node:events'
import pg from 'pg'
import WebSocket from 'ws'
import { PGlite } from '@electric-sql/pglite'
import { btree_gist as btreeGist } from '@electric-sql/pglite/contrib/btree_gist'
import { FakeEcast } from './fixtures/fake-ecast.ts'
import { until } from './fixtures/event-log.ts'
import { testDatabase } from './helper.ts'
import { PROCESS_ADMIN_KEY, startServer } from './server-process.ts'

const json = (line: string) => {
  try {
    return JSON.parse(line)
  } catch {
    return {}
  }
}

/** Runs one query on the database a stopped process used (PostgreSQL or its PGlite directory). */
async function query (env: Record<string, string>, text: string): Promise<any[]> {
  if (env.DATABASE_URL) {
    const client = new pg.Client({ connectionString: env.DATABASE_URL })
    await client.connect()
    try {
      return (await client.query(text)).rows
    } finally {
      await client.end()
    }
  }
  const db = new PGlite(env.DATA_DIR, { extensions: { btree_gist: btreeGist } })
  try {
    return (await db.query(text)).rows as any[]
  } finally {
    await db.close()
  }
}

t.test('an uncaught error closes like a SIGTERM: live clients get 1001, the room lease and the process row are freed at once', async (t) => {
  const fake = await FakeEcast.start()
  t.teardown(() => fake.close())
  fake.createRoom('BOOM')
  fake.addPlayer('BOOM', 'alice')
  const dbEnv = await testDatabase(t, { onDisk: true })
  const server = await startServer(t, { ...dbEnv, ECAST_BASE_URL: fake.url, ECAST_POLL_INTERVAL_MS: '500', TEST_CRASH_ON_SIGUSR2: '1', LOG_LEVEL: 'info' })
  const api = async (path: string, body: unknown, token?: string) => {
    const res = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...token ? { authorization: `Bearer ${token}` } : {} },
      body: JSON.stringify(body)
    })
    t.ok(res.status < 300, `POST ${path}: ${res.status}`)
    return res.json() as Promise<any>
  }
  const { token } = await api('/api/auth/login', { key: PROCESS_ADMIN_KEY })
  const session = await api('/api/sessions', {}, token)
  await api(`/api/sessions/${session.id}/games`, { game_id: 1, room_code: 'BOOM' }, token)
  await until('the process to own the room', async () => (await (await fetch(`${server.url}/api/health`)).json() as any).rooms === 1, 20_000)

  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/sessions/live?token=${token}`)
  t.teardown(() => socket.terminate())
  const closed = once(socket, 'close') as Promise<[number, Buffer]>
  const [authed] = await once(socket, 'message')
  t.same(JSON.parse(String(authed)), { type: 'auth_success' })

  server.kill('SIGUSR2')
  const [code] = await closed
  t.equal(code, 1001, 'the live client got a going-away close, not a dropped connection')
  const exit = await server.exited
  t.same(exit, { code: 1, signal: null }, 'the process exits with 1 after the crash')
  const crashed = server.lines().map(json).find((line) => line.msg === 'crashed; shutting down')
  t.match(crashed, { level: 60, err: { message: 'test crash (TEST_CRASH_ON_SIGUSR2)' } }, 'the error is logged')
  t.ok(server.lines().map(json).some((line) => line.msg === 'shut down'), 'after a complete close')

  const leases = await query(dbEnv, 'select owner from room_leases')
  t.same(leases, [{ owner: null }], 'the room lease is released, free for another process now, not after its TTL')
  t.same(await query(dbEnv, 'select instance from live_processes'), [], 'the process row is gone')
})
