import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import { NotFound } from '../plugins/errors.ts'
import { ErrorBody, IdParams } from '../schemas/common.ts'
import { CloseSession, CreatedSession, NewSession, NoActiveSession, Session, SessionDeleted } from '../schemas/sessions.ts'
import { findActiveSession, findSession, listSessions } from '../db/sessions.ts'
import { closeSession, deleteSession, startSession } from '../domain/sessions.ts'

const sessions: FastifyPluginAsyncTypebox = async (app) => {
  // The body of a create or close is optional: a bare `curl -X POST` means `{}`.
  async function emptyBodyIsObject (request: FastifyRequest) {
    request.body ??= {}
  }

  app.get('/', {
    schema: {
      tags: ['sessions'],
      operationId: 'listSessions',
      summary: 'List sessions',
      description: 'Every session with its games_played count, newest first (created_at DESC, then id DESC).',
      response: { 200: Type.Array(Session, { description: 'Every session, newest first' }) }
    }
  }, async () => listSessions(app.db))

  app.get('/active', {
    schema: {
      tags: ['sessions'],
      operationId: 'getActiveSession',
      summary: 'Get the active session',
      description: 'The active session itself, or `{"session": null, "message": "No active session"}` when none is open.',
      response: { 200: Type.Union([Session, NoActiveSession], { description: 'The active session, or a note that none is open' }) }
    }
  }, async () => {
    const active = await findActiveSession(app.db)
    return active ?? { session: null, message: 'No active session' as const }
  })

  app.get('/:id', {
    schema: {
      tags: ['sessions'],
      operationId: 'getSession',
      summary: 'Get a session',
      description: 'One session with its games_played count.',
      params: IdParams,
      response: { 200: Session, 400: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    const session = await findSession(app.db, request.params.id)
    if (!session) throw new NotFound('Session')
    return session
  })

  app.post('/', {
    onRequest: app.requireAuth,
    preValidation: emptyBodyIsObject,
    schema: {
      tags: ['sessions'],
      operationId: 'createSession',
      summary: 'Start a session',
      description: 'Only one session is active at a time: while one is open the answer is 400 with its `activeSessionId`, ' +
        'also when many requests race (exactly one wins). Announces `session.started`.',
      security: [{ bearer: [] }],
      body: NewSession,
      response: { 201: CreatedSession, 400: ErrorBody, 401: ErrorBody }
    }
  }, async (request, reply) => {
    const session = await startSession(app.db, request.body.notes ?? null)
    reply.code(201)
    return session
  })

  app.post('/:id/close', {
    onRequest: app.requireAuth,
    preValidation: emptyBodyIsObject,
    schema: {
      tags: ['sessions'],
      operationId: 'closeSession',
      summary: 'Close a session',
      description: 'Sets its `playing` games to `played`, stops their room monitors, sets `closed_at`, and replaces the notes ' +
        'when `notes` is given. Announces `session.ended`.',
      security: [{ bearer: [] }],
      params: IdParams,
      body: CloseSession,
      response: { 200: Session, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    return closeSession(app.db, request.params.id, request.body.notes)
  })

  app.delete('/:id', {
    onRequest: app.requireAuth,
    schema: {
      tags: ['sessions'],
      operationId: 'deleteSession',
      summary: 'Delete a closed session',
      description: 'An active session must be closed first. Its session games, chat logs and votes are deleted with it; ' +
        'the catalog counters (play_count, votes) keep their history.',
      security: [{ bearer: [] }],
      params: IdParams,
      response: { 200: SessionDeleted, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    await deleteSession(app.db, request.params.id)
    return { message: 'Session deleted successfully' as const, sessionId: request.params.id }
  })
}

export default sessions
