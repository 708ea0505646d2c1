import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ApiError, NotFound } from '../plugins/errors.ts'
import { ErrorBody, IdParams } from '../schemas/common.ts'
import { LiveVoteBody, LiveVoteResult, SessionVotes, VoteList, VotesQuery } from '../schemas/votes.ts'
import { DUPLICATE_WINDOW_MS, KeyedLock, listSessionVoteTallies, listVotes, recordLiveVote } from '../db/votes.ts'
import { findSession } from '../db/sessions.ts'

const votes: FastifyPluginAsyncTypebox = async (app) => {
  const votesByUser = new KeyedLock()

  app.post('/votes/live', {
    onRequest: app.requireRole('admin', 'bot'),
    schema: {
      tags: ['votes'],
      operationId: 'recordLiveVote',
      summary: 'Record a vote from chat as it happens',
      description: 'The vote counts for the active session\'s game at `timestamp`: the one with the latest played_at at ' +
        'or before it, the rule chat import uses (skipped games included). The live_votes row and the game\'s counters ' +
        `change in one transaction, then \`vote.received\` is published. A vote whose timestamp is less than ${DUPLICATE_WINDOW_MS} ms ` +
        'from one the same username already cast (before or after it, in any session) is refused with 409.',
      security: [{ bearer: [] }],
      body: LiveVoteBody,
      response: { 200: LiveVoteResult, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody }
    }
  }, async (request) => {
    const { username, vote, timestamp } = request.body
    const at = new Date(timestamp)
    const outcome = await recordLiveVote(app.db, votesByUser, username, vote, at)
    if (outcome.status === 'no-session') throw new ApiError(404, 'No active session')
    if (outcome.status === 'no-game') throw new ApiError(404, 'No game is being played at that time')
    if (outcome.status === 'duplicate') throw new ApiError(409, 'Duplicate vote: this username already voted within the last second')
    const voted = { username, type: vote, timestamp: at }
    app.events.publish('vote.received', outcome.session.id, {
      sessionId: outcome.session.id,
      game: outcome.game,
      vote: { ...voted, timestamp: at.toISOString() }
    })
    return { success: true as const, session: outcome.session, game: outcome.game, vote: voted }
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
