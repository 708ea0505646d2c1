import t, { type Test } from 'tap'
import { once } from 'node:events'
import { createServer } from 'node:http'
import WebSocket from 'ws'
import { FakeEcast } from './fixtures/fake-ecast.ts'
import { until } from './fixtures/event-log.ts'
import { adminToken, api, pgClient, replicasSkip, startReplicas, type ServerProcess } from './server-process.ts'

// Three real service processes (server.ts) on one PostgreSQL database behave as one service. The embedded PGlite is
// one process by design, so this file needs TEST_DATABASE_URL (CI runs the suite on PostgreSQL 15 too).
const POLL_MS = 1500
const COMMAND_TIMEOUT_MS = 30_000
// How long a SIGKILLed process still counts as alive for the connected clients: its heartbeat's ttl (10 s), one renewal
// period of the survivors (a quarter of it) and a poll (1 s), with room to spare on a loaded machine.
const DEAD_PROCESS_MS = 20_000
const ACTIVE_EXISTS = 'An active session already exists. Please close it before creating a new one.'

interface LiveEvent { id?: number, type: string, data: Record<string, unknown> }

/** A live client subscribed to one session; collects the events it receives. */
async function liveClient (t: Test, server: ServerProcess, token: string, sessionId: number) {
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/sessions/live?token=${token}`)
  t.teardown(() => socket.terminate())
  const events: LiveEvent[] = []
  let acked: () => void
  const subscribed = new Promise<void>((resolve) => { acked = resolve })
  socket.on('message', (raw) => {
    const message = JSON.parse(String(raw))
    if (message.type === 'subscribed') acked()
    else if (message.data) events.push(message)
  })
  await once(socket, 'open')
  socket.send(JSON.stringify({ type: 'subscribe', sessionId }))
  await subscribed
  return { events, of: (type: string) => events.filter((e) => e.type === type) }
}

type Handler = (data: unknown) => Record<string, unknown> | undefined

/**
 * A bot on the live socket that said hello: answers the commands whose key has a handler (the others never), keeps
 * every command it received and the close code it got.
 */
async function helloBot (t: Test, server: ServerProcess, token: string, name: string, functions: string[],
  handlers: Record<string, Handler>, sessionId?: number) {
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/sessions/live?token=${token}`)
  t.teardown(() => socket.terminate())
  const commands: Array<Record<string, unknown>> = []
  const replies: Array<Record<string, unknown>> = []
  const waiting: Array<(message: Record<string, unknown>) => void> = []
  const closed = once(socket, 'close').then(([code]) => code as number)
  socket.on('message', (raw) => {
    const message = JSON.parse(String(raw))
    if (message.type !== 'command') {
      const resolve = waiting.shift()
      if (resolve) resolve(message)
      else replies.push(message)
      return
    }
    commands.push(message)
    const answer = handlers[message.key]?.(message.data)
    if (answer) socket.send(JSON.stringify({ type: 'command_result', id: message.id, ...answer }))
  })
  const next = () => replies.length ? Promise.resolve(replies.shift()!) : new Promise<Record<string, unknown>>((resolve) => waiting.push(resolve))
  const request = (message: unknown) => {
    socket.send(JSON.stringify(message))
    return next()
  }
  await once(socket, 'open')
  t.same(await next(), { type: 'auth_success' })
  if (sessionId !== undefined) t.same(await request({ type: 'subscribe', sessionId }), { type: 'subscribed', sessionId })
  const ok = await request({ type: 'hello', name, functions })
  t.match(ok, { type: 'hello_ok', clientId: String })
  return { socket, commands, closed, clientId: ok.clientId as string }
}

t.test('three processes on one PostgreSQL database', { skip: replicasSkip() }, async (t) => {
  const fake = await FakeEcast.start()
  t.teardown(() => fake.close())
  const delivered: Array<{ event: string, data: any }> = []
  const receiver = createServer((req, res) => {
    let raw = ''
    req.on('data', (chunk) => { raw += chunk })
    req.on('end', () => { delivered.push(JSON.parse(raw)); res.end('ok') })
  }).listen(0, '127.0.0.1')
  await once(receiver, 'listening')
  t.teardown(() => { receiver.closeAllConnections(); receiver.close() })

  const { servers, databaseUrl } = await startReplicas(t, 3, {
    ECAST_BASE_URL: fake.url,
    ECAST_POLL_INTERVAL_MS: String(POLL_MS),
    WEBHOOK_ALLOW_LOOPBACK: 'true',
    CLIENT_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
    LOG_LEVEL: 'info'
  })
  const [a, b, c] = servers
  const db = await pgClient(t, databaseUrl)
  const token = await adminToken(a)
  const leaseOwner = async (sessionGameId: number) =>
    ((await db.query('select owner from room_leases where session_game_id = $1', [sessionGameId])).rows[0]?.owner ?? undefined) as string | undefined
  const ownedBy = (owner: string | undefined, server: ServerProcess) => owner !== undefined && owner.includes(`-${server.pid}-`)
  const logged = async (type: string, sessionGameId: number) => Number((await db.query(
    'select count(*) from events where type = $1 and (data->>\'sessionGameId\')::int = $2', [type, sessionGameId])).rows[0].count)

  let sessionId = 0

  t.test('50 racing POST /api/sessions spread over the three give one 201; its webhook is delivered once, not three times', async (t) => {
    const hook = await api(a, '/api/webhooks', {
      method: 'POST', token, body: { name: 'Once', url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`, events: ['session.started'] }
    })
    t.equal(hook.status, 201)
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
      api(servers[i % 3], '/api/sessions', { method: 'POST', token, body: { notes: `race ${i}` } })))
    const created = results.filter((r) => r.status === 201)
    t.equal(created.length, 1, 'one session started')
    sessionId = created[0].body.id
    t.same(results.filter((r) => r.status !== 201), Array.from({ length: 49 }, () => ({ status: 400, body: { error: ACTIVE_EXISTS, activeSessionId: sessionId } })))

    await until('the delivery', () => delivered.length >= 1, 20_000)
    // Every process runs a dispatcher: give the other two time to (wrongly) send it again.
    await new Promise((resolve) => setTimeout(resolve, 3000))
    t.same(delivered.map((d) => [d.event, d.data.session.id]), [['session.started', sessionId]], 'one delivery')
    const sent = await db.query('select count(*) from webhook_logs where success')
    t.equal(Number(sent.rows[0].count), 1, 'one successful attempt logged')
  })

  t.test('a live client on C gets the events of writes made through A and B, in id order, once; a vote rule and a revocation that hold across processes', async (t) => {
    const watcher = await liveClient(t, c, token, sessionId)
    const { rows: [{ max }] } = await db.query('select coalesce(max(id), 0) as max from events')
    const game = await api(a, `/api/sessions/${sessionId}/games`, { method: 'POST', token, body: { game_id: 5 } })
    t.equal(game.status, 201)
    const at = (ms: number) => new Date(Date.now() + ms).toISOString()
    // One user, two votes 300 ms apart, through A and B at the same moment: the database lets one in.
    const pair = await Promise.all([
      api(a, '/api/votes/live', { method: 'POST', token, body: { username: 'twice', vote: 'up', timestamp: at(0) } }),
      api(b, '/api/votes/live', { method: 'POST', token, body: { username: 'twice', vote: 'down', timestamp: at(300) } })
    ])
    t.same(pair.map((r) => r.status).sort(), [200, 409], 'one 200, one 409')
    t.same(pair.find((r) => r.status === 409)!.body, { error: 'Duplicate vote: this username already voted within the last second' })
    for (const [server, username] of [[a, 'viewer-a'], [b, 'viewer-b'], [a, 'viewer-c'], [b, 'viewer-d']] as const) {
      t.equal((await api(server, '/api/votes/live', { method: 'POST', token, body: { username, vote: 'up', timestamp: at(600) } })).status, 200)
    }
    const logged = (await db.query('select id, type from events where session_id = $1 and id > $2 order by id', [sessionId, max])).rows
      .map((row) => ({ id: Number(row.id), type: row.type as string }))
    t.same(logged.map((e) => e.type), ['game.added', 'vote.received', 'vote.received', 'vote.received', 'vote.received', 'vote.received'])
    await until('C has every event', () => watcher.events.length >= logged.length)
    await new Promise((resolve) => setTimeout(resolve, 500))
    t.same(watcher.events.map((e) => ({ id: e.id, type: e.type })), logged, 'every event once, in id order, as in the log')
    t.same(watcher.of('vote.received').map((e) => (e.data as { vote: { username: string } }).vote.username),
      ['twice', 'viewer-a', 'viewer-b', 'viewer-c', 'viewer-d'])

    const scoped = await api(a, '/api/auth/tokens', { method: 'POST', token, body: { name: 'chat bot', role: 'bot' } })
    t.equal(scoped.status, 201)
    const verify = (server: ServerProcess) => api(server, '/api/auth/verify', { token: scoped.body.token }).then((r) => r.status)
    t.same(await Promise.all(servers.map(verify)), [200, 200, 200], 'accepted (and cached) by all three')
    // Live sockets on A and C already authenticated with it (and subscribed) lose their auth too.
    const sockets = await Promise.all([a, c].map(async (server) => {
      const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/sessions/live?token=${scoped.body.token}`)
      t.teardown(() => socket.terminate())
      const messages: unknown[] = []
      socket.on('message', (raw) => messages.push(JSON.parse(String(raw))))
      await once(socket, 'open')
      socket.send(JSON.stringify({ type: 'subscribe', sessionId }))
      await until('subscribed', () => messages.length >= 2)
      return messages
    }))
    t.equal((await api(b, `/api/auth/tokens/${scoped.body.id}`, { method: 'DELETE', token })).status, 200)
    await new Promise((resolve) => setTimeout(resolve, 1000))
    t.same(await Promise.all(servers.map(verify)), [401, 401, 401], 'revoked through B, refused by all three within a second')
    t.same(sockets, Array(2).fill([{ type: 'auth_success' }, { type: 'subscribed', sessionId }, { type: 'auth_error', message: 'Token revoked' }]),
      'the live clients on A and C were signed out within that second')
  })

  t.test('game.added starts one watch among the three; a status change made through another process stops it in the owner', async (t) => {
    fake.createRoom('EVTS')
    fake.addPlayer('EVTS', 'alice')
    const added = await api(a, `/api/sessions/${sessionId}/games`, { method: 'POST', token, body: { game_id: 8, room_code: 'EVTS' } })
    t.equal(added.status, 201)
    t.equal(added.body.player_count_check_status, 'checking', 'the reply shows the check started')
    const sessionGameId = added.body.id as number
    const stored = async () => (await db.query('select player_count, player_count_check_status from session_games where id = $1', [sessionGameId])).rows[0]
    await until('the first count', async () => (await stored()).player_count === 1, 20_000)
    const owner = await leaseOwner(sessionGameId)
    const watcher = servers.find((server) => ownedBy(owner, server))
    t.ok(watcher, `one of the three owns the room (${owner})`)
    // Every process read game.added: only the lease owner watches, the other two started nothing.
    t.equal(fake.rooms.get('EVTS')!.sockets.size, 1, 'one audience socket on the room')
    const rooms = await Promise.all(servers.map(async (server) => (await api(server, '/api/health')).body.rooms as number))
    t.same(rooms, servers.map((server) => server === watcher ? 1 : 0), 'health counts the watch in its owner only')

    const other = servers.find((server) => server !== watcher)!
    const played = await api(other, `/api/sessions/${sessionId}/games/${sessionGameId}/status`, { method: 'PATCH', token, body: { status: 'played' } })
    t.same(played, { status: 200, body: { message: 'Status updated successfully', status: 'played' } })
    t.same(await stored(), { player_count: 1, player_count_check_status: 'stopped' }, 'the change itself stored the stop')
    await until('the owner drops the lease', async () => await leaseOwner(sessionGameId) === undefined, 10_000)
    await until('the audience socket to close', () => fake.rooms.get('EVTS')!.sockets.size === 0, 10_000)
    t.equal(await logged('room.disconnected', sessionGameId), 1, 'the owner announced the stop once')
    const polls = fake.requests.get('EVTS')
    await new Promise((resolve) => setTimeout(resolve, 2 * POLL_MS))
    t.equal(fake.requests.get('EVTS'), polls, 'no process polls the room any more')
    t.same(await Promise.all(servers.map(async (server) => (await api(server, '/api/health')).body.rooms)), [0, 0, 0])
  })

  t.test('a client connected to C is listed, called and disconnected through A and B', async (t) => {
    const before = Date.now()
    const bot = await helloBot(t, c, token, 'overlay-on-c', ['show-pick', 'fail', 'slow'], {
      'show-pick': (data) => ({ ok: true, response: { shown: data } }),
      fail: () => ({ ok: false, error: 'no scene' })
    }, sessionId)
    const listed = await api(a, '/api/clients', { token })
    const createdAt = listed.body.sessions?.[0]?.created_at as number
    t.ok(createdAt >= before && createdAt <= Date.now(), 'created_at: epoch ms of the hello')
    const session = { id: bot.clientId, user_key: null, name: 'overlay-on-c', functions: ['show-pick', 'fail', 'slow'], subscriptions: [sessionId], created_at: createdAt }
    t.same(listed, { status: 200, body: { success: true, sessions: [session] } }, 'listed through A')
    t.same(await api(b, `/api/clients/${bot.clientId}`, { token }), { status: 200, body: { success: true, session } }, 'found through B')

    const message = (server: ServerProcess, key: string, data?: unknown) =>
      api(server, `/api/clients/${bot.clientId}/message`, { method: 'POST', token, body: data === undefined ? { key } : { key, data } })
    t.same(await message(a, 'show-pick', { gameId: 3 }), { status: 200, body: { success: true, processed: true, response: { shown: { gameId: 3 } } } },
      'a command through A reaches the client on C and its answer comes back')
    t.match(bot.commands, [{ type: 'command', id: String, key: 'show-pick', data: { gameId: 3 } }])
    t.same(await message(b, 'fail'), { status: 200, body: { success: true, processed: false, reason: 'function errored, message: no scene' } })
    t.same(await message(a, 'unknown-key'), { status: 200, body: { success: true, processed: false, reason: 'function doesnt exist' } })
    t.equal(bot.commands.length, 2, 'an unknown key is not sent')
    t.same(await api(a, '/api/clients/message', { method: 'POST', token, body: { session_ids: ['unknown', bot.clientId], key: 'show-pick' } }), {
      status: 200,
      body: { success: true, responses: [{ processed: false, reason: 'client never responded' }, { processed: true, response: { shown: [] } }] }
    }, 'bulk, through A')

    // A client that leaves while a command from another process waits: answered at once, not at the timeout.
    const leaving = await helloBot(t, c, token, 'leaving', ['slow'], {})
    const started = Date.now()
    const pending = api(a, `/api/clients/${leaving.clientId}/message`, { method: 'POST', token, body: { key: 'slow' } })
    await until('the command reaches the client', () => leaving.commands.length === 1)
    leaving.socket.terminate()
    t.same(await pending, { status: 200, body: { success: true, processed: false, reason: 'client never responded' } })
    t.ok(Date.now() - started < COMMAND_TIMEOUT_MS / 2, `answered when the client left (${Date.now() - started} ms)`)

    t.same(await api(b, `/api/clients/${bot.clientId}/disconnect`, { method: 'POST', token }), { status: 200, body: { success: true } })
    t.equal(await bot.closed, 1000, 'disconnected through B: closed with 1000')
    t.same((await api(a, '/api/clients', { token })).body.sessions.map((s: { id: string }) => s.id), [], 'gone from the list through A')
    t.same(await api(a, `/api/clients/${bot.clientId}`, { token }), { status: 404, body: { success: false, error: 'Session not found' } })
    t.same(await api(a, `/api/clients/${bot.clientId}/disconnect`, { method: 'POST', token }), { status: 404, body: { success: false, error: 'Session not found' } })
  })

  t.test('a room watched by one process is taken over within two poll periods after it gets SIGKILL, without repeating its events', async (t) => {
    fake.createRoom('FAIL')
    fake.addPlayer('FAIL', 'alice')
    fake.addPlayer('FAIL', 'bob')
    const added = await api(a, `/api/sessions/${sessionId}/games`, { method: 'POST', token, body: { game_id: 9, room_code: 'FAIL' } })
    t.equal(added.status, 201)
    const sessionGameId = added.body.id as number
    const stored = async () => (await db.query('select player_count, player_count_check_status from session_games where id = $1', [sessionGameId])).rows[0]
    await until('the first count', async () => (await stored()).player_count === 2, 20_000)
    // Whichever process read game.added first watches the room (not necessarily A, which took the request).
    const firstOwner = await leaseOwner(sessionGameId)
    const killed = servers.find((server) => ownedBy(firstOwner, server))!
    t.ok(killed, `one process watches the room (${firstOwner})`)
    t.equal(fake.openSockets(), 1, 'one audience socket: only it watches')
    const [b, c] = servers.filter((server) => server !== killed) // the survivors
    const others = { b: await liveClient(t, b, token, sessionId), c: await liveClient(t, c, token, sessionId) }

    const onKilled = await helloBot(t, killed, token, 'bot-on-killed', ['say'], { say: () => ({ ok: true, response: {} }) })
    t.same((await api(c, `/api/clients/${onKilled.clientId}/message`, { method: 'POST', token, body: { key: 'say' } })).body,
      { success: true, processed: true, response: {} }, 'a client of the watcher answers through another process')

    killed.kill('SIGKILL')
    const killedAt = Date.now()
    await killed.exited
    // A command to a client of the dead process: its row stays until the heartbeat expires, then the command is
    // answered as for a client that left, long before the command timeout.
    const toDead = api(b, `/api/clients/${onKilled.clientId}/message`, { method: 'POST', token, body: { key: 'say' } })
      .then((res) => ({ res, after: Date.now() - killedAt }))
    fake.addPlayer('FAIL', 'carol')
    await until('the count after the takeover', async () => (await stored()).player_count === 3, 20_000)
    const failover = Date.now() - killedAt
    t.ok(failover < 2 * POLL_MS, `first count stored by the new owner ${failover} ms after the SIGKILL (two poll periods: ${2 * POLL_MS} ms)`)
    const owner = await leaseOwner(sessionGameId)
    t.ok(ownedBy(owner, b) || ownedBy(owner, c), `a survivor owns the room now (${owner})`)
    const [next, nextClient, last] = ownedBy(owner, b) ? [b, others.b, c] : [c, others.c, b]
    await until('the new owner reports the count', () => nextClient.of('player-count.updated').length === 1)
    t.same(nextClient.of('player-count.updated').map((e) => e.data), [{
      sessionId, sessionGameId, roomCode: 'FAIL', playerCount: 3, status: 'checking', source: 'monitor'
    }])
    t.same(nextClient.of('room.connected'), [], 'room.connected is not repeated')
    const dead = await toDead
    t.same(dead.res, { status: 200, body: { success: true, processed: false, reason: 'client never responded' } }, 'the dead process\'s client never responded')
    t.ok(dead.after < DEAD_PROCESS_MS, `answered ${dead.after} ms after the SIGKILL (command timeout: ${COMMAND_TIMEOUT_MS} ms)`)
    t.same(await api(c, `/api/clients/${onKilled.clientId}`, { token }), { status: 404, body: { success: false, error: 'Session not found' } }, 'and it is no longer listed')
    t.equal(await logged('player-count.updated', sessionGameId), 2, 'the log holds both counts, 2 then 3')
    t.equal(await logged('room.connected', sessionGameId), 1, 'and room.connected once, from the first owner')

    fake.addPlayer('FAIL', 'dave')
    await until('the count keeps following the room', async () => (await stored()).player_count === 4, 10_000)
    fake.start('FAIL')
    await until('the start', async () => (await stored()).player_count_check_status === 'completed', 10_000)
    await until('game.started', () => nextClient.of('game.started').length === 1)
    t.same(nextClient.of('game.started').map((e) => e.data), [{ sessionId, sessionGameId, roomCode: 'FAIL', playerCount: 4 }])

    // A graceful shutdown hands the room over at once: well before the lease (three quarters of a poll period) could expire.
    const lastClient = last === b ? others.b : others.c
    next.kill('SIGTERM')
    const stoppedAt = Date.now()
    await until('the last process owns the room', async () => ownedBy(await leaseOwner(sessionGameId), last), 10_000)
    const handover = Date.now() - stoppedAt
    t.ok(handover < POLL_MS, `handed over ${handover} ms after SIGTERM (less than a poll period)`)
    t.same(await next.exited, { code: 0, signal: null })
    t.match(JSON.parse(await next.waitForLine((line) => line.includes('"msg":"room leases released"'))), { count: 1 }, 'released, not left to expire')
    fake.finish('FAIL')
    await until('game.ended', () => lastClient.of('game.ended').length === 1)
    t.same(lastClient.of('game.ended').map((e) => e.data), [{ sessionId, sessionGameId, roomCode: 'FAIL', playerCount: 4 }])
    t.same({ connected: await logged('room.connected', sessionGameId), started: await logged('game.started', sessionGameId), ended: await logged('game.ended', sessionGameId) },
      { connected: 1, started: 1, ended: 1 }, 'the log holds each once: neither takeover repeated room.connected or game.started')
    await until('the finished watch drops its lease', async () => await leaseOwner(sessionGameId) === undefined, 10_000)
    t.equal(fake.playerSocketAttempts, 0, 'never joined as a player')
  })
})
