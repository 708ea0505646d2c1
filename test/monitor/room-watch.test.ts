import t from 'tap'
import { RoomWatch } from '../../monitor/room-watch.ts'
import type { RoomWatchSink } from '../../monitor/watch-types.ts'
import type { RoomInfo } from '../../monitor/ecast-client.ts'
import type { AudienceHandlers } from '../../monitor/audience-socket.ts'
import { ROOM_INFO as ROOM } from '../fixtures/ecast-room.ts'
import type { EcastEntity, Welcome } from '../../monitor/ecast-frames.ts'

// RoomWatch driven tick by tick, with a scripted ecast, an in-memory socket and a hand-moved clock: no sleeping.

type Answer<T> = T | Error | ((signal: AbortSignal) => Promise<T>)

function harness (options: { roomWaitMs?: number } = {}) {
  const h = {
    now: 0,
    room: null as Answer<RoomInfo | null>,
    connections: 1 as Answer<number | null>,
    calls: [] as string[],
    reports: [] as unknown[],
    logs: [] as string[],
    sockets: [] as Array<{ url: string, handlers: AudienceHandlers, audience: number | null, closed: boolean }>,
    failCount: 0,
    failEvents: 0,
    watch: null as unknown as RoomWatch
  }
  const answer = async <T>(a: Answer<T>, signal: AbortSignal): Promise<T> => {
    if (a instanceof Error) throw a
    if (typeof a === 'function') return (a as (s: AbortSignal) => Promise<T>)(signal)
    return a
  }
  const sink: RoomWatchSink = {
    events: (events) => {
      if (h.failEvents > 0) {
        h.failEvents--
        throw new Error('database down')
      }
      for (const { type, data } of events) h.reports.push({ type, ...data })
    },
    count: async (playerCount, status, _published, events = []) => {
      if (h.failCount > 0) {
        h.failCount--
        throw new Error('database down')
      }
      h.reports.push({ count: playerCount, status })
      for (const { type, data } of events) h.reports.push({ type, ...data })
    },
    status: async (status) => { h.reports.push({ status }) },
    finished: (state) => { h.reports.push({ finished: state }) }
  }
  h.watch = new RoomWatch({
    code: 'ABCD',
    api: {
      getRoom: (_code, signal) => { h.calls.push('room'); return answer(h.room, signal) },
      getConnections: (_code, signal) => { h.calls.push('connections'); return answer(h.connections, signal) }
    },
    openSocket: (url, handlers) => {
      const socket = {
        url,
        handlers,
        audience: 1 as number | null,
        closed: false,
        audienceCount: async () => socket.audience,
        close: async () => { socket.closed = true }
      }
      h.sockets.push(socket)
      return socket
    },
    socketUrl: (host) => `ws://${host}/api/v2/audience/ABCD/play`,
    pollIntervalMs: 1000,
    roomWaitMs: options.roomWaitMs ?? 5000,
    sink,
    log: { info: (_o, msg) => h.logs.push(`info: ${msg}`), warn: (_o, msg) => h.logs.push(`warn: ${msg}`) },
    now: () => h.now,
    random: () => 0.5
  })
  return h
}

const room = (val: Record<string, unknown>, version: number): EcastEntity => ({ key: 'room', val, version })
const descriptions = (list: Array<[number, string, string]>, version: number): EcastEntity => ({
  key: 'textDescriptions',
  val: { data: {}, latestDescriptions: list.map(([id, category, text]) => ({ id, category, text })) },
  version
})
const LOBBY = { state: 'Lobby', lobbyState: 'WaitingForMore', gameCanStart: false, gameFinished: false }
function welcome (extra: Partial<Welcome> = {}, roomVal: Record<string, unknown> = LOBBY): Welcome {
  return {
    id: 4000001355,
    entities: {
      audience: { key: 'audience', count: 0 },
      room: room(roomVal, 4),
      textDescriptions: descriptions([[1, 'TEXT_DESCRIPTION_PLAYER_JOINED_VIP', 'OLDTIMER joined and is the VIP.']], 2)
    },
    here: null,
    ...extra
  }
}

/** A watch past `waiting`, its socket welcomed, reports cleared. */
async function inLobby (h: ReturnType<typeof harness>, w: Welcome = welcome()) {
  h.room = { ...ROOM }
  await h.watch.tick()
  h.sockets[0].handlers.welcome(w)
  h.reports.length = 0
}

/** In the lobby, `connections` counted once, its reports cleared. */
async function countedInLobby (h: ReturnType<typeof harness>, connections: number) {
  await inLobby(h)
  h.connections = connections
  await h.watch.tick()
  h.reports.length = 0
}

t.test('waiting: 404s until ECAST_ROOM_WAIT_MS, then failed', async (t) => {
  const h = harness({ roomWaitMs: 5000 })
  await h.watch.tick()
  h.now = 4999
  await h.watch.tick()
  t.equal(h.watch.state, 'waiting')
  t.same(h.reports, [])
  h.now = 5000
  await h.watch.tick()
  t.equal(h.watch.state, 'failed')
  t.same(h.reports, [{ status: 'failed' }, { type: 'room.disconnected', reason: 'room not found' }, { finished: 'failed' }])
  await h.watch.tick()
  t.same(h.calls, ['room', 'room', 'room'], 'a failed watch polls no more')
})

t.test('REST failures count towards the wait, are logged once, and recovery once', async (t) => {
  const h = harness()
  h.room = new Error('ECONNREFUSED')
  for (let i = 0; i < 4; i++) await h.watch.tick()
  t.same(h.logs, ['warn: ecast request failed; retrying with backoff'])
  h.room = { ...ROOM }
  await h.watch.tick()
  t.same(h.logs, ['warn: ecast request failed; retrying with backoff', 'info: ecast reachable again', 'info: ecast room found'])
  t.equal(h.watch.state, 'lobby')
  t.same(h.reports[0], { type: 'room.connected', appTag: 'drawful2international', maxPlayers: 8 })
  t.equal(h.sockets[0].url, 'ws://audience.test/api/v2/audience/ABCD/play', 'the socket follows audienceHost')
})

t.test('lobby: players = connections - host - audience (own connection included) - shards', async (t) => {
  const h = harness()
  h.room = { ...ROOM }
  await h.watch.tick()
  h.connections = 6
  h.reports.length = 0
  await h.watch.tick()
  t.same(h.reports, [], 'no count while the socket is connecting: our own connection may or may not be counted yet')

  h.sockets[0].handlers.welcome(welcome())
  h.sockets[0].audience = 3 // two others and ourselves
  await h.watch.tick()
  t.same(h.reports, [{ count: 2, status: 'checking' }, { type: 'lobby.updated', lobbyState: 'WaitingForMore', gameCanStart: false, playerCount: 2 }])
  h.reports.length = 0
  await h.watch.tick()
  t.same(h.reports, [], 'an unchanged count is not reported again')

  h.sockets[0].audience = null // get-audience unanswered: the pn-counter (others) plus ourselves
  h.sockets[0].handlers.entity({ key: 'audience', count: 4 })
  h.connections = 10
  await h.watch.tick()
  t.same(h.reports, [{ count: 4, status: 'checking' }])
})

t.test('shards named in here are subtracted; a count never exceeds maxPlayers', async (t) => {
  const h = harness()
  await inLobby(h, welcome({ here: { 1: { roles: { host: {} } }, 2: { roles: { shard: {} } }, 3: { roles: { shard: {} } } } }))
  h.connections = 1 + 3 + 2 + 1
  await h.watch.tick()
  t.match(h.reports[0], { count: 3 })
  h.connections = 40
  await h.watch.tick()
  t.match(h.reports.at(-1), { count: 8 })
})

t.test('joins from the socket become lobby.player-joined with the new count; old ones and stale versions do not', async (t) => {
  const h = harness()
  await inLobby(h)
  h.connections = 3 // host, ourselves, OLDTIMER
  await h.watch.tick()
  t.same(h.reports, [{ count: 1, status: 'checking' }, { type: 'lobby.updated', lobbyState: 'WaitingForMore', gameCanStart: false, playerCount: 1 }])
  h.reports.length = 0

  h.sockets[0].handlers.entity(descriptions([[2, 'TEXT_DESCRIPTION_PLAYER_JOINED', 'PROBE3 joined.']], 3))
  h.sockets[0].handlers.entity(descriptions([[2, 'TEXT_DESCRIPTION_PLAYER_JOINED', 'PROBE3 joined.']], 3))
  h.sockets[0].handlers.entity(room({ ...LOBBY, lobbyState: 'CanStart', gameCanStart: true }, 5))
  h.sockets[0].handlers.entity(room({ ...LOBBY, lobbyState: 'WaitingForMore' }, 4)) // older than what we have
  h.connections = 4
  await h.watch.tick()
  t.same(h.reports, [
    { count: 2, status: 'checking' },
    { type: 'lobby.player-joined', playerName: 'PROBE3', playerCount: 2 },
    { type: 'lobby.updated', lobbyState: 'CanStart', gameCanStart: true, playerCount: 2 }
  ])
})

t.test('locked: the count is final (completed) and game.started; gameFinished then ends the watch', async (t) => {
  const h = harness()
  await countedInLobby(h, 5)
  h.room = { ...ROOM, locked: true }
  await h.watch.tick()
  t.equal(h.watch.state, 'lobby', 'with a live socket, room info is read every fourth period')
  h.now += 2000
  await h.watch.tick()
  t.equal(h.watch.state, 'lobby', 'not yet after two periods')
  h.connections = 7
  h.now += 2000
  await h.watch.tick()
  t.equal(h.watch.state, 'started')
  t.same(h.reports, [{ count: 3, status: 'completed' }, { type: 'game.started', playerCount: 3 }])
  h.reports.length = 0
  await h.watch.tick()
  t.same(h.reports, [], 'no more counting once started')
  t.notOk(h.calls.slice(-1).includes('connections'))

  h.sockets[0].handlers.entity(room({ ...LOBBY, gameFinished: true }, 9))
  await h.watch.tick()
  t.equal(h.watch.state, 'ended')
  t.same(h.reports, [{ type: 'game.ended', playerCount: 3 }, { finished: 'ended' }])
  t.ok(h.sockets[0].closed)
})

t.test('a vanished room also shows in /connections', async (t) => {
  const h = harness()
  await inLobby(h)
  h.connections = null
  await h.watch.tick()
  t.equal(h.watch.state, 'ended')
  t.match(h.reports, [{ status: 'completed' }, { type: 'game.ended' }, { type: 'room.disconnected', reason: 'room closed' }, { finished: 'ended' }])
})

t.test('Gameplay over the socket starts the game', async (t) => {
  const h = harness()
  await countedInLobby(h, 4)
  h.sockets[0].handlers.entity(room({ ...LOBBY, state: 'Gameplay' }, 5))
  await h.watch.tick()
  t.same(h.reports, [{ count: 2, status: 'completed' }, { type: 'game.started', playerCount: 2 }])
})

t.test('gameFinished left over from an earlier round does not end a new watch', async (t) => {
  const h = harness()
  await inLobby(h, welcome({}, { ...LOBBY, gameFinished: true }))
  h.connections = 3
  await h.watch.tick()
  t.equal(h.watch.state, 'lobby')
})

t.test('a room found already locked starts at once, counting what it can', async (t) => {
  const h = harness()
  h.room = { ...ROOM, locked: true, audienceEnabled: false }
  h.connections = 5
  await h.watch.tick()
  t.same(h.reports, [
    { type: 'room.connected', appTag: 'drawful2international', maxPlayers: 8 },
    { count: 4, status: 'completed' },
    { type: 'game.started', playerCount: 4 }
  ])
})

t.test('404 after the room existed: game.ended and room.disconnected', async (t) => {
  const h = harness()
  await countedInLobby(h, 4)
  h.room = null
  h.now += 4000
  await h.watch.tick()
  t.same(h.reports, [
    { status: 'completed' },
    { type: 'game.ended', playerCount: 2 },
    { type: 'room.disconnected', reason: 'room closed' },
    { finished: 'ended' }
  ])
  t.ok(h.sockets[0].closed)
})

t.test('a lost socket is reopened after a backoff; after repeated failures REST counts alone', async (t) => {
  const h = harness()
  await inLobby(h)
  h.sockets[0].audience = 3
  h.connections = 6
  await h.watch.tick()
  t.match(h.reports.at(-2), { count: 2 })
  h.sockets[0].handlers.closed('closed with 1006')
  t.same(h.logs.filter((l) => l.includes('socket')), ['warn: audience socket lost; reconnecting with backoff'])

  h.connections = 7
  h.reports.length = 0
  await h.watch.tick()
  t.equal(h.sockets.length, 1, 'not reopened before its backoff')
  t.same(h.reports, [], 'no count while our own connection may linger on the server')
  for (let i = 2; i <= 3; i++) {
    h.now += 60_000
    await h.watch.tick()
    t.equal(h.sockets.length, i)
    h.sockets[i - 1].handlers.closed('closed with 1006')
  }
  t.same(h.logs.filter((l) => l.includes('socket')), ['warn: audience socket lost; reconnecting with backoff'], 'logged once')
  await h.watch.tick()
  t.same(h.reports, [{ count: 4, status: 'checking' }], 'degraded: 7 - host - the 2 other audience members last seen')

  h.now += 60_000
  await h.watch.tick()
  h.sockets[3].handlers.welcome(welcome())
  t.equal(h.logs.at(-1), 'info: audience socket connected again')
})

t.test('a failing sink (database down) is retried on the next tick and logged once', async (t) => {
  const h = harness()
  await inLobby(h)
  h.connections = 4
  h.failCount = 2
  await h.watch.tick()
  await h.watch.tick()
  t.same(h.logs.filter((l) => l.startsWith('warn')), ['warn: room watch step failed; retrying with backoff'])
  await h.watch.tick()
  t.match(h.reports[0], { count: 2, status: 'checking' })
  t.equal(h.logs.at(-1), 'info: room watch recovered')
})

t.test('lobby news with no new count that could not be stored is published at the next tick, not lost', async (t) => {
  const h = harness()
  await countedInLobby(h, 3)
  h.sockets[0].handlers.entity(room({ ...LOBBY, lobbyState: 'CanStart', gameCanStart: true }, 5))
  h.failEvents = 1
  await h.watch.tick()
  t.same(h.reports, [], 'the write failed')
  await h.watch.tick()
  t.same(h.reports, [{ type: 'lobby.updated', lobbyState: 'CanStart', gameCanStart: true, playerCount: 1 }])
})

t.test('stop aborts the request in flight, waits for it, closes the socket', async (t) => {
  const h = harness()
  await inLobby(h)
  let aborted = false
  h.connections = (signal) => new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => { aborted = true; reject(signal.reason) })
  })
  const tick = h.watch.tick()
  await new Promise((resolve) => setImmediate(resolve))
  await h.watch.stop()
  t.ok(aborted)
  await tick
  t.equal(h.watch.state, 'stopped')
  t.ok(h.sockets[0].closed)
  t.same(h.reports, [])
  t.same(h.logs.filter((l) => l.startsWith('warn')), [], 'an abort is not a failure')
  const calls = h.calls.length
  await h.watch.tick()
  t.equal(h.calls.length, calls)
})

t.test('start schedules polls one after another; stop clears the timer', async (t) => {
  const h = harness()
  h.room = null
  h.watch.start()
  const deadline = Date.now() + 10_000
  while (h.calls.length < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
  t.equal(h.calls.length, 1, 'the first poll runs at once')
  await h.watch.stop()
  const calls = h.calls.length
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(h.calls.length, calls)
})
