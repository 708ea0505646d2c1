import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorBody } from '../schemas/common.ts'
import { PickBody, PickResult } from '../schemas/picker.ts'

const picker: FastifyPluginAsyncTypebox = async (app) => {
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
  }, async (request) => app.picker.pick(request.body))
}

export default picker
