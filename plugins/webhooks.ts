import fp from 'fastify-plugin'
import type { Dispatcher } from 'undici'

export interface WebhooksOptions { dispatcher?: Dispatcher }

// Placeholder: the webhook dispatcher (issue 5).
export default fp<WebhooksOptions>(async function webhooks () {}, { name: 'webhooks', dependencies: ['db', 'events'] })
