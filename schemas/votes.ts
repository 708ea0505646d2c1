import { Type, type Static } from '@sinclair/typebox'
import { Id, Timestamp } from './common.ts'

export const VoteType = Type.Unsafe<'up' | 'down'>({ type: 'string', enum: ['up', 'down'] })
export type VoteType = Static<typeof VoteType>

export const LiveVoteBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 200, examples: ['viewer1'] }),
  vote: { ...VoteType, errorMessage: 'vote must be "up" or "down"' } as typeof VoteType,
  timestamp: Type.String({
    format: 'date-time',
    errorMessage: 'timestamp must be an ISO-8601 date-time',
    description: 'When the vote was cast; decides which game it is for',
    examples: ['2026-03-15T20:30:00.000Z']
  })
})
export type LiveVoteBody = Static<typeof LiveVoteBody>

export const VoteGame = Type.Object({
  id: Id,
  title: Type.String(),
  upvotes: Type.Integer(),
  downvotes: Type.Integer(),
  popularity_score: Type.Integer()
})
export type VoteGame = Static<typeof VoteGame>

export const LiveVoteResult = Type.Object({
  success: Type.Literal(true),
  session: Type.Object({ id: Id, games_played: Type.Integer({ minimum: 0 }) }),
  game: VoteGame,
  vote: Type.Object({ username: Type.String(), type: VoteType, timestamp: Timestamp })
}, { $id: 'LiveVoteResult', description: 'The recorded vote and the new totals of the game it counted for' })
export type LiveVoteResult = Static<typeof LiveVoteResult>

export const VotesQuery = Type.Object({
  session_id: Type.Optional(Id),
  game_id: Type.Optional(Id),
  username: Type.Optional(Type.String({ minLength: 1 })),
  vote_type: Type.Optional({ ...VoteType, errorMessage: 'vote_type must be "up" or "down"' } as typeof VoteType),
  page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 })
})
export type VotesQuery = Static<typeof VotesQuery>

export const Vote = Type.Object({
  id: Id,
  session_id: Id,
  game_id: Id,
  game_title: Type.String(),
  username: Type.String(),
  vote_type: VoteType,
  timestamp: Timestamp
}, { $id: 'Vote', description: 'One live vote' })
export type Vote = Static<typeof Vote>

export const VoteList = Type.Object({
  votes: Type.Array(Vote),
  pagination: Type.Object({
    page: Type.Integer({ minimum: 1 }),
    limit: Type.Integer({ minimum: 1 }),
    total: Type.Integer({ minimum: 0 }),
    total_pages: Type.Integer({ minimum: 0 })
  })
}, { $id: 'VoteList', description: 'A page of live votes, newest first' })
export type VoteList = Static<typeof VoteList>

export const GameVoteTally = Type.Object({
  game_id: Id,
  title: Type.String(),
  pack_name: Type.String(),
  upvotes: Type.Integer({ minimum: 0 }),
  downvotes: Type.Integer({ minimum: 0 }),
  net_score: Type.Integer(),
  total_votes: Type.Integer({ minimum: 0 })
})
export type GameVoteTally = Static<typeof GameVoteTally>

export const SessionVotes = Type.Object({
  session_id: Id,
  votes: Type.Array(GameVoteTally)
}, { $id: 'SessionVotes', description: 'A session\'s live votes per game' })
export type SessionVotes = Static<typeof SessionVotes>
