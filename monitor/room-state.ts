import type { RoomInfo } from './ecast-client.ts'
import { isObject, type EcastEntity, type Welcome } from './ecast-frames.ts'

// What a room watch concludes from ecast's messages, as pure functions over immutable values (docs/ecast.md): the player
// count, and the meaning of the audience socket's room, textDescriptions and audience entities. RoomWatch keeps the
// timers, the I/O and the transitions.

const JOINED = new Set(['TEXT_DESCRIPTION_PLAYER_JOINED', 'TEXT_DESCRIPTION_PLAYER_JOINED_VIP'])
// After this many failed audience connections in a row the count falls back to REST alone (see countPlayers).
export const SOCKET_DEGRADED_AFTER = 3

/** What the `room` entity said last; a field is absent until ecast sent it. */
export interface RoomFacts { state?: string, lobbyState?: string, gameCanStart?: boolean, gameFinished?: boolean }

/** The audience as far as the watch knows it, for the player count. */
export interface AudienceFacts {
  /** The last `room/get-audience` answer (our own connection included); null when none, or newer news came since. */
  connections: number | null
  /** The `audience` pn-counter: the audience other than the connection reading it. */
  counter: number
  /** The audience other than ourselves, last seen: what a count without the socket subtracts. */
  others: number
  /** Shards named in the welcome's `here` (ecast sends null to audience connections, so usually none). */
  shards: number
}

/** Everything the audience socket has told the watch, as one value that each message replaces. */
export interface SocketView {
  /** The newest version seen per entity key; an update with an older or equal version is ignored. */
  versions: ReadonlyMap<string, number>
  room: RoomFacts
  /** Whether the room entity ever said gameFinished was not true (a room reused for another round may still say so). */
  finishedSeenFalse: boolean
  /** The highest textDescriptions id seen; null until the first textDescriptions. */
  lastDescriptionId: number | null
  /** Names of players who joined since the last lobby report, in order. */
  joins: readonly string[]
  audience: AudienceFacts
}

/** What a message changed, and whether it is worth polling now rather than at the next period. */
export interface Interpreted { view: SocketView, wake: boolean }

export const EMPTY_VIEW: SocketView = Object.freeze({
  versions: new Map<string, number>(),
  room: {},
  finishedSeenFalse: false,
  lastDescriptionId: null,
  joins: [],
  audience: { connections: null, counter: 0, others: 0, shards: 0 }
})

/** Shards are only visible in a welcome's `here` roles. */
export function shardsIn (here: Welcome['here']): number {
  return here ? Object.values(here).filter((client) => isObject(client?.roles) && 'shard' in client.roles).length : 0
}

/**
 * A (re)connection's welcome: versions start over, and its entities describe the room as it is (no join events for
 * players already there when the watch first connected, no wake for facts already true). The watch polls at once
 * after a welcome.
 */
export function applyWelcome (view: SocketView, welcome: Welcome, inLobby: boolean): SocketView {
  let next: SocketView = {
    ...view,
    versions: new Map(),
    audience: { ...view.audience, connections: null, shards: shardsIn(welcome.here) }
  }
  for (const entity of Object.values(welcome.entities)) next = applyEntity(next, entity, inLobby, true).view
  return next
}

/** One entity, from an update (or from a welcome when `initial`). */
export function applyEntity (view: SocketView, entity: EcastEntity, inLobby: boolean, initial = false): Interpreted {
  if (entity.version !== undefined) {
    const seen = view.versions.get(entity.key)
    if (seen !== undefined && entity.version <= seen) return { view, wake: false }
    view = { ...view, versions: new Map(view.versions).set(entity.key, entity.version) }
  }
  if (entity.key === 'audience' && entity.count !== undefined) {
    // The newest audience fact wins until the next get-audience answer.
    return { view: { ...view, audience: { ...view.audience, connections: null, counter: entity.count, others: entity.count } }, wake: false }
  }
  if (!isObject(entity.val)) return { view, wake: false }
  if (entity.key === 'room') return applyRoom(view, entity.val, inLobby, initial)
  if (entity.key === 'textDescriptions') return applyDescriptions(view, entity.val, inLobby, initial)
  return { view, wake: false }
}

function applyRoom (view: SocketView, val: Record<string, unknown>, inLobby: boolean, initial: boolean): Interpreted {
  const before = view.room
  const room: RoomFacts = { ...before }
  if (typeof val.state === 'string') room.state = val.state
  if (typeof val.lobbyState === 'string') room.lobbyState = val.lobbyState
  if (typeof val.gameCanStart === 'boolean') room.gameCanStart = val.gameCanStart
  if (typeof val.gameFinished === 'boolean') room.gameFinished = val.gameFinished
  // During gameplay the room entity changes all the time: only a fact the watch acts on is worth a poll.
  const relevant = (room.gameFinished === true && before.gameFinished !== true) || (inLobby &&
    (room.state !== before.state || room.lobbyState !== before.lobbyState || room.gameCanStart !== before.gameCanStart))
  return {
    view: { ...view, room, finishedSeenFalse: view.finishedSeenFalse || val.gameFinished !== true },
    wake: !initial && relevant
  }
}

function applyDescriptions (view: SocketView, val: Record<string, unknown>, inLobby: boolean, initial: boolean): Interpreted {
  const latest = Array.isArray(val.latestDescriptions) ? val.latestDescriptions : []
  const last = view.lastDescriptionId
  const joins = [...view.joins]
  let maxId = last ?? -Infinity
  for (const description of latest) {
    if (!isObject(description) || typeof description.id !== 'number') continue
    // Descriptions already there when we first connected are joins from before: no event for them. A later welcome (a
    // reconnection, or a watch taken over from another process) announces the joins newer than the last id seen.
    if (inLobby && last !== null && description.id > last &&
      typeof description.category === 'string' && JOINED.has(description.category)) {
      const name = typeof description.text === 'string' ? description.text.replace(/ joined.*$/s, '').trim() : ''
      if (name) joins.push(name)
    }
    maxId = Math.max(maxId, description.id)
  }
  const lastDescriptionId = initial || last === null ? (Number.isFinite(maxId) ? maxId : last ?? 0) : Math.max(last, maxId)
  return { view: { ...view, joins, lastDescriptionId }, wake: joins.length > 0 }
}

/** A `room/get-audience` answer: the audience connections, our own included. */
export function withAudienceAnswer (view: SocketView, connections: number): SocketView {
  return { ...view, audience: { ...view.audience, connections, others: Math.max(0, connections - 1) } }
}

/** The socket closed: its last get-audience answer no longer describes the room. */
export function withoutAudienceAnswer (view: SocketView): SocketView {
  return { ...view, audience: { ...view.audience, connections: null } }
}

/** The audience socket as the count sees it: open (welcomed), and its failed connections in a row. */
export interface SocketHealth { live: boolean, failures: number }

/**
 * Players = connections − host − audience − shards (docs/ecast.md, "How the monitor counts players").
 * - Audience: `room/get-audience` answers with the live audience connection count, this monitor's own connection
 *   included, so it is asked right after every /connections poll. Without an answer, the `audience` pn-counter
 *   stands in, plus one for ourselves: the raw audience welcome shows `count: 0` on the very connection that
 *   received it, so the counter does not include the connection reading it. (/info's numAudience is documented
 *   as lagging for WebSocket audience, so it is not used.)
 * - Shards: only visible in a welcome's `here` roles, which ecast sends as null to audience connections; when it
 *   is null no shard can be told apart, so none is subtracted.
 * - While the socket is (re)connecting, the server may or may not count our own connection yet: no count then (null).
 *   After repeated socket failures, REST alone counts, with the last known audience other than ourselves.
 * Without audience, everything but the host is a player. A count never exceeds maxPlayers.
 */
export function countPlayers (
  connections: number,
  room: Pick<RoomInfo, 'audienceEnabled' | 'maxPlayers'> | null,
  audience: AudienceFacts,
  socket: SocketHealth
): number | null {
  let others = 1 + audience.shards
  if (room?.audienceEnabled) {
    if (socket.live) others += audience.connections ?? audience.counter + 1
    else if (socket.failures >= SOCKET_DEGRADED_AFTER) others += audience.others
    else return null
  }
  const max = room && room.maxPlayers > 0 ? room.maxPlayers : Infinity
  return Math.max(0, Math.min(max, connections - others))
}

/** The count at the start, when no lobby count was made: the best guess even while the socket reconnects. */
export function finalCount (
  connections: number,
  room: Pick<RoomInfo, 'audienceEnabled' | 'maxPlayers'> | null,
  audience: AudienceFacts,
  socket: SocketHealth
): number {
  return countPlayers(connections, room, audience, socket) ?? Math.max(0, connections - 1 - audience.shards - audience.others)
}

/** The lobby facts last reported, so an unchanged lobby is not reported again. */
export interface PublishedLobby { lobbyState?: string, gameCanStart?: boolean }

export type LobbyEvent =
  | { type: 'lobby.player-joined', data: { playerName: string, playerCount: number } }
  | { type: 'lobby.updated', data: { lobbyState: string, gameCanStart: boolean, playerCount: number } }

export interface LobbyReport {
  /** The view with its joins taken. */
  view: SocketView
  published: PublishedLobby
  /** To publish in this order. */
  events: LobbyEvent[]
  /** The room entity says Gameplay: the game has started. */
  started: boolean
}

/** What a lobby tick reports from the socket's news: joins, a changed lobby state, and whether the game started. */
export function lobbyReport (view: SocketView, published: PublishedLobby, playerCount: number | null): LobbyReport {
  const facts = view.room
  const count = playerCount ?? 0
  const events: LobbyEvent[] = view.joins.map((playerName) => ({ type: 'lobby.player-joined', data: { playerName, playerCount: count } }))
  if (facts.lobbyState !== undefined && (facts.lobbyState !== published.lobbyState || facts.gameCanStart !== published.gameCanStart)) {
    published = { lobbyState: facts.lobbyState, gameCanStart: facts.gameCanStart }
    events.push({ type: 'lobby.updated', data: { lobbyState: facts.lobbyState, gameCanStart: facts.gameCanStart === true, playerCount: count } })
  }
  return { view: { ...view, joins: [] }, published, events, started: facts.state === 'Gameplay' }
}

/** Whether the game is over: gameFinished counts only once the room said otherwise (not a leftover from a last round). */
export function gameFinished (facts: RoomFacts, view: Pick<SocketView, 'finishedSeenFalse'>): boolean {
  return facts.gameFinished === true && view.finishedSeenFalse
}
