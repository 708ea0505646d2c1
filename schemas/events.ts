import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Flag, Id, MAX_EVENT_ID, Nullable, Timestamp } from './common.ts'
import { PlayerCheckStatus, Session, SessionGame, SessionGameStatus } from './sessions.ts'
import { VoteGame, VoteType } from './votes.ts'

// The domain events clients are promised, with their data shapes (the AsyncAPI document lists them). The live WebSocket,
// webhooks and the timeline deliver them as {"type"|"event", "timestamp", "data"}; domain operations record them in
// the event log (the `events` table) in the transaction of the change they describe.

/** The events the room monitor records about a watched Jackbox room. */
export const ROOM_EVENT_TYPES = ['room.connected', 'lobby.player-joined', 'lobby.updated', 'game.started', 'game.ended',
  'room.disconnected'] as const
export type RoomEventType = typeof ROOM_EVENT_TYPES[number]

export const EVENT_TYPES = ['session.started', 'game.added', 'session.ended', 'player-count.updated', 'vote.received',
  ...ROOM_EVENT_TYPES] as const
export type EventType = typeof EVENT_TYPES[number]

/**
 * Events the log carries for the service's own consumers (the room monitor, every process's live hub) and never shows
 * to clients or webhooks: changes that no public event type (EVENT_TYPES) announces. `token.revoked` (`{"tokenId"}`, no
 * session) signs the token's live clients out on every process.
 */
export const INTERNAL_EVENT_TYPES = ['session-game.status-changed', 'session-game.removed', 'session-game.room-code-changed', 'token.revoked'] as const
export type InternalEventType = typeof INTERNAL_EVENT_TYPES[number]

/** The events a webhook may subscribe to. */
export const WEBHOOK_EVENTS = ['session.started', 'game.added', 'session.ended', 'vote.received', 'player-count.updated'] as const
export type WebhookEvent = typeof WEBHOOK_EVENTS[number]

const RoomIds = {
  sessionId: Id,
  sessionGameId: { ...Id, description: 'session_games.id' },
  roomCode: Type.String({ description: 'The Jackbox room code', examples: ['ABCD'] })
}
const PlayerCount = Type.Integer({ minimum: 0, description: 'Players in the room now' })

/** Each event's `data`, as the live socket, the webhooks and the AsyncAPI document (/docs/asyncapi.json) carry it. */
export const EVENT_DATA = {
  'session.started': Type.Object({ session: Session }, { description: 'A session was started' }),
  'game.added': Type.Object({
    session: Type.Object({ id: Id, is_active: Flag, games_played: Type.Integer({ minimum: 0 }) }),
    game: SessionGame
  }, { description: 'A game was added to the session; the previous `playing` one, if any, is now `played`' }),
  'session.ended': Type.Object({ session: Session }, { description: 'The session was closed' }),
  'player-count.updated': Type.Object({
    ...RoomIds,
    roomCode: Nullable(RoomIds.roomCode),
    playerCount: PlayerCount,
    status: PlayerCheckStatus,
    source: Type.Union([Type.Literal('monitor'), Type.Literal('manual')], { description: '`monitor`: counted in the room; `manual`: set by hand' })
  }, { description: 'A session game\'s player count changed' }),
  'vote.received': Type.Object({
    sessionId: Id,
    game: VoteGame,
    vote: Type.Object({ username: Type.String(), type: VoteType, timestamp: Timestamp })
  }, { description: 'A live vote was counted; `game` carries the new totals' }),
  'room.connected': Type.Object({
    ...RoomIds,
    appTag: Type.String({ description: 'The Jackbox game running in the room', examples: ['quiplash3'] }),
    maxPlayers: Type.Integer()
  }, { description: 'The room monitor found the room and watches it' }),
  'lobby.player-joined': Type.Object({ ...RoomIds, playerName: Type.String(), playerCount: PlayerCount }, { description: 'A player joined the lobby' }),
  'lobby.updated': Type.Object({
    ...RoomIds,
    lobbyState: Type.String({ examples: ['CanStart'] }),
    gameCanStart: Type.Boolean(),
    playerCount: PlayerCount
  }, { description: 'The lobby changed state' }),
  'game.started': Type.Object({ ...RoomIds, playerCount: PlayerCount }, { description: 'The game left the lobby: the count is final' }),
  'game.ended': Type.Object({ ...RoomIds, playerCount: PlayerCount }, { description: 'The game in the room ended' }),
  'room.disconnected': Type.Object({ ...RoomIds, reason: Type.String({ examples: ['room closed'] }) }, { description: 'The room monitor stopped watching the room' })
} satisfies Record<EventType, TSchema>

export type EventData<T extends EventType = EventType> = Static<typeof EVENT_DATA[T]>

const SessionGameRef = { sessionGameId: { ...Id, description: 'session_games.id' } }

/** Each internal event's `data`: what the room monitor needs to start, stop or restart a watch. */
export const INTERNAL_EVENT_DATA = {
  'session-game.status-changed': Type.Object({ ...SessionGameRef, status: SessionGameStatus }),
  'session-game.removed': Type.Object(SessionGameRef),
  'session-game.room-code-changed': Type.Object({ ...SessionGameRef, roomCode: Type.String() }),
  'token.revoked': Type.Object({ tokenId: Id })
} satisfies Record<InternalEventType, TSchema>

export type InternalEventData<T extends InternalEventType = InternalEventType> = Static<typeof INTERNAL_EVENT_DATA[T]>

/** One event of a session's history, as the live socket sends it. */
export const TimelineEvent = Type.Object({
  id: Type.Integer({ minimum: 1, description: 'Increases in commit order: pass the last one seen as `since`' }),
  type: Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))),
  timestamp: Type.String({ format: 'date-time' }),
  data: Type.Unknown()
})
export type TimelineEvent = Static<typeof TimelineEvent>

export const TimelineQuery = Type.Object({
  since: Type.Integer({ minimum: 0, maximum: MAX_EVENT_ID, default: 0, description: 'Only events with a larger id' }),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 })
})
export type TimelineQuery = Static<typeof TimelineQuery>

export const Timeline = Type.Object({
  events: Type.Array(TimelineEvent),
  next: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'The `since` of the next page; null when this page is the last' })
}, { description: 'One page of the session\'s events, oldest first' })
export type Timeline = Static<typeof Timeline>
