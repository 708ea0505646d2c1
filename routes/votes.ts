import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { NotFound } from '../plugins/errors.ts'
import { ErrorBody, IdParams } from '../schemas/common.ts'
import { LiveVoteBody, LiveVoteResult, SessionVotes, VoteList, VotesQuery } from '../schemas/votes.ts'
import { listSessionVoteTallies, listVotes } from '../db/votes.ts'
import { castLiveVote, DUPLICATE_WINDOW_MS } from '../domain/votes.ts'
import { findSession } from '../db/sessions.ts'

const votes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/votes/live', {
    onRequest: app.requireRole('admin', 'bot'),
    schema: {
      tags: ['votes'],
      operationId: 'recordLiveVote',
      summary: 'Record a vote from chat as it happens',
      description: 'The vote counts for the active session\'s game at `timestamp`: the one with the latest played_at at ' +
        'or before it, the rule chat import uses (skipped games included). The live_votes row and the game\'s counters ' +
        `change in one transaction with its \`vote.received\` event. A vote whose timestamp is less than ${DUPLICATE_WINDOW_MS} ms ` +
        'from one the same username already cast (before or after it, in any session) is refused with 409.',
      security: [{ bearer: [] }],
      body: LiveVoteBody,
      response: { 200: LiveVoteResult, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody }
    }
  }, async (request) => {
    const { username, vote, timestamp } = request.body
    const { session, game, vote: voted } = await castLiveVote(app.db, username, vote, new Date(timestamp))
    return { success: true as const, session, game, vote: voted }
  })

  app.get('/votes', {
    schema: {
      tags: ['votes'],
      operationId: 'listVotes',
      summary: 'Browse live votes',
      description: 'Newest first (timestamp, then id). `total` counts every vote matching the filters.',
      querystring: VotesQuery,
      response: { 200: VoteList, 400: ErrorBody }
    }
  }, async (request) => {
    const { page, limit, ...filters } = request.query
    const { votes, ...counts } = await listVotes(app.db, filters, page, limit)
    return { votes, pagination: { page, limit, ...counts } }
  })

  app.get('/sessions/:id/votes', {
    schema: {
      tags: ['sessions', 'votes'],
      operationId: 'getSessionVotes',
      summary: 'Per-game vote breakdown for a session',
      description: 'Aggregates the session\'s live votes by game, ordered by net_score DESC (then total_votes DESC, ' +
        'game_id). An empty `votes` array when the session has none.',
      params: IdParams,
      response: { 200: SessionVotes, 400: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    const { id } = request.params
    const [session, tallies] = await Promise.all([findSession(app.db, id), listSessionVoteTallies(app.db, id)])
    if (!session) throw new NotFound('Session')
    return { session_id: id, votes: tallies }
  })
}

export default votes
