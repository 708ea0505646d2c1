import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ApiError, NotFound } from '../plugins/errors.ts'
import { ErrorBody, IdParams } from '../schemas/common.ts'
import { ChatImportBody, ChatImportResult } from '../schemas/chat-import.ts'
import { importChatLog, VOTE_MATCH_LIMIT, type ChatMessage } from '../db/chat-logs.ts'

// ISO-8601 date-times: `T` or a space, optional seconds and fraction, optional zone (none means UTC).
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/

function parseTimestamp (value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined
  const match = ISO_DATE_TIME.exec(value)
  if (!match) return undefined
  const date = new Date(match[3] ? value.replace(' ', 'T') : `${value.replace(' ', 'T')}Z`)
  return Number.isNaN(date.getTime()) ? undefined : date
}

/** The rows as messages, or a 400 naming the first bad index; nothing is stored when one row is bad. */
function parseChatData (rows: unknown[]): ChatMessage[] {
  const messages = new Array<ChatMessage>(rows.length)
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Record<string, unknown> | null
    const at = `chatData[${i}]`
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new ApiError(400, `${at} must be an object`)
    const { username, message, timestamp } = row
    if (username === undefined || username === null || username === '') throw new ApiError(400, `${at}.username is required`)
    if (typeof username !== 'string') throw new ApiError(400, `${at}.username must be a string`)
    if (message === undefined || message === null) throw new ApiError(400, `${at}.message is required`)
    if (typeof message !== 'string') throw new ApiError(400, `${at}.message must be a string`)
    if (timestamp === undefined || timestamp === null) throw new ApiError(400, `${at}.timestamp is required`)
    const date = parseTimestamp(timestamp)
    if (!date) throw new ApiError(400, `${at}.timestamp is not a valid timestamp`)
    messages[i] = { username, message, timestamp: date }
  }
  return messages
}

const chatImport: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/:id/chat-import', {
    onRequest: app.requireAuth,
    // A 100,000-message log is about 8 MB of JSON; leave room for long messages.
    bodyLimit: 64 * 1024 * 1024,
    schema: {
      tags: ['sessions'],
      summary: 'Import a chat log and count its votes',
      description: 'Stores every message in chat_logs; `thisgame++` / `thisgame--` (case-insensitive) are votes for ' +
        'the game being played at the message\'s timestamp (the latest played_at at or before it; votes before the ' +
        'first game are stored but not counted). Messages already imported (same SHA-256 of ' +
        'username:message:timestamp) are skipped and counted as duplicates, so re-importing a log changes nothing. ' +
        'A row with a missing username or message, or an unparseable timestamp, rejects the whole request with a 400 ' +
        `naming its index. \`debug.voteMatches\` lists at most the first ${VOTE_MATCH_LIMIT} votes counted. The body may be up to 64 MB.`,
      security: [{ bearer: [] }],
      params: IdParams,
      body: ChatImportBody,
      response: { 200: ChatImportResult, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 413: ErrorBody }
    }
  }, async (request) => {
    const messages = parseChatData(request.body.chatData)
    const outcome = await importChatLog(app.db, request.params.id, messages)
    if (outcome.status === 'no-session') throw new NotFound('Session')
    if (outcome.status === 'no-games') throw new ApiError(400, 'No games played in this session to match votes against')
    return {
      message: 'Chat log imported and processed successfully',
      messagesImported: outcome.messagesImported,
      duplicatesSkipped: messages.length - outcome.messagesImported,
      votesProcessed: outcome.votesProcessed,
      votesByGame: Object.fromEntries(outcome.votesByGame.map(({ game_id: id, ...count }) => [String(id), count])),
      debug: {
        sessionGamesTimeline: outcome.timeline.map((entry) => ({
          title: entry.title,
          played_at: entry.played_at.toISOString(),
          played_at_ms: entry.played_at.getTime()
        })),
        voteMatches: outcome.voteMatches
      }
    }
  })
}

export default chatImport
