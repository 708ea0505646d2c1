import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

// Placeholder: filled in by its own issue.
const playerCheck: FastifyPluginAsyncTypebox = async () => {}

export default playerCheck
