import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { countRoomLeases } from '../db/room-leases.ts'

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
    const dbUp = await app.pingDb()
    // The rooms this process owns are its leases in the database (the monitor's own state stays the monitor's).
    const rooms = dbUp ? await countRoomLeases(app.db, app.instance) : 0
    reply.code(dbUp ? 200 : 503)
    return {
      status: dbUp ? 'ok' as const : 'degraded' as const,
      db: dbUp ? 'ok' as const : 'down' as const,
      uptime: process.uptime(),
      instance: app.instance,
      rooms
    }
  })
}

export default health
