import fp from 'fastify-plugin'
import { Agent } from 'undici'
import { guardedConnector, guardTargets } from './targets.ts'
import { WebhookDispatcher, type WebhooksOptions } from './queue.ts'

/**
 * Webhook delivery for this process: the outbound connections (every target address checked, `targets.ts`) and the
 * dispatcher that sends the deliveries queued in the database (`queue.ts`; one signed attempt: `attempt.ts`), started
 * once the app is ready.
 */
export default fp<WebhooksOptions>(async function webhooks (app, opts) {
  const allowLoopback = app.config.WEBHOOK_ALLOW_LOOPBACK
  const agent = opts.dispatcher ? undefined : new Agent({ connect: guardedConnector(allowLoopback, opts.lookup) })
  const outbound = opts.dispatcher ? guardTargets(opts.dispatcher, allowLoopback, opts.lookup) : agent!
  const onAttempt = (outcome: string) => app.metrics.webhookDeliveries.inc({ outcome })
  const dispatcher = new WebhookDispatcher(app.db, app.dbListen, app.log.child({ plugin: 'webhooks' }), outbound, { onAttempt, retentionDays: app.config.EVENT_RETENTION_DAYS, ...opts })
  app.decorate('webhooks', dispatcher)
  app.addHook('onReady', () => dispatcher.start())
  app.addHook('onClose', async () => {
    await dispatcher.close(opts.shutdownGraceMs ?? 5000)
    await agent?.close()
  })
}, { name: 'webhooks', dependencies: ['db', 'metrics'] })

declare module 'fastify' {
  interface FastifyInstance {
    webhooks: WebhookDispatcher
  }
}
