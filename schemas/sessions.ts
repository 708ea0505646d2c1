import { Type, type Static } from '@sinclair/typebox'
import { Flag, FlagInput, Id, Nullable, RoomCode, Timestamp } from './common.ts'

export const Session = Type.Object({
  id: Id,
  notes: Nullable(Type.String()),
  is_active: Flag,
  created_at: Timestamp,
  closed_at: Nullable(Timestamp),
  games_played: Type.Integer({ minimum: 0, description: 'How many games were added to the session (session_games rows)' })
}, { $id: 'Session', description: 'A game night', examples: [{ id: 5, notes: 'Friday game night', is_active: 1, created_at: '2026-03-15T19:00:00.000Z', closed_at: null, games_played: 3 }] })
export type Session = Static<typeof Session>

// The documented 201 for a new session carries no games_played (clients were written against exactly these fields).
export const CreatedSession = Type.Omit(Session, ['games_played'], {
  examples: [{ id: 5, notes: 'Friday game night', is_active: 1, created_at: '2026-03-15T19:00:00.000Z', closed_at: null }]
})
export type CreatedSession = Static<typeof CreatedSession>

export const NoActiveSession = Type.Object({
  session: Type.Null(),
  message: Type.Literal('No active session')
}, { description: 'No session is open' })

export const NewSession = Type.Object({
  notes: Type.Optional(Nullable(Type.String({ maxLength: 10000, description: 'Optional notes, e.g. "Friday game night"' })))
})
export type NewSession = Static<typeof NewSession>

export const CloseSession = Type.Object({
  notes: Type.Optional(Nullable(Type.String({ maxLength: 10000, description: 'Replaces the session notes when given' })))
})
export type CloseSession = Static<typeof CloseSession>

export const SessionDeleted = Type.Object({
  message: Type.Literal('Session deleted successfully'),
  sessionId: Id
}, { description: 'The session and everything recorded in it were deleted' })

export const SessionGameStatus = Type.Unsafe<'playing' | 'played' | 'skipped'>({
  type: 'string',
  enum: ['playing', 'played', 'skipped'],
  errorMessage: 'Invalid status. Must be playing, played, or skipped'
})
export type SessionGameStatus = Static<typeof SessionGameStatus>

export const PlayerCheckStatus = Type.Union([Type.Literal('not_started'), Type.Literal('checking'),
  Type.Literal('completed'), Type.Literal('failed'), Type.Literal('stopped')])
export type PlayerCheckStatus = Static<typeof PlayerCheckStatus>

export const SessionGame = Type.Object({
  id: { ...Id, description: 'session_games.id: the sessionGameId of the sub-routes' },
  session_id: Id,
  game_id: { ...Id, description: 'games.id' },
  manually_added: Flag,
  status: SessionGameStatus,
  room_code: Nullable(Type.String()),
  played_at: Timestamp,
  player_count: Nullable(Type.Integer({ minimum: 0 })),
  player_count_check_status: PlayerCheckStatus,
  pack_name: Type.String(),
  title: Type.String(),
  game_type: Nullable(Type.String()),
  min_players: Type.Integer(),
  max_players: Type.Integer(),
  popularity_score: Type.Integer(),
  upvotes: Type.Integer(),
  downvotes: Type.Integer()
}, {
  $id: 'SessionGame',
  description: 'A game played in a session, joined with its catalog facts',
  examples: [{
    id: 14,
    session_id: 5,
    game_id: 42,
    manually_added: 1,
    status: 'playing',
    room_code: 'ABCD',
    played_at: '2026-03-15T20:30:00.000Z',
    player_count: null,
    player_count_check_status: 'checking',
    pack_name: 'Jackbox Party Pack 7',
    title: 'Quiplash 3',
    game_type: 'Writing',
    min_players: 3,
    max_players: 8,
    popularity_score: 12,
    upvotes: 15,
    downvotes: 3
  }]
})
export type SessionGame = Static<typeof SessionGame>

export const NewSessionGame = Type.Object({
  game_id: { ...Id, description: 'games.id (from the catalog)' },
  manually_added: Type.Optional(FlagInput('manually_added', 'Default 0; false/true accepted too')),
  room_code: Type.Optional(Nullable(RoomCode))
})
export type NewSessionGame = Static<typeof NewSessionGame>

export const StatusBody = Type.Object({
  status: SessionGameStatus
}, { errorMessage: { required: { status: 'Invalid status. Must be playing, played, or skipped' } } })
export type StatusBody = Static<typeof StatusBody>

export const StatusUpdated = Type.Object({
  message: Type.Literal('Status updated successfully'),
  status: SessionGameStatus
}, { description: 'The new status' })

export const SessionGameRemoved = Type.Object({
  message: Type.Literal('Game removed from session successfully')
}, { description: 'The game was removed from the session' })

export const RoomCodeBody = Type.Object({
  room_code: RoomCode
})
export type RoomCodeBody = Static<typeof RoomCodeBody>

export const PlayerCountBody = Type.Object({
  player_count: Type.Integer({ minimum: 0, maximum: 2147483647, errorMessage: 'player_count must be a positive number', description: 'Non-negative player count' })
})
export type PlayerCountBody = Static<typeof PlayerCountBody>

export const PlayerCountUpdatedBody = Type.Object({
  message: Type.Literal('Player count updated successfully'),
  player_count: Type.Integer({ minimum: 0 })
}, { description: 'The stored player count' })
