import { Type, type Static } from '@sinclair/typebox'
import { Id } from './common.ts'
import { VoteType } from './votes.ts'

// Rows are checked one by one in the handler, not here, so the 400 always names the FIRST bad index, whatever
// is wrong with it (a schema would report missing fields before an earlier unparseable timestamp).
export const ChatRowInput = Type.Unsafe<unknown>({
  description: 'An object `{username, message, timestamp}`. `timestamp` is ISO-8601; without a zone it is UTC.',
  examples: [{ username: 'viewer1', message: 'thisgame++', timestamp: '2026-03-15T20:30:00Z' }]
})

export const ChatImportBody = Type.Object({
  chatData: Type.Array(ChatRowInput, { errorMessage: 'chatData must be an array' })
}, { errorMessage: { required: { chatData: 'chatData must be an array' } } })
export type ChatImportBody = Static<typeof ChatImportBody>

export const ChatImportResult = Type.Object({
  message: Type.String({ examples: ['Chat log imported and processed successfully'] }),
  messagesImported: Type.Integer({ minimum: 0, description: 'Messages newly stored by this import' }),
  duplicatesSkipped: Type.Integer({ minimum: 0, description: 'Messages already stored (same username, message and timestamp)' }),
  votesProcessed: Type.Integer({ minimum: 0, description: 'Newly stored votes that fell into a game and were counted' }),
  votesByGame: Type.Record(Type.String({ description: 'game_id' }), Type.Object({
    title: Type.String(),
    upvotes: Type.Integer({ minimum: 0 }),
    downvotes: Type.Integer({ minimum: 0 })
  }), { description: 'The votes this import counted, keyed by game_id' }),
  debug: Type.Object({
    sessionGamesTimeline: Type.Array(Type.Object({
      title: Type.String(),
      played_at: Type.String({ format: 'date-time' }),
      played_at_ms: Type.Integer()
    })),
    voteMatches: Type.Array(Type.Object({
      username: Type.String(),
      message: Type.String(),
      timestamp: Type.String({ format: 'date-time' }),
      vote_type: VoteType,
      session_game_id: Id,
      game_id: Id,
      title: Type.String()
    }), { description: 'The first 100 votes this import counted, in log order (bounded so a large log is not echoed back)' })
  })
}, { $id: 'ChatImportResult', description: 'What a chat import stored and counted' })
export type ChatImportResult = Static<typeof ChatImportResult>
