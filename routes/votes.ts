import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

// Placeholder: filled in by its own issue.
const votes: FastifyPluginAsyncTypebox = async () => {}

export default votes
