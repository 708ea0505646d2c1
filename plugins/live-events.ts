import fp from 'fastify-plugin'

// Placeholder: the live WebSocket hub (issue 5).
export default fp(async function liveEvents () {}, { name: 'live-events', dependencies: ['events', 'auth'] })
