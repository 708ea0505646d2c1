import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { countRoomLeases } from '../db/room-leases.ts'
import { isDatabaseDown } from '../plugins/errors.ts'

const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  db: Type.Union([Type.Literal('ok'), Type.Literal('down')]),
  uptime: Type.Number({ description: 'Seconds since the process started' }),
  instance: Type.String({ description: 'This process\'s id, unique among the processes sharing the database' }),
  rooms: Type.Integer({ minimum: 0, description: 'How many room watches this process owns now (its live leases; 0 while the database is down)' })
}, { description: 'The service and its database are up' })

const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', {
    schema: { tags: ['health'], operationId: 'getHealth', summary: 'Service and database status', description: 'Public, for load balancers and the container health check: 200 while the database answers, 503 while it does not.', response: { 200: Health, 503: { ...Health, description: 'The database does not answer' } } }
  }, async (_request, reply) => {
    // One query both proves the database answers and counts the rooms this process owns (its leases in the database;
    // the monitor's own state stays the monitor's). A database that is down or too busy to lend a connection is a 503
    // in this route's shape: thrown, it would reach the error handler, whose `{"error"}` body this route's 503 schema
    // cannot serialize (Fastify then answers a raw 500).
    let rooms: number | undefined
    try {
      rooms = await countRoomLeases(app.db, app.instance)
    } catch (err) {
      if (!isDatabaseDown(err)) throw err
    }
    const dbUp = rooms !== undefined
    reply.code(dbUp ? 200 : 503)
    return {
      status: dbUp ? 'ok' as const : 'degraded' as const,
      db: dbUp ? 'ok' as const : 'down' as const,
      uptime: process.uptime(),
      instance: app.instance,
      rooms: rooms ?? 0
    }
  })
}

export default health
