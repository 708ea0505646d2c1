import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

// Placeholder: filled in by its own issue.
const webhooks: FastifyPluginAsyncTypebox = async () => {}

export default webhooks
