import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'

export default fp(async function openapi (app) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Jackbox game night API',
        description: 'Catalog, picker, sessions, votes, live room monitor and real-time events for Jackbox game nights. ' +
          'Write routes need a bearer token from `POST /api/auth/login`. Every error is `{"error": "<sentence>"}`.',
        version: '1.0.0'
      },
      servers: [{ url: 'http://localhost:5000' }],
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } }
      },
      tags: [
        { name: 'auth', description: 'Admin login and token checks' },
        { name: 'games', description: 'The game catalog' },
        { name: 'picker', description: 'Pick what to play next' },
        { name: 'sessions', description: 'Game nights' },
        { name: 'session-games', description: 'Games played in a session' },
        { name: 'room monitor', description: 'Watching a session game\'s live Jackbox room' },
        { name: 'votes', description: 'Audience votes' },
        { name: 'stats', description: 'Totals and rankings' },
        { name: 'webhooks', description: 'Outbound event deliveries' },
        { name: 'live', description: 'Real-time events over WebSocket' },
        { name: 'clients', description: 'Bots and overlays connected to the live socket: list, disconnect and run their functions' },
        { name: 'health', description: 'Liveness and database status' }
      ]
    },
    // Shared schemas carry an $id and become named components instead of being inlined everywhere.
    refResolver: {
      buildLocalReference (json, _baseUri, _fragment, i) {
        return typeof json.$id === 'string' ? json.$id : `def-${i}`
      }
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
}, { name: 'swagger' })
