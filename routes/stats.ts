import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Game } from '../schemas/games.ts'
import { Stats } from '../schemas/stats.ts'
import { findStats } from '../db/stats.ts'

const stats: FastifyPluginAsyncTypebox = async (app) => {
  app.addSchema(Game)
  app.get('/', {
    schema: {
      tags: ['stats'],
      summary: 'Catalog and session totals, most played and top rated games',
      response: { 200: Stats }
    }
  }, async () => findStats(app.db))
}

export default stats
