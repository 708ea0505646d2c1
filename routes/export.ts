import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

// Placeholder: filled in by its own issue.
const sessionExport: FastifyPluginAsyncTypebox = async () => {}

export default sessionExport
