import type { IncomingMessage } from 'node:http'
import type { FastifyRequest } from 'fastify'
import { errorCodes } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorBody, IdParams } from '../schemas/common.ts'
import { ChatImportBody, ChatImportResult } from '../schemas/chat-import.ts'
import { CHAT_IMPORT_BATCH_ROWS, CHAT_IMPORT_BODY_LIMIT, importChatLog } from '../domain/chat-import.ts'
import { VOTE_MATCH_LIMIT } from '../domain/chat-import-tally.ts'

// Rows per statement on the embedded database: about 25 ms of PGlite's time each (a server takes 5,000).
const EMBEDDED_BATCH_ROWS = 500

const chatImport: FastifyPluginAsyncTypebox = async (app) => {
  // The log is read as it arrives (domain/chat-import.ts), not parsed whole: in this plugin only, the JSON parser
  // hands the body stream over and the route validates what it reads. The schema below still describes the body.
  const batchRows = app.dbEmbedded ? EMBEDDED_BATCH_ROWS : CHAT_IMPORT_BATCH_ROWS
  const bodies = new WeakMap<FastifyRequest, IncomingMessage>()
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', (request, payload, done) => {
    if (Number(request.headers['content-length']) > CHAT_IMPORT_BODY_LIMIT) {
      done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), undefined)
      return
    }
    bodies.set(request, payload)
    done(null, { chatData: [] })
  })

  app.post('/:id/chat-import', {
    onRequest: app.requireRole('admin', 'bot'),
    schema: {
      tags: ['sessions'],
      operationId: 'importChatLog',
      summary: 'Import a chat log and count its votes',
      description: 'Stores every message in chat_logs; `thisgame++` / `thisgame--` (case-insensitive) are votes for ' +
        'the game being played at the message\'s timestamp (the latest played_at at or before it; votes before the ' +
        'first game are stored but not counted). Messages already imported (same SHA-256 of ' +
        'username:message:timestamp) are skipped and counted as duplicates, so re-importing a log changes nothing. ' +
        'A row with a missing username or message, or an unparseable timestamp, rejects the whole request with a 400 ' +
        `naming its index, and nothing of it is stored. \`debug.voteMatches\` lists at most the first ${VOTE_MATCH_LIMIT} ` +
        'votes counted. The body is read and stored as it arrives, so a log of any length needs little memory; it ' +
        'may be up to 200 MB (about 1.8 million messages). The messages show (in the export) and the votes count once ' +
        'the whole body has arrived; a slow upload holds no lock, so votes and changes to the session go on meanwhile. ' +
        'Imports into one session run one after another.',
      security: [{ bearer: [] }],
      params: IdParams,
      body: ChatImportBody,
      response: { 200: ChatImportResult, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 413: ErrorBody }
    }
  }, async (request, reply) => {
    const body = bodies.get(request)!
    try {
      const outcome = await importChatLog(app.db, request.params.id, body, { owner: app.instance, batchRows, embedded: app.dbEmbedded })
      app.metrics.chatImportRows.inc({ result: 'stored' }, outcome.messagesImported)
      app.metrics.chatImportRows.inc({ result: 'duplicate' }, outcome.duplicatesSkipped)
      return {
        message: 'Chat log imported and processed successfully',
        messagesImported: outcome.messagesImported,
        duplicatesSkipped: outcome.duplicatesSkipped,
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
    } catch (err) {
      // The rest of an unread body is not worth receiving: the connection closes after the answer.
      if (!body.complete) reply.header('connection', 'close')
      throw err
    }
  })
}

export default chatImport
