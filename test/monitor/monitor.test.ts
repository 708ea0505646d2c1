import t from 'tap'
import { build, resetDb, authHeaders } from '../helper.ts'
import { FakeEcast } from '../fixtures/fake-ecast.ts'
import { EventLog, monitorSettled, stopWatches, until } from '../fixtures/event-log.ts'
import { sql } from 'kysely'
import { insertEvent } from '../../db/events.ts'

// Whole scenarios against a fake ecast on loopback: the session game is made through the public API (adding it with
// a room code records game.added, on which the monitor starts), and the test observes the events in the log and the
// stored row.
t.test('room monitor against a fake ecast', async (t) => {
  const fake = await FakeEcast.start()
  t.teardown(() => fake.close())
  const app = await build(t, { ECAST_BASE_URL: fake.url, ECAST_POLL_INTERVAL_MS: '200', ECAST_ROOM_WAIT_MS: '600' })
  const auth = authHeaders(app)
  const log = new EventLog(app)
  t.teardown(log.unsubscribe)
  t.beforeEach(async () => {
    await resetDb(app)
    log.clear()
  })
  t.afterEach(async () => {
    await stopWatches(app)
    fake.rooms.clear()
  })

  const row = (id: number) => app.db.selectFrom('session_games')
    .select(['player_count', 'player_count_check_status']).where('id', '=', id).executeTakeFirstOrThrow()
  async function startGame (roomCode: string) {
    const session = await app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: {} })
    const sessionId = session.json().id as number
    const added = await app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/games`, headers: auth, payload: { game_id: 7, room_code: roomCode } })
    if (added.statusCode !== 201) throw new Error(`adding the game failed: ${added.body}`)
    await monitorSettled(app)
    return { sessionId, sessionGameId: added.json().id as number }
  }

  t.test('the monitor starts and stops from events alone: rows and event rows written with plain SQL', async (t) => {
    fake.createRoom('EVNT')
    fake.addPlayer('EVNT', 'alice')
    const session = await app.db.insertInto('sessions').values({ is_active: 1 }).returningAll().executeTakeFirstOrThrow()
    const game = await app.db.insertInto('session_games')
      .values({ session_id: session.id, game_id: 4, room_code: 'EVNT', status: 'playing', player_count_check_status: 'checking' })
      .returningAll().executeTakeFirstOrThrow()
    const ids = { sessionId: session.id, sessionGameId: game.id, roomCode: 'EVNT' }
    t.same(app.roomMonitor.watching(), new Map(), 'a row alone starts nothing')

    await insertEvent(app.db, 'game.added', session.id, { session: { id: session.id, is_active: 1, games_played: 1 }, game })
    t.match((await log.waitFor('room.connected')).data, ids)
    t.same(app.roomMonitor.watching(), new Map([[game.id, 'EVNT']]), 'game.added started the watch')
    await log.waitFor('player-count.updated', (d) => d.playerCount === 1)
    await until('the audience socket', () => fake.openSockets() === 1)

    // The status change alone (no event) is not what the monitor follows: the watch goes on...
    await app.db.updateTable('session_games').set({ status: 'played', player_count_check_status: 'stopped' }).where('id', '=', game.id).execute()
    const polls = fake.requests.get('EVNT')!
    await until('two more polls', () => fake.requests.get('EVNT')! >= polls + 2)
    await monitorSettled(app)
    t.same(app.roomMonitor.watching(), new Map([[game.id, 'EVNT']]), 'still watching without the event')
    // ...until its event row is in the log.
    await insertEvent(app.db, 'session-game.status-changed', session.id, { sessionGameId: game.id, status: 'played' })
    t.match((await log.waitFor('room.disconnected')).data, { ...ids, reason: 'monitor stopped' })
    await monitorSettled(app)
    t.same(app.roomMonitor.watching(), new Map(), 'the status-changed event stopped the watch')
    await until('the audience socket to close', () => fake.openSockets() === 0)
    const stoppedAt = fake.requests.get('EVNT')
    await new Promise((resolve) => setTimeout(resolve, 1000))
    t.equal(fake.requests.get('EVNT'), stoppedAt, 'no poll after the stop')
    t.same(await app.db.selectFrom('room_leases').selectAll().execute(), [], 'its lease is gone')
    t.same(await row(game.id), { player_count: 1, player_count_check_status: 'stopped' })
  })

  t.test('an event for a room another process owns starts no second watch here, and a stop leaves that owner its lease', async (t) => {
    fake.createRoom('OWND')
    const session = await app.db.insertInto('sessions').values({ is_active: 1 }).returningAll().executeTakeFirstOrThrow()
    const game = await app.db.insertInto('session_games')
      .values({ session_id: session.id, game_id: 4, room_code: 'OWND', status: 'playing', player_count_check_status: 'checking' })
      .returningAll().executeTakeFirstOrThrow()
    // The lease row another process (sharing the database) holds while it watches the room, off its live row.
    const lease = { session_game_id: game.id, room_code: 'OWND', owner: 'another-process' }
    const anHour = sql<Date>`now() + interval '1 hour'`
    await app.db.insertInto('live_processes').values({ instance: lease.owner, expires_at: anHour, leases_expire_at: anHour }).execute()
    t.teardown(() => app.db.deleteFrom('live_processes').where('instance', '=', lease.owner).execute())
    await app.db.insertInto('room_leases').values(lease).execute()
    const leases = () => app.db.selectFrom('room_leases').select(['session_game_id', 'room_code', 'owner']).execute()

    await insertEvent(app.db, 'game.added', session.id, { session: { id: session.id, is_active: 1, games_played: 1 }, game })
    await monitorSettled(app)
    t.same(app.roomMonitor.watching(), new Map(), 'no watch here')
    t.equal(fake.requests.get('OWND') ?? 0, 0, 'the room is never polled from here')
    t.same(await leases(), [lease], 'the lease stays the owner\'s')

    await app.db.updateTable('session_games').set({ status: 'played', player_count_check_status: 'stopped' }).where('id', '=', game.id).execute()
    await insertEvent(app.db, 'session-game.status-changed', session.id, { sessionGameId: game.id, status: 'played' })
    await monitorSettled(app)
    t.same(await leases(), [lease], 'the live owner drops its own lease when it reads the event')
    t.same(log.of('room.disconnected'), [], 'and announces the stop itself')
  })

  t.test('players joining are counted, announced and stored', async (t) => {
    fake.createRoom('JOIN', { maxPlayers: 8, audience: 2 })
    const { sessionId, sessionGameId } = await startGame('JOIN')
    const ids = { sessionId, sessionGameId, roomCode: 'JOIN' }
    t.ok(app.roomMonitor.isWatching(sessionGameId))
    t.equal((await row(sessionGameId)).player_count_check_status, 'checking')

    const connected = await log.waitFor('room.connected')
    t.same(connected.data, { ...ids, appTag: 'drawful2international', maxPlayers: 8 })
    t.equal(connected.sessionId, sessionId)
    // Host + 2 audience + the monitor's own audience connection: no players yet.
    await log.waitFor('player-count.updated', (d) => d.playerCount === 0)

    fake.addPlayer('JOIN', 'alice')
    await log.waitFor('player-count.updated', (d) => d.playerCount === 1)
    fake.addPlayer('JOIN', 'bob')
    fake.addPlayer('JOIN', 'carol')
    const three = await log.waitFor('player-count.updated', (d) => d.playerCount === 3)
    t.same(three.data, { ...ids, playerCount: 3, status: 'checking', source: 'monitor' })
    t.same(await row(sessionGameId), { player_count: 3, player_count_check_status: 'checking' })

    await log.waitFor('lobby.player-joined', (d) => d.playerName === 'CAROL')
    t.same(log.of('lobby.player-joined').map((e) => e.data.playerName), ['ALICE', 'BOB', 'CAROL'])
    t.match(log.of('lobby.player-joined')[0].data, { ...ids, playerName: 'ALICE' })
    const canStart = await log.waitFor('lobby.updated', (d) => d.lobbyState === 'CanStart')
    t.match(canStart.data, { ...ids, lobbyState: 'CanStart', gameCanStart: true })

    // More audience is not more players; a player leaving is seen through /connections.
    fake.setAudience('JOIN', 5)
    fake.removePlayer('JOIN', 'bob')
    await log.waitFor('player-count.updated', (d) => d.playerCount === 2)
    t.notOk(log.of('player-count.updated').some((e) => (e.data.playerCount as number) > 3), 'audience never counted as players')
    t.equal(fake.playerSocketAttempts, 0, 'never connects as a player')
  })

  t.test('shards named in a welcome\'s here are not players', async (t) => {
    fake.createRoom('SHRD', { shards: 1, hereInWelcome: true })
    fake.addPlayer('SHRD', 'alice')
    await startGame('SHRD')
    const first = await log.waitFor('player-count.updated')
    t.equal(first.data.playerCount, 1)
  })

  t.test('without audience, everyone but the host is a player', async (t) => {
    fake.createRoom('NOAU', { audienceEnabled: false })
    fake.addPlayer('NOAU', 'alice')
    fake.addPlayer('NOAU', 'bob')
    const accepted = fake.socketsAccepted
    await startGame('NOAU')
    await log.waitFor('player-count.updated', (d) => d.playerCount === 2)
    t.equal(fake.socketsAccepted, accepted, 'no socket when audience is disabled')
  })

  t.test('lock makes the count final: game.started, status completed', async (t) => {
    fake.createRoom('LOCK')
    const { sessionId, sessionGameId } = await startGame('LOCK')
    fake.addPlayer('LOCK', 'alice')
    fake.addPlayer('LOCK', 'bob')
    await log.waitFor('player-count.updated', (d) => d.playerCount === 2)
    fake.lock('LOCK')
    const started = await log.waitFor('game.started')
    t.same(started.data, { sessionId, sessionGameId, roomCode: 'LOCK', playerCount: 2 })
    const final = log.of('player-count.updated').at(-1)!
    t.same(final.data, { sessionId, sessionGameId, roomCode: 'LOCK', playerCount: 2, status: 'completed', source: 'monitor' })
    t.same(await row(sessionGameId), { player_count: 2, player_count_check_status: 'completed' })

    // Late joiners (audience, in a locked room) change nothing; the end is still reported.
    fake.addPlayer('LOCK', 'late')
    fake.finish('LOCK')
    const ended = await log.waitFor('game.ended')
    t.same(ended.data, { sessionId, sessionGameId, roomCode: 'LOCK', playerCount: 2 })
    t.same(await row(sessionGameId), { player_count: 2, player_count_check_status: 'completed' })
    await until('the watch to end', () => !app.roomMonitor.isWatching(sessionGameId))
    await until('the audience socket to close', () => fake.openSockets() === 0)
  })

  t.test('Gameplay over the socket starts the game; gameFinished ends the watch', async (t) => {
    fake.createRoom('PLAY')
    const { sessionGameId } = await startGame('PLAY')
    fake.addPlayer('PLAY', 'alice')
    fake.addPlayer('PLAY', 'bob')
    fake.addPlayer('PLAY', 'carol')
    await log.waitFor('player-count.updated', (d) => d.playerCount === 3)
    fake.start('PLAY')
    t.equal((await log.waitFor('game.started')).data.playerCount, 3)
    fake.finish('PLAY')
    t.equal((await log.waitFor('game.ended')).data.playerCount, 3)
    await until('the watch to end', () => !app.roomMonitor.isWatching(sessionGameId))
    t.same(log.of('room.disconnected'), [], 'the room is still there: no disconnect')
    t.same(log.events.map((e) => e.type).filter((type) => type.startsWith('game.')), ['game.added', 'game.started', 'game.ended'])
  })

  t.test('a room that vanishes ends the game and disconnects', async (t) => {
    fake.createRoom('GONE')
    const { sessionGameId } = await startGame('GONE')
    fake.addPlayer('GONE', 'alice')
    await log.waitFor('player-count.updated', (d) => d.playerCount === 1)
    fake.closeRoom('GONE')
    t.equal((await log.waitFor('game.ended')).data.playerCount, 1)
    t.match((await log.waitFor('room.disconnected')).data, { sessionGameId, roomCode: 'GONE', reason: 'room closed' })
    t.same(await row(sessionGameId), { player_count: 1, player_count_check_status: 'completed' })
    t.notOk(app.roomMonitor.isWatching(sessionGameId))
  })

  t.test('a code that never appears fails after ECAST_ROOM_WAIT_MS', async (t) => {
    const { sessionGameId } = await startGame('NONE')
    t.match((await log.waitFor('room.disconnected')).data, { sessionGameId, roomCode: 'NONE', reason: 'room not found' })
    t.same(await row(sessionGameId), { player_count: null, player_count_check_status: 'failed' })
    t.notOk(app.roomMonitor.isWatching(sessionGameId))
    t.same(log.of('room.connected'), [])
  })

  t.test('a room that appears late is found', async (t) => {
    const { sessionGameId } = await startGame('LATE')
    await until('a few 404 polls', () => (fake.requests.get('LATE') ?? 0) >= 3)
    fake.createRoom('LATE')
    fake.addPlayer('LATE', 'alice')
    t.match((await log.waitFor('room.connected', (d) => d.sessionGameId === sessionGameId)).data, { sessionGameId, roomCode: 'LATE' }, 'found once it appears')
    t.match((await log.waitFor('player-count.updated', (d) => d.playerCount === 1)).data, { sessionGameId, playerCount: 1 }, 'and its player counted')
  })

  t.test('REST faults and dropped sockets are survived', async (t) => {
    fake.createRoom('FLTY')
    const { sessionGameId } = await startGame('FLTY')
    await log.waitFor('player-count.updated', (d) => d.playerCount === 0)
    fake.fault({ kind: 'status500' }, { kind: 'malformed' }, { kind: 'reset' }, { kind: 'delay', ms: 300 }, { kind: 'status500' })
    fake.addPlayer('FLTY', 'alice')
    await log.waitFor('player-count.updated', (d) => d.playerCount === 1)

    const accepted = fake.socketsAccepted
    fake.refuseSockets(2)
    fake.dropSockets('FLTY')
    fake.addPlayer('FLTY', 'bob')
    await log.waitFor('player-count.updated', (d) => d.playerCount === 2)
    await until('the socket to come back', () => fake.socketsAccepted > accepted && fake.openSockets() === 1)
    fake.addPlayer('FLTY', 'carol')
    await log.waitFor('lobby.player-joined', (d) => d.playerName === 'CAROL')
    await log.waitFor('player-count.updated', (d) => d.playerCount === 3)
    t.ok(app.roomMonitor.isWatching(sessionGameId))
    t.notOk(log.of('player-count.updated').some((e) => (e.data.playerCount as number) > 3), 'the monitor\'s own connections never count')
    t.same(log.of('room.disconnected'), [])
  })

  t.test('stop really stops: no more polls, socket closed, status stopped', async (t) => {
    fake.createRoom('STOP')
    const { sessionId, sessionGameId } = await startGame('STOP')
    await log.waitFor('player-count.updated', (d) => d.playerCount === 0)
    const res = await app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/games/${sessionGameId}/stop-player-check`, headers: auth })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { message: 'Room monitor and player count check stopped', status: 'stopped' })
    t.notOk(app.roomMonitor.isWatching(sessionGameId))
    t.same(await row(sessionGameId), { player_count: 0, player_count_check_status: 'stopped' })
    t.match((await log.waitFor('room.disconnected')).data, { sessionGameId, reason: 'monitor stopped' })
    await until('the audience socket to close', () => fake.openSockets() === 0)
    const polls = fake.requests.get('STOP')
    // Five poll periods with no request at all (a negative can only be observed over some time).
    await new Promise((resolve) => setTimeout(resolve, 1000))
    t.equal(fake.requests.get('STOP'), polls)

    const again = await app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/games/${sessionGameId}/start-player-check`, headers: auth })
    t.same(again.json(), { message: 'Room monitor started', status: 'monitoring' })
    t.equal((await row(sessionGameId)).player_count_check_status, 'checking')
    fake.addPlayer('STOP', 'alice')
    await log.waitFor('player-count.updated', (d) => d.playerCount === 1)
  })

  t.test('marking the game played stops the monitor', async (t) => {
    fake.createRoom('DONE')
    const { sessionId, sessionGameId } = await startGame('DONE')
    await log.waitFor('room.connected')
    const res = await app.inject({ method: 'PATCH', url: `/api/sessions/${sessionId}/games/${sessionGameId}/status`, headers: auth, payload: { status: 'played' } })
    t.equal(res.statusCode, 200)
    t.equal((await row(sessionGameId)).player_count_check_status, 'stopped', 'stored by the status change itself')
    await monitorSettled(app)
    t.notOk(app.roomMonitor.isWatching(sessionGameId))
    t.equal((await row(sessionGameId)).player_count_check_status, 'stopped')
    await until('the audience socket to close', () => fake.openSockets() === 0)
  })

  t.test('a new room code restarts the watch on that code', async (t) => {
    fake.createRoom('OLDC')
    fake.createRoom('NEWC')
    fake.addPlayer('NEWC', 'alice')
    fake.addPlayer('NEWC', 'bob')
    const { sessionId, sessionGameId } = await startGame('OLDC')
    await log.waitFor('room.connected', (d) => d.roomCode === 'OLDC')
    const res = await app.inject({ method: 'PATCH', url: `/api/sessions/${sessionId}/games/${sessionGameId}/room-code`, headers: auth, payload: { room_code: 'NEWC' } })
    t.equal(res.statusCode, 200)
    t.match(res.json(), { room_code: 'NEWC', player_count_check_status: 'checking' })
    await monitorSettled(app)
    t.same(app.roomMonitor.watching(), new Map([[sessionGameId, 'NEWC']]))
    await log.waitFor('player-count.updated', (d) => d.roomCode === 'NEWC' && d.playerCount === 2)
    await until('one socket, on the new room', () => fake.openSockets() === 1 && fake.rooms.get('NEWC')!.sockets.size === 1)
  })

  t.test('one watch per room code: a second session game takes the code over', async (t) => {
    fake.createRoom('SAME')
    const first = await startGame('SAME')
    await log.waitFor('room.connected')
    const session = await app.db.insertInto('sessions').values({ is_active: 0 }).returning('id').executeTakeFirstOrThrow()
    const second = await app.db.insertInto('session_games').values({ session_id: session.id, game_id: 3, room_code: 'SAME' })
      .returning('id').executeTakeFirstOrThrow()
    const res = await app.inject({ method: 'POST', url: `/api/sessions/${session.id}/games/${second.id}/start-player-check`, headers: auth })
    t.same(res.json(), { message: 'Room monitor started', status: 'monitoring' })
    t.same(app.roomMonitor.watching(), new Map([[second.id, 'SAME']]))
    t.equal((await row(first.sessionGameId)).player_count_check_status, 'stopped')
    await log.waitFor('room.connected', (d) => d.sessionGameId === second.id)
    await until('a single socket on the room', () => fake.openSockets() === 1)
  })
})
