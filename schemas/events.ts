import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Flag, Id, Nullable, Timestamp } from './common.ts'
import { PlayerCheckStatus, Session, SessionGame } from './sessions.ts'
import { VoteGame, VoteType } from './votes.ts'

// The domain events of API.md's "Live events" table (their data shapes are the contract's). The live WebSocket and
// webhooks deliver them as {"type"|"event", "timestamp", "data"}; services publish them on app.events after commit.

export const EVENT_TYPES = ['session.started', 'game.added', 'session.ended', 'player-count.updated', 'vote.received',
  'room.connected', 'lobby.player-joined', 'lobby.updated', 'game.started', 'game.ended', 'room.disconnected'] as const
export type EventType = typeof EVENT_TYPES[number]

/** The events a webhook may subscribe to (API.md "Webhooks"). */
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
