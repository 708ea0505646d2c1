import { Type, type Static } from '@sinclair/typebox'
import { Id, Nullable, Timestamp } from './common.ts'

// The domain events of API.md's "Live events" table. The live WebSocket and webhooks deliver them as
// {"type"|"event", "timestamp", "data"}; the services announce them on app.events after their write commits.

export const EVENT_TYPES = ['session.started', 'game.added', 'session.ended', 'player-count.updated', 'vote.received',
  'room.connected', 'lobby.player-joined', 'lobby.updated', 'game.started', 'game.ended', 'room.disconnected'] as const
export type EventType = typeof EVENT_TYPES[number]

/** The events a webhook may subscribe to (API.md "Webhooks"). */
export const WEBHOOK_EVENTS = ['session.started', 'game.added', 'session.ended', 'vote.received', 'player-count.updated'] as const
export type WebhookEvent = typeof WEBHOOK_EVENTS[number]

export const PlayerCountSource = Type.Union([Type.Literal('monitor'), Type.Literal('manual')])

const RoomIds = {
  sessionId: Id,
  sessionGameId: Id,
  roomCode: Type.String()
}

export const RoomEventData = {
  'room.connected': Type.Object({ ...RoomIds, appTag: Type.String(), maxPlayers: Type.Integer() }),
  'lobby.player-joined': Type.Object({ ...RoomIds, playerName: Type.String(), playerCount: Type.Integer() }),
  'lobby.updated': Type.Object({ ...RoomIds, lobbyState: Type.String(), gameCanStart: Type.Boolean(), playerCount: Type.Integer() }),
  'game.started': Type.Object({ ...RoomIds, playerCount: Type.Integer() }),
  'game.ended': Type.Object({ ...RoomIds, playerCount: Type.Integer() }),
  'room.disconnected': Type.Object({ ...RoomIds, reason: Type.String() })
}

export const PlayerCountUpdated = Type.Object({
  ...RoomIds,
  roomCode: Nullable(Type.String()),
  playerCount: Type.Integer({ minimum: 0 }),
  status: Type.String(),
  source: PlayerCountSource
})
export type PlayerCountUpdated = Static<typeof PlayerCountUpdated>

export const VoteReceived = Type.Object({
  sessionId: Id,
  game: Type.Object({ id: Id, title: Type.String(), upvotes: Type.Integer(), downvotes: Type.Integer(), popularity_score: Type.Integer() }),
  vote: Type.Object({ username: Type.String(), type: Type.Union([Type.Literal('up'), Type.Literal('down')]), timestamp: Timestamp })
})
export type VoteReceived = Static<typeof VoteReceived>
