import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

// Placeholder: filled in by its own issue.
const chatImport: FastifyPluginAsyncTypebox = async () => {}

export default chatImport
