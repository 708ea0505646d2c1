import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { ErrorBody, IdParams } from '../schemas/common.ts'
import { NewWebhook, Webhook, WebhookDeleted, WebhookLog, WebhookUpdate } from '../schemas/webhooks.ts'
import { WEBHOOK_EVENTS } from '../schemas/events.ts'
import { NotFound } from '../plugins/errors.ts'
import { deleteWebhook, findWebhook, findWebhookTarget, insertWebhook, listWebhookLogs, listWebhooks, updateWebhook } from '../db/webhooks.ts'

const tags = ['webhooks']
const security = [{ bearer: [] }]

const DELIVERY = `Each delivery is a POST of \`{"event","timestamp","data"}\` (data as in the live events) with the headers
X-Webhook-Event, X-Webhook-Delivery (a uuid, the same across the retries of one delivery) and, when the webhook has a
secret, X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body>. Deliveries go out after the triggering write
commits and never delay its response; a 2xx answer within 5 s is a success, anything else is retried up to 3
attempts in all (after 0.5 s, then 1 s), and every attempt is logged. Events: ${WEBHOOK_EVENTS.join(', ')}.`

const webhooks: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.requireAuth)

  app.get('/', {
    schema: { tags, security, summary: 'List webhooks', response: { 200: Type.Array(Webhook), 401: ErrorBody } }
  }, async () => listWebhooks(app.db))

  app.post('/', {
    schema: {
      tags,
      security,
      summary: 'Create a webhook',
      description: DELIVERY,
      body: NewWebhook,
      response: { 201: Webhook, 400: ErrorBody, 401: ErrorBody }
    }
  }, async (request, reply) => {
    const webhook = await insertWebhook(app.db, request.body)
    app.webhooks.invalidateTargets()
    reply.code(201)
    return webhook
  })

  app.get('/:id', {
    schema: { tags, security, summary: 'Get a webhook', params: IdParams, response: { 200: Webhook, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody } }
  }, async (request) => {
    const webhook = await findWebhook(app.db, request.params.id)
    if (!webhook) throw new NotFound('Webhook')
    return webhook
  })

  app.patch('/:id', {
    schema: {
      tags,
      security,
      summary: 'Update a webhook',
      description: 'Changes only the fields given. `secret: null` removes the secret, so deliveries are no longer signed.',
      params: IdParams,
      body: WebhookUpdate,
      response: { 200: Webhook, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    const webhook = await updateWebhook(app.db, request.params.id, request.body)
    if (!webhook) throw new NotFound('Webhook')
    app.webhooks.invalidateTargets()
    return webhook
  })

  app.delete('/:id', {
    schema: {
      tags,
      security,
      summary: 'Delete a webhook and its delivery log',
      params: IdParams,
      response: { 200: WebhookDeleted, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    if (!await deleteWebhook(app.db, request.params.id)) throw new NotFound('Webhook')
    app.webhooks.invalidateTargets()
    return { message: 'Webhook deleted successfully', webhookId: request.params.id }
  })

  app.post('/:id/test', {
    schema: {
      tags,
      security,
      summary: 'Send a test delivery now',
      description: 'Sends one `webhook.test` delivery (a single attempt, even when the webhook is disabled) and answers with its log entry once it has finished.',
      params: IdParams,
      response: { 200: WebhookLog, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    const target = await findWebhookTarget(app.db, request.params.id)
    if (!target) throw new NotFound('Webhook')
    return app.webhooks.sendTest(target)
  })

  app.get('/:id/logs', {
    schema: {
      tags,
      security,
      summary: 'The last 100 delivery attempts, newest first',
      params: IdParams,
      response: { 200: Type.Array(WebhookLog), 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    if (!await findWebhook(app.db, request.params.id)) throw new NotFound('Webhook')
    return listWebhookLogs(app.db, request.params.id)
  })
}

export default webhooks
