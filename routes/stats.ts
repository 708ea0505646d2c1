import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Stats } from '../schemas/stats.ts'
import { findStats } from '../db/stats.ts'

const stats: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', {
    schema: {
      tags: ['stats'],
      operationId: 'getStats',
      summary: 'Catalog and session totals, most played and top rated games',
      description: 'Counts over the catalog and every session, the five most played games and the five best rated ones.',
      response: { 200: Stats }
    }
  }, async () => findStats(app.db))
}

export default stats
