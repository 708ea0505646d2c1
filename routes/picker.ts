import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

// Placeholder: filled in by its own issue.
const picker: FastifyPluginAsyncTypebox = async () => {}

export default picker
