import t from 'tap'
import { FakeEcast } from './fixtures/fake-ecast.ts'
import { until } from './fixtures/event-log.ts'
import { adminToken, api, pgClient, replicasSkip, startReplicas } from './server-process.ts'

// Room watchers on real processes sharing one PostgreSQL database: one that stalls past its lease, one that is killed.
const POLL_MS = 200

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

t.test('room watchers that stall or die', { skip: replicasSkip() }, async (t) => {
  const fake = await FakeEcast.start()
  t.teardown(() => fake.close())
  const { servers, databaseUrl } = await startReplicas(t, 2, { ECAST_BASE_URL: fake.url, ECAST_POLL_INTERVAL_MS: String(POLL_MS), LOG_LEVEL: 'info' })
  const db = await pgClient(t, databaseUrl)
  const token = await adminToken(servers[0])
  const session = await api(servers[0], '/api/sessions', { method: 'POST', body: {}, token })
  t.equal(session.status, 201)
  const sessionId = session.body.id as number

  const leaseOwner = async (sessionGameId: number) =>
    ((await db.query('select owner from room_leases where session_game_id = $1', [sessionGameId])).rows[0]?.owner ?? undefined) as string | undefined
  const ownerOf = async (sessionGameId: number) => {
    const owner = await leaseOwner(sessionGameId)
    return servers.find((server) => owner?.includes(`-${server.pid}-`))
  }
  const logged = async (sessionGameId: number) => (await db.query(
    'select type, data from events where (data->>\'sessionGameId\')::int = $1 order by id', [sessionGameId])).rows as Array<{ type: string, data: any }>
  const count = async (sessionGameId: number) => (await db.query(
    'select player_count, player_count_check_status from session_games where id = $1', [sessionGameId])).rows[0]

  /** Adds a game watching `code` and waits for its first count; resolves with the session game and its watcher. */
  async function watched (code: string, gameId: number, players: number) {
    const added = await api(servers[0], `/api/sessions/${sessionId}/games`, { method: 'POST', body: { game_id: gameId, room_code: code }, token })
    t.equal(added.status, 201)
    const sessionGameId = added.body.id as number
    await until('the first count', async () => (await count(sessionGameId)).player_count === players, 20_000)
    const owner = await ownerOf(sessionGameId)
    if (!owner) throw new Error('no process owns the room')
    return { sessionGameId, owner }
  }

  t.test('a watcher frozen past its lease while another process takes the room records nothing once it wakes', async (t) => {
    fake.createRoom('STAL')
    fake.addPlayer('STAL', 'alice')
    fake.addPlayer('STAL', 'bob')
    const { sessionGameId, owner: frozen } = await watched('STAL', 8, 2)
    frozen.kill('SIGSTOP')
    t.teardown(() => frozen.kill('SIGCONT'))
    await until('another process takes the room', async () => { const now = await ownerOf(sessionGameId); return now !== undefined && now !== frozen }, 10_000)
    fake.start('STAL')
    await until('the new owner records game.started', async () => (await logged(sessionGameId)).some((e) => e.type === 'game.started'), 10_000)

    // The frozen process wakes up late in every way: its lease heartbeat cannot reach room_leases for a while (the
    // table is locked), while its watch sees the game start (the socket's news, the poll it owes) and reports it.
    const locker = await pgClient(t, databaseUrl)
    await locker.query('begin')
    await locker.query('lock table room_leases in exclusive mode')
    frozen.kill('SIGCONT')
    await sleep(10 * POLL_MS)
    await locker.query('rollback')
    await frozen.waitForLine((line) => line.includes('"msg":"room leases lost"'))
    await until('one audience socket: the woken process left the room', () => fake.rooms.get('STAL')!.sockets.size === 1, 10_000)
    await sleep(5 * POLL_MS)
    const events = await logged(sessionGameId)
    t.same(events.filter((e) => e.type === 'game.started').map((e) => e.data.playerCount), [2], 'game.started once')
    t.same(events.map((e) => e.type).filter((type) => type === 'room.connected' || type === 'game.started'), ['room.connected', 'game.started'],
      'room.connected and game.started once each')
    t.same(await count(sessionGameId), { player_count: 2, player_count_check_status: 'completed' })
  })

  t.test('a watcher killed with SIGKILL: the other process takes the room within two poll periods, announces the join it missed and repeats nothing', async (t) => {
    fake.createRoom('KILL')
    fake.addPlayer('KILL', 'alice')
    const { sessionGameId, owner } = await watched('KILL', 7, 1)
    fake.addPlayer('KILL', 'bob') // two players: the lobby can start
    const announced = (events: Array<{ type: string, data: any }>) => events.filter((e) => e.type.startsWith('lobby.'))
      .map((e) => e.type === 'lobby.updated' ? `${e.data.lobbyState}/${e.data.gameCanStart}` : e.data.playerName)
    await until('the owner announces bob and the lobby that can start', async () =>
      announced(await logged(sessionGameId)).join() === 'WaitingForMore/false,BOB,CanStart/true', 10_000)
    await until('the count of two', async () => (await count(sessionGameId)).player_count === 2, 10_000)
    const { rows: [{ last }] } = await db.query('select max(id)::int as last from events')

    owner.kill('SIGKILL')
    const killedAt = Date.now()
    // Carol joins while no process watches: the lobby state does not change (it could start already).
    fake.addPlayer('KILL', 'carol')
    await owner.exited
    await until('the count of three', async () => (await count(sessionGameId)).player_count === 3, 10_000)
    // Asserted below, with what else the new owner published meanwhile.
    await until('carol announced', async () => announced(await logged(sessionGameId)).includes('CAROL'), 5000).catch(() => {})
    await sleep(3 * POLL_MS)
    const { rows: after } = await db.query(`select type, data, extract(epoch from created_at) * 1000 as at from events
      where id > $1 and (data->>'sessionGameId')::int = $2 order by id`, [last, sessionGameId])
    t.same(announced(after), ['CAROL'], 'the join made while no process watched is announced; the unchanged lobby is not announced again')
    t.same(after.map((e) => e.type).filter((type) => type === 'room.connected' || type === 'lobby.player-joined'), ['lobby.player-joined'],
      'room.connected and the joins announced before are not repeated')
    const takeover = Number(after[0].at) - killedAt
    // The contract's bound: two poll periods. Before leases were timed from the period the takeover took 570-650 ms;
    // since, 155-183 ms in CI and up to 340 ms on a machine at load 8-13.
    t.ok(takeover < 2 * POLL_MS, `the new owner's first event ${Math.round(takeover)} ms after the SIGKILL (two poll periods: ${2 * POLL_MS} ms)`)
    t.same(announced(await logged(sessionGameId)), ['WaitingForMore/false', 'BOB', 'CanStart/true', 'CAROL'], 'the whole lobby, each fact once')
  })
})
