import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

// Placeholder: filled in by its own issue.
const stats: FastifyPluginAsyncTypebox = async () => {}

export default stats
