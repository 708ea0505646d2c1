import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ApiError } from '../plugins/errors.ts'
import { ErrorBody } from '../schemas/common.ts'
import { PickBody, PickResult } from '../schemas/picker.ts'
import { CandidatePools, mulberry32, pickGame } from '../db/picker.ts'

const picker: FastifyPluginAsyncTypebox = async (app) => {
  const pools = new CandidatePools()

  app.post('/', {
    schema: {
      tags: ['picker'],
      operationId: 'pickGame',
      summary: 'Pick a game to play',
      description: 'A weighted random choice among the enabled games that match every filter given: weight 3 for ' +
        'favor_bias 1, 1 for 0, 0.2 for -1. With `sessionId`, the games of that session\'s two most recently added ' +
        'session games are left out. The same `seed` on the same catalog always picks the same game.',
      body: PickBody,
      response: { 200: PickResult, 400: ErrorBody, 404: ErrorBody }
    },
    // Every field is optional, so a bodiless POST means "no filters".
    preValidation: async (request) => { request.body ??= {} }
  }, async (request) => {
    const { seed, ...filters } = request.body
    const r = seed === undefined ? Math.random() : mulberry32(seed)()
    const pick = await pickGame(app.db, pools, filters, r)
    if (!pick) throw new ApiError(404, 'No games match the current filters')
    return pick
  })
}

export default picker
