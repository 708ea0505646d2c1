import t from 'tap'
import {
  EMPTY_VIEW, applyEntity, applyWelcome, countPlayers, finalCount, gameFinished, lobbyReport, shardsIn, withAudienceAnswer,
  withoutAudienceAnswer, type AudienceFacts, type SocketView
} from '../../monitor/room-state.ts'
import { parseEntity, parseWelcome, type EcastEntity } from '../../monitor/ecast-frames.ts'
import { LOBBY_ROOM as ROOM_LOBBY } from '../fixtures/ecast-room.ts'

// The pure half of the room monitor, fed the raw frames captured from real rooms (docs/ecast.md, "Raw captures"). Where
// a capture elides a value, the room entity's fields as docs/ecast.md lists them stand in.

const VIP_JOINED = {
  data: { TEXT_DESCRIPTION_PLAYER_VIP: 'PROBE1' },
  latestDescriptions: [{ category: 'TEXT_DESCRIPTION_PLAYER_JOINED_VIP', id: 1, text: 'PROBE1 joined and is the VIP.' }]
}

/** "Audience client/welcome": `result`, with the VIP's join already in textDescriptions. */
const AUDIENCE_WELCOME = {
  id: 4000001355,
  secret: '10affd0afb35892e73051b15',
  reconnect: false,
  entities: {
    audience: ['audience/pn-counter', { key: 'audience', count: 0 }, { locked: false }],
    audiencePlayer: ['object', { key: 'audiencePlayer', val: { analytics: [], locale: 'en', platformId: 'NX' }, version: 1, from: 1 }, { locked: false }],
    room: ['object', { key: 'room', val: ROOM_LOBBY, version: 4, from: 1 }, { locked: false }],
    textDescriptions: ['object', { key: 'textDescriptions', val: VIP_JOINED, version: 1, from: 1 }, { locked: false }]
  },
  here: null,
  profile: null
}

/** "Entity Update (player join observed by existing player)": `result`. */
const PROBE3_JOINED = {
  key: 'textDescriptions',
  val: {
    data: { TEXT_DESCRIPTION_PLAYER_VIP: 'PROBE1' },
    latestDescriptions: [{ category: 'TEXT_DESCRIPTION_PLAYER_JOINED', id: 2, text: 'PROBE3 joined.' }]
  },
  version: 2,
  from: 1
}

/** "Room State Transition (lobby → can start)": `result`. */
const CAN_START = {
  key: 'room',
  val: { gameCanStart: true, gameFinished: false, gameIsStarting: false, lobbyState: 'CanStart', state: 'Lobby' },
  version: 5,
  from: 1
}

/** "Connected User Roles in here". */
const HERE_WITH_SHARD = {
  1: { id: 1, roles: { host: {} } },
  2: { id: 2, roles: { player: { name: 'PROBE1' } } },
  3: { id: 3, roles: { player: { name: 'PROBE3' } } },
  4: { id: 4, roles: { shard: {} } }
}

const entity = (result: unknown): EcastEntity => {
  const parsed = parseEntity(result)
  if (!parsed) throw new Error('the capture did not parse')
  return parsed
}
const roomUpdate = (val: Record<string, unknown>, version: number) => entity({ key: 'room', val, version, from: 1 })
const welcomed = (inLobby = true) => applyWelcome(EMPTY_VIEW, parseWelcome(AUDIENCE_WELCOME), inLobby)

t.test('frames parse into entities and welcomes', async (t) => {
  const welcome = parseWelcome(AUDIENCE_WELCOME)
  t.same(welcome, {
    id: 4000001355,
    entities: {
      audience: { key: 'audience', val: undefined, version: undefined, count: 0 },
      audiencePlayer: { key: 'audiencePlayer', val: { analytics: [], locale: 'en', platformId: 'NX' }, version: 1, count: undefined },
      room: { key: 'room', val: ROOM_LOBBY, version: 4, count: undefined },
      textDescriptions: { key: 'textDescriptions', val: VIP_JOINED, version: 1, count: undefined }
    },
    here: null
  })
  t.same(parseEntity(CAN_START), { key: 'room', val: CAN_START.val, version: 5, count: undefined })
  t.equal(parseEntity({ val: {} }), null, 'an entity without a key')
  t.same(parseWelcome({ entities: { bad: ['object', null], room: 'x' }, here: [] }), { id: 0, entities: {}, here: null })
})

t.test('shards are counted from here roles only', async (t) => {
  t.equal(shardsIn(HERE_WITH_SHARD), 1)
  t.equal(shardsIn({ 1: { roles: { host: {} } } }), 0, 'the player welcome: host only')
  t.equal(shardsIn(null), 0, 'an audience welcome hides the roles')
})

t.test('a welcome describes the room as it is: facts, no joins, last description id, audience', async (t) => {
  const view = welcomed()
  t.same(view, {
    versions: new Map([['audiencePlayer', 1], ['room', 4], ['textDescriptions', 1]]),
    room: { state: 'Lobby', lobbyState: 'WaitingForMore', gameCanStart: false, gameFinished: false },
    finishedSeenFalse: true,
    lastDescriptionId: 1,
    joins: [],
    audience: { connections: null, counter: 0, others: 0, shards: 0 }
  })
  const withShard = applyWelcome(EMPTY_VIEW, parseWelcome({ ...AUDIENCE_WELCOME, here: HERE_WITH_SHARD }), true)
  t.equal(withShard.audience.shards, 1)

  // A reconnection starts versions over but keeps the description ids seen: the old joins stay old.
  const reconnected = applyWelcome(withAudienceAnswer(view, 3), parseWelcome(AUDIENCE_WELCOME), true)
  t.equal(reconnected.lastDescriptionId, 1)
  t.equal(reconnected.audience.connections, null, 'a new connection: the old get-audience answer is void')
  t.same(reconnected.joins, [])

  // A welcome to a watch that saw an older id (a reconnection, or a takeover resuming from the id its predecessor
  // stored) announces the joins made meanwhile; in the lobby only.
  const resumed = { ...EMPTY_VIEW, lastDescriptionId: 0 }
  t.same(applyWelcome(resumed, parseWelcome(AUDIENCE_WELCOME), true).joins, ['PROBE1'])
  t.same(applyWelcome(resumed, parseWelcome(AUDIENCE_WELCOME), false).joins, [])
  t.equal(applyWelcome(resumed, parseWelcome(AUDIENCE_WELCOME), true).lastDescriptionId, 1)
})

t.test('a join description becomes a join once, in the lobby only', async (t) => {
  const view = welcomed()
  const joined = applyEntity(view, entity(PROBE3_JOINED), true)
  t.same(joined.view.joins, ['PROBE3'])
  t.equal(joined.view.lastDescriptionId, 2)
  t.equal(joined.wake, true)

  const again = applyEntity(joined.view, entity(PROBE3_JOINED), true)
  t.equal(again.view, joined.view, 'the same version again changes nothing')
  t.equal(again.wake, false)

  const started = applyEntity(view, entity(PROBE3_JOINED), false)
  t.same(started.view.joins, [], 'no join events once the game started')
  t.equal(started.view.lastDescriptionId, 2)

  const vip = applyEntity(view, entity({
    key: 'textDescriptions',
    version: 2,
    val: {
      latestDescriptions: [
        { category: 'TEXT_DESCRIPTION_PLAYER_JOINED_VIP', id: 1, text: 'PROBE1 joined and is the VIP.' },
        { category: 'TEXT_DESCRIPTION_PLAYER_JOINED_VIP', id: 3, text: 'Ann Lee joined and is the VIP.' },
        { category: 'TEXT_DESCRIPTION_PLAYER_LEFT', id: 4, text: 'PROBE3 left.' },
        { category: 'TEXT_DESCRIPTION_PLAYER_JOINED', id: 5, text: '' },
        { category: 'TEXT_DESCRIPTION_PLAYER_JOINED', text: 'NOID joined.' }
      ]
    }
  }), true)
  t.same(vip.view.joins, ['Ann Lee'], 'old ids, other categories, empty names and entries without an id are no joins')
  t.equal(vip.view.lastDescriptionId, 5)
})

t.test('room updates: lobby changes wake the watch in the lobby; lobbyReport publishes each change once', async (t) => {
  const view = welcomed()
  const canStart = applyEntity(view, entity(CAN_START), true)
  t.same(canStart.view.room, { state: 'Lobby', lobbyState: 'CanStart', gameCanStart: true, gameFinished: false })
  t.equal(canStart.wake, true)
  t.equal(applyEntity(view, entity(CAN_START), false).wake, false, 'after the start the lobby state is no news')
  t.equal(applyEntity(canStart.view, roomUpdate(ROOM_LOBBY, 4), true).view, canStart.view, 'an older version is ignored')
  t.equal(applyEntity(canStart.view, roomUpdate({ ...CAN_START.val, analytics: [] }, 6), true).wake, false, 'an unchanged fact is no news')

  const joined = applyEntity(canStart.view, entity(PROBE3_JOINED), true).view
  const first = lobbyReport(joined, {}, 2)
  t.same(first.events, [
    { type: 'lobby.player-joined', data: { playerName: 'PROBE3', playerCount: 2 } },
    { type: 'lobby.updated', data: { lobbyState: 'CanStart', gameCanStart: true, playerCount: 2 } }
  ])
  t.same(first.view.joins, [])
  t.same(first.published, { lobbyState: 'CanStart', gameCanStart: true })
  t.equal(first.started, false)
  const second = lobbyReport(first.view, first.published, 2)
  t.same(second.events, [], 'nothing new, nothing reported')

  const noCount = lobbyReport(welcomed(), {}, null)
  t.same(noCount.events, [{ type: 'lobby.updated', data: { lobbyState: 'WaitingForMore', gameCanStart: false, playerCount: 0 } }])
  t.same(lobbyReport(EMPTY_VIEW, {}, 3).events, [], 'no lobby state seen yet')
})

t.test('Gameplay starts the game', async (t) => {
  const gameplay = applyEntity(welcomed(), roomUpdate({ ...ROOM_LOBBY, state: 'Gameplay', lobbyState: 'Countdown' }, 5), true)
  t.equal(gameplay.wake, true)
  t.equal(lobbyReport(gameplay.view, {}, 3).started, true)
  t.equal(lobbyReport(welcomed(), {}, 3).started, false)
})

t.test('gameFinished ends the game only after the room said otherwise', async (t) => {
  const finished = { ...ROOM_LOBBY, state: 'Lobby', gameFinished: true }
  const playing = applyEntity(welcomed(false), roomUpdate({ ...ROOM_LOBBY, state: 'Gameplay' }, 5), false).view
  const over = applyEntity(playing, roomUpdate(finished, 6), false)
  t.equal(over.wake, true, 'the end is worth a poll even during gameplay')
  t.equal(gameFinished(over.view.room, over.view), true)

  // A room reused for another round still says gameFinished from the last one.
  const leftover = applyWelcome(EMPTY_VIEW, parseWelcome({
    ...AUDIENCE_WELCOME,
    entities: { ...AUDIENCE_WELCOME.entities, room: ['object', { key: 'room', val: finished, version: 4 }, {}] }
  }), true)
  t.equal(leftover.finishedSeenFalse, false)
  t.equal(gameFinished(leftover.room, leftover), false)
  const newRound = applyEntity(leftover, roomUpdate(ROOM_LOBBY, 5), true).view
  const endOfNewRound = applyEntity(newRound, roomUpdate(finished, 6), false).view
  t.equal(gameFinished(endOfNewRound.room, endOfNewRound), true)
})

t.test('the audience counter and get-audience answers', async (t) => {
  const asked = withAudienceAnswer(welcomed(), 3)
  t.same(asked.audience, { connections: 3, counter: 0, others: 2, shards: 0 })
  const counted = applyEntity(asked, entity({ key: 'audience', count: 4 }), true)
  t.equal(counted.wake, false)
  t.same(counted.view.audience, { connections: null, counter: 4, others: 4, shards: 0 }, 'the newest audience fact wins')
  t.same(withAudienceAnswer(EMPTY_VIEW, 0).audience.others, 0)
  t.same(withoutAudienceAnswer(asked).audience, { connections: null, counter: 0, others: 2, shards: 0 })
})

t.test('players = connections - host - audience - shards', async (t) => {
  const drawful = { audienceEnabled: true, maxPlayers: 8 }
  const audience = (a: Partial<AudienceFacts> = {}): AudienceFacts => ({ connections: null, counter: 0, others: 0, shards: 0, ...a })
  const live = { live: true, failures: 0 }
  const connecting = { live: false, failures: 1 }
  const degraded = { live: false, failures: 3 }

  t.equal(countPlayers(6, drawful, audience({ connections: 3 }), live), 2, 'get-audience includes our own connection')
  t.equal(countPlayers(6, drawful, audience({ counter: 2 }), live), 2, 'the counter, plus ourselves')
  t.equal(countPlayers(6, drawful, audience({ connections: 3, shards: 1 }), live), 1)
  t.equal(countPlayers(6, drawful, audience({ connections: 3 }), connecting), null, 'our own connection may or may not count yet')
  t.equal(countPlayers(6, drawful, audience({ others: 2 }), degraded), 3, 'REST alone, with the audience last seen')
  t.equal(countPlayers(40, drawful, audience({ connections: 1 }), live), 8, 'never more than maxPlayers')
  t.equal(countPlayers(40, { audienceEnabled: true, maxPlayers: 0 }, audience({ connections: 1 }), live), 38, 'maxPlayers 0: no cap')
  t.equal(countPlayers(1, drawful, audience({ connections: 3 }), live), 0, 'never negative')
  t.equal(countPlayers(5, { audienceEnabled: false, maxPlayers: 8 }, audience({ connections: 3 }), connecting), 4, 'without audience: all but the host')
  t.equal(countPlayers(5, null, audience(), connecting), 4)

  t.equal(finalCount(7, drawful, audience({ others: 2, shards: 1 }), connecting), 3, 'the start takes a guess while reconnecting')
  t.equal(finalCount(6, drawful, audience({ connections: 3 }), live), 2)
})

t.test('no function changes its input', async (t) => {
  const view: SocketView = applyEntity(welcomed(), entity(PROBE3_JOINED), true).view
  const before = structuredClone(view)
  applyEntity(view, entity(CAN_START), true)
  applyEntity(view, entity({ ...PROBE3_JOINED, version: 3, val: { latestDescriptions: [{ category: 'TEXT_DESCRIPTION_PLAYER_JOINED', id: 9, text: 'X joined.' }] } }), true)
  applyEntity(view, entity({ key: 'audience', count: 2 }), true)
  applyWelcome(view, parseWelcome(AUDIENCE_WELCOME), true)
  lobbyReport(view, {}, 1)
  withAudienceAnswer(view, 5)
  withoutAudienceAnswer(view)
  t.same(view, before)
  t.same(EMPTY_VIEW, { versions: new Map(), room: {}, finishedSeenFalse: false, lastDescriptionId: null, joins: [], audience: { connections: null, counter: 0, others: 0, shards: 0 } })
})
