import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

// Placeholder: filled in by its own issue.
const games: FastifyPluginAsyncTypebox = async () => {}

export default games
