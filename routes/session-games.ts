import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

// Placeholder: filled in by its own issue.
const sessionGames: FastifyPluginAsyncTypebox = async () => {}

export default sessionGames
