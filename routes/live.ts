import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

// Placeholder: filled in by its own issue.
const live: FastifyPluginAsyncTypebox = async () => {}

export default live
