import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { NotFound } from '../plugins/errors.ts'
import { ErrorBody, IdParams, SessionGameParams } from '../schemas/common.ts'
import {
  NewSessionGame, PlayerCountBody, PlayerCountUpdatedBody, RoomCodeBody, SessionGame, SessionGameRemoved, StatusBody, StatusUpdated
} from '../schemas/sessions.ts'
import { findSession } from '../db/sessions.ts'
import { listSessionGames } from '../db/session-games.ts'
import { addSessionGame, removeSessionGame, setPlayerCount, setRoomCode, setSessionGameStatus } from '../domain/session-games.ts'

const SUB_ROUTE_NOTE = '`sessionGameId` is `session_games.id` (the `id` of a session game), not `games.id`.'

const sessionGames: FastifyPluginAsyncTypebox = async (app) => {
  // These routes never call the room monitor: each domain operation records the event the monitor of every process
  // reacts to (starting, stopping or restarting a watch), and stores the player-check status the reply shows.
  app.get('/:id/games', {
    schema: {
      tags: ['session-games'],
      operationId: 'listSessionGames',
      summary: 'List the games of a session',
      description: 'Session games joined with their catalog facts, in play order (played_at ASC, then id).',
      params: IdParams,
      response: { 200: Type.Array(SessionGame, { description: 'The session\'s games in play order' }), 400: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    const session = await findSession(app.db, request.params.id)
    if (!session) throw new NotFound('Session')
    return listSessionGames(app.db, session.id)
  })

  app.post('/:id/games', {
    onRequest: app.requireAuth,
    schema: {
      tags: ['session-games'],
      operationId: 'addSessionGame',
      summary: 'Add a game to a session',
      description: 'The new session game is `playing`. In one transaction the session\'s previous `playing` game becomes ' +
        '`played` (skipped games stay skipped) and the game\'s play_count grows by one. With a `room_code` the room ' +
        'monitor starts and the response shows `player_count_check_status: "checking"`. Announces `game.added` (with ' +
        'the session game as inserted, `player_count_check_status` still `not_started`: the room monitor starts on it).',
      security: [{ bearer: [] }],
      params: IdParams,
      body: NewSessionGame,
      response: { 201: SessionGame, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
    }
  }, async (request, reply) => {
    const { game_id: gameId, manually_added: manuallyAdded, room_code: roomCode } = request.body
    const added = await addSessionGame(app.db, request.params.id, {
      game_id: gameId,
      manually_added: manuallyAdded ?? 0,
      room_code: roomCode ?? null
    })
    reply.code(201)
    return added.sessionGame
  })

  app.patch('/:sessionId/games/:sessionGameId/status', {
    onRequest: app.requireAuth,
    schema: {
      tags: ['session-games'],
      operationId: 'updateSessionGameStatus',
      summary: 'Set a session game\'s status',
      description: `\`playing\` sets the session's other \`playing\` games to \`played\`. \`played\` and \`skipped\` stop the room monitor. ${SUB_ROUTE_NOTE}`,
      security: [{ bearer: [] }],
      params: SessionGameParams,
      body: StatusBody,
      response: { 200: StatusUpdated, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    const { sessionId, sessionGameId } = request.params
    const { status } = request.body
    await setSessionGameStatus(app.db, sessionId, sessionGameId, status)
    return { message: 'Status updated successfully' as const, status }
  })

  app.delete('/:sessionId/games/:sessionGameId', {
    onRequest: app.requireAuth,
    schema: {
      tags: ['session-games'],
      operationId: 'removeSessionGame',
      summary: 'Remove a game from a session',
      description: `Stops its room monitor and undoes the add: the game's play_count goes down by one. ${SUB_ROUTE_NOTE}`,
      security: [{ bearer: [] }],
      params: SessionGameParams,
      response: { 200: SessionGameRemoved, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    const { sessionId, sessionGameId } = request.params
    await removeSessionGame(app.db, sessionId, sessionGameId)
    return { message: 'Game removed from session successfully' as const }
  })

  app.patch('/:sessionId/games/:sessionGameId/room-code', {
    onRequest: app.requireAuth,
    schema: {
      tags: ['session-games'],
      operationId: 'setSessionGameRoomCode',
      summary: 'Set a session game\'s room code',
      description: `Exactly 4 characters, A-Z and 0-9. A running room monitor restarts on the new code. ${SUB_ROUTE_NOTE}`,
      security: [{ bearer: [] }],
      params: SessionGameParams,
      body: RoomCodeBody,
      response: { 200: SessionGame, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    const { sessionId, sessionGameId } = request.params
    return setRoomCode(app.db, sessionId, sessionGameId, request.body.room_code)
  })

  app.patch('/:sessionId/games/:sessionGameId/player-count', {
    onRequest: app.requireAuth,
    schema: {
      tags: ['session-games'],
      operationId: 'setSessionGamePlayerCount',
      summary: 'Set a session game\'s player count by hand',
      description: 'Stops the room monitor, stores the count and sets `player_count_check_status` to `completed`. ' +
        `Announces \`player-count.updated\` with \`source: "manual"\`. ${SUB_ROUTE_NOTE}`,
      security: [{ bearer: [] }],
      params: SessionGameParams,
      body: PlayerCountBody,
      response: { 200: PlayerCountUpdatedBody, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    const { sessionId, sessionGameId } = request.params
    const playerCount = request.body.player_count
    await setPlayerCount(app.db, sessionId, sessionGameId, playerCount)
    return { message: 'Player count updated successfully' as const, player_count: playerCount }
  })
}

export default sessionGames
