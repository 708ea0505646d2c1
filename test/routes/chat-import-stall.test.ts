import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { build, resetDb, authHeaders } from '../helper.ts'
import { insertSession, insertSessionGame, findGame, countRows } from '../fixtures/votes.ts'

// A chat import whose client pauses holds no transaction, lock or connection: every other request goes on. Run on
// PGlite (one connection: a held one froze the whole process) and on PostgreSQL (a pool of two here: two paused
// imports held both, and a live vote waited on the session row the import had locked).

interface Upload {
  /** Sends the rest of the body; resolves with the answer's status and JSON body. */
  finish (): Promise<{ status: number, body: Record<string, unknown> }>
  abort (): void
}

/** A chat import over a raw socket: the headers announce the whole body, `head` is sent now, the rest on finish(). */
function startUpload (port: number, sessionId: number, authorization: string, head: string, tail: string): Upload {
  const socket = connect(port, '127.0.0.1')
  socket.write(`POST /api/sessions/${sessionId}/chat-import HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${authorization}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(head) + Buffer.byteLength(tail)}\r\nConnection: close\r\n\r\n${head}`)
  let response = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => { response += chunk })
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
  return {
    async finish () {
      socket.write(tail) // not end(): the server may close a half-closed connection before it answers
      await closed
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(response)?.[1])
      const text = response.slice(response.indexOf('\r\n\r\n') + 4)
      if (!status || !text) throw new Error(`the upload got no answer: ${JSON.stringify(response)}`)
      return { status, body: JSON.parse(text) }
    },
    abort: () => socket.destroy()
  }
}

const row = (i: number, message = `message ${i}`) =>
  ({ username: `viewer${i % 40}`, message, timestamp: new Date(Date.parse('2026-03-15T20:00:00.000Z') + i * 100).toISOString() })

/** `{"chatData": [rows]}` cut after `cut` rows (and their commas): what is sent first, and the rest. */
function splitLog (rows: unknown[], cut: number): [string, string] {
  const text = JSON.stringify({ chatData: rows })
  const head = `{"chatData":[${rows.slice(0, cut).map((r) => JSON.stringify(r) + ',').join('')}`
  return [head, text.slice(head.length)]
}

t.test('chat import and other requests', async (t) => {
  const app = await build(t, {}, { dbPoolSize: 2 })
  const auth = authHeaders(app)
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const port = Number(new URL(base).port)
  t.beforeEach(() => resetDb(app))
  const uploads: Upload[] = []
  t.teardown(() => { for (const upload of uploads) upload.abort() })
  const upload = (sessionId: number, head: string, tail: string) => {
    const started = startUpload(port, sessionId, auth.authorization, head, tail)
    uploads.push(started)
    return started
  }

  /** How long `path` takes to answer, failing the test past `bound` ms. */
  async function timed (t: Test, what: string, bound: number, path: string, init: RequestInit = {}) {
    const started = performance.now()
    let res: Response
    try {
      res = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(bound) })
    } catch (err) {
      t.fail(`${what}: no answer within ${bound} ms (${(err as Error).name})`)
      return undefined
    }
    const body = await res.json()
    const ms = performance.now() - started
    t.ok(ms <= bound, `${what} answered ${res.status} in ${ms.toFixed(0)} ms (bound ${bound} ms)`)
    return { status: res.status, body }
  }

  /** A bound generous for a loaded machine: 500 ms above twice the slowest of a few idle health probes. */
  async function bound () {
    let slowest = 0
    for (let i = 0; i < 5; i++) {
      const started = performance.now()
      await (await fetch(`${base}/api/health`)).arrayBuffer()
      slowest = Math.max(slowest, performance.now() - started)
    }
    return Math.round(500 + 2 * slowest)
  }

  t.test('paused uploads hold nothing: health, a player count, a live vote and reads answer meanwhile', async (t) => {
    const session = await insertSession(app)
    const game = await insertSessionGame(app, session.id, 1, '2026-03-15T20:00:00.000Z', { status: 'playing' })
    const other = await insertSession(app, { is_active: 0 })
    await insertSessionGame(app, other.id, 2, '2026-03-15T20:00:00.000Z')
    const limit = await bound()

    const log = [row(0, 'thisgame++'), row(1), row(2, 'thisgame--')]
    // Two paused uploads: on PostgreSQL as many as the pool has connections.
    const first = upload(session.id, '{"chatData', JSON.stringify({ chatData: log }).slice('{"chatData'.length))
    const second = upload(other.id, ...splitLog(log, 1))
    await sleep(500) // both reach their handlers

    const health = await timed(t, 'health', limit, '/api/health')
    t.equal(health?.status, 200)
    const count = await timed(t, 'a player count', limit, `/api/sessions/${session.id}/games/${game.id}/player-count`, {
      method: 'PATCH', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ player_count: 6 })
    })
    t.equal(count?.status, 200)
    const vote = await timed(t, 'a live vote', limit, '/api/votes/live', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'live', vote: 'up', timestamp: new Date().toISOString() })
    })
    t.equal(vote?.status, 200)
    t.equal((await timed(t, 'the games', limit, '/api/games'))?.status, 200)

    const [a, b] = await Promise.all([first.finish(), second.finish()])
    t.equal(a.status, 200)
    t.match(a.body, { messagesImported: 3, votesProcessed: 2, votesByGame: { 1: { upvotes: 1, downvotes: 1 } } })
    t.equal(b.status, 200)
    t.match(b.body, { messagesImported: 3, votesProcessed: 2, votesByGame: { 2: { upvotes: 1, downvotes: 1 } } })
    t.match(await findGame(app, 1), { upvotes: 2, downvotes: 1 }, 'the live vote and the import both counted')
  })

  t.test('an upload\'s rows stay out of the export until its body is in; a dropped upload leaves nothing', async (t) => {
    const session = await insertSession(app, { is_active: 0 })
    await insertSessionGame(app, session.id, 1, '2026-03-15T20:00:00.000Z')
    // More rows than one statement takes on either database, so some are written before the pause.
    const log = Array.from({ length: 6000 }, (_, i) => row(i, i % 10 ? undefined : 'thisgame++'))
    const exportText = async () => (await app.inject({ url: `/api/sessions/${session.id}/export`, headers: auth })).body

    const paused = upload(session.id, ...splitLog(log, 5500))
    for (let waited = 0; await countRows(app, 'chat_logs') === 0; waited += 50) {
      if (waited > 30_000) throw new Error('the upload wrote no rows in 30 s')
      await sleep(50)
    }
    t.match(await exportText(), /CHAT LOG\n\(none\)\n$/, 'the export shows none of the rows written so far')
    t.match(await findGame(app, 1), { upvotes: 0 }, 'no vote counted yet')
    const done = await paused.finish()
    t.equal(done.status, 200)
    t.match(done.body, { messagesImported: 6000, votesProcessed: 600 })
    t.equal((await exportText()).split('\n').filter((line) => line.includes(': message ')).length, 5400)
    t.match(await findGame(app, 1), { upvotes: 600 })

    const more = Array.from({ length: 6000 }, (_, i) => row(10_000 + i))
    const dropped = upload(session.id, ...splitLog(more, 5500))
    for (let waited = 0; await countRows(app, 'chat_logs') === 6000; waited += 50) {
      if (waited > 30_000) throw new Error('the upload wrote no rows in 30 s')
      await sleep(50)
    }
    dropped.abort()
    const openImports = async () => (await app.db.selectFrom('chat_imports').selectAll().execute()).length
    for (let waited = 0; await openImports() !== 0; waited += 50) {
      if (waited > 30_000) throw new Error('the dropped upload was not cleaned up in 30 s')
      await sleep(50)
    }
    t.equal(await countRows(app, 'chat_logs'), 6000, 'the dropped upload\'s rows are deleted')
    const again = await app.inject({ method: 'POST', url: `/api/sessions/${session.id}/chat-import`, headers: auth, payload: { chatData: more.slice(0, 10) } })
    t.match(again.json(), { messagesImported: 10 })
  })

  t.test('an import left by a dead process is invisible, then cleaned up by the next import', async (t) => {
    const session = await insertSession(app, { is_active: 0 })
    await insertSessionGame(app, session.id, 1, '2026-03-15T20:00:00.000Z')
    const dead = await app.db.insertInto('chat_imports')
      .values({ session_id: session.id, owner: 'dead-process', after_id: 0, expires_at: new Date(Date.now() - 1000) })
      .returning('id').executeTakeFirstOrThrow()
    await app.db.insertInto('chat_logs').values({
      session_id: session.id,
      session_game_id: null,
      username: 'ghost',
      message: 'half an import',
      timestamp: new Date('2026-03-15T20:05:00.000Z'),
      vote_type: null,
      message_hash: 'ghost',
      import_id: dead.id
    }).execute()
    const before = await app.inject({ url: `/api/sessions/${session.id}/export?format=json`, headers: auth })
    t.same(before.json().chat_logs, [])
    const res = await app.inject({ method: 'POST', url: `/api/sessions/${session.id}/chat-import`, headers: auth, payload: { chatData: [row(1)] } })
    t.match(res.json(), { messagesImported: 1 })
    const rows = await app.db.selectFrom('chat_logs').select('username').execute()
    t.same(rows, [{ username: 'viewer1' }], 'the dead import\'s row is gone')
    t.same(await app.db.selectFrom('chat_imports').select(['id', 'state']).execute(), [{ id: dead.id, state: 'abandoned' }])
  })

  t.test('a game removed while an upload is paused: its votes are counted on the timeline as it is at the end', async (t) => {
    const session = await insertSession(app, { is_active: 0 })
    await insertSessionGame(app, session.id, 1, '2026-03-15T20:00:00.000Z')
    const g2 = await insertSessionGame(app, session.id, 2, '2026-03-15T20:30:00.000Z')
    const at = (minutes: number, message: string) => ({ username: `u${minutes}`, message, timestamp: new Date(Date.parse('2026-03-15T20:00:00.000Z') + minutes * 60_000).toISOString() })
    const paused = upload(session.id, ...splitLog([at(10, 'thisgame++'), at(40, 'thisgame++'), at(45, 'thisgame--')], 2))
    await sleep(500)
    const removed = await app.inject({ method: 'DELETE', url: `/api/sessions/${session.id}/games/${g2.id}`, headers: auth })
    t.equal(removed.statusCode, 200)
    const done = await paused.finish()
    t.equal(done.status, 200)
    t.match(done.body, { messagesImported: 3, votesProcessed: 3, votesByGame: { 1: { upvotes: 2, downvotes: 1 } } })
    t.notOk((done.body.votesByGame as Record<string, unknown>)['2'])
    t.match(await findGame(app, 1), { upvotes: 2, downvotes: 1 })
    t.match(await findGame(app, 2), { upvotes: 0, downvotes: 0 })
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from chat_logs where session_game_id is null`.execute(app.db)
    t.equal(rows[0].n, 0, 'every row points at a game of the timeline')
  })
})
