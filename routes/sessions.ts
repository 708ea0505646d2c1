import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

// Placeholder: filled in by its own issue.
const sessions: FastifyPluginAsyncTypebox = async () => {}

export default sessions
