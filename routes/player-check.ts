import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { NoRoomCode } from '../domain/errors.ts'
import { ErrorBody, SessionGameParams } from '../schemas/common.ts'
import { getSessionGame } from '../domain/session-games.ts'

const MonitorStarted = Type.Object({
  message: Type.Literal('Room monitor started'),
  status: Type.Literal('monitoring')
}, { description: 'The room monitor is watching the room', examples: [{ message: 'Room monitor started', status: 'monitoring' }] })

const MonitorStopped = Type.Object({
  message: Type.Literal('Room monitor and player count check stopped'),
  status: Type.Literal('stopped')
}, { description: 'The room monitor is stopped', examples: [{ message: 'Room monitor and player count check stopped', status: 'stopped' }] })

const playerCheck: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.requireAuth)

  app.post('/:sessionId/games/:sessionGameId/start-player-check', {
    schema: {
      tags: ['room monitor'],
      operationId: 'startPlayerCheck',
      summary: 'Start the room monitor',
      description: 'Watches the session game\'s ecast room (never joining as a player) and keeps its player count ' +
        'live: `player_count_check_status` becomes `checking`, then `completed` once the game starts (or `failed` ' +
        'when the room never appears). Starting again restarts the watch if the room code changed; a room code ' +
        'watched by another session game moves to this one.',
      security: [{ bearer: [] }],
      params: SessionGameParams,
      response: { 200: MonitorStarted, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    const { sessionId, sessionGameId } = request.params
    const game = await getSessionGame(app.db, sessionId, sessionGameId)
    if (!game.room_code) throw new NoRoomCode()
    await app.roomMonitor.watch(sessionGameId)
    return { message: 'Room monitor started' as const, status: 'monitoring' as const }
  })

  app.post('/:sessionId/games/:sessionGameId/stop-player-check', {
    schema: {
      tags: ['room monitor'],
      operationId: 'stopPlayerCheck',
      summary: 'Stop the room monitor',
      description: 'Stops the watch if one runs; a `checking` status becomes `stopped`, a final one is kept.',
      security: [{ bearer: [] }],
      params: SessionGameParams,
      response: { 200: MonitorStopped, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    const { sessionId, sessionGameId } = request.params
    await getSessionGame(app.db, sessionId, sessionGameId)
    await app.roomMonitor.unwatch(sessionGameId)
    return { message: 'Room monitor and player count check stopped' as const, status: 'stopped' as const }
  })
}

export default playerCheck
