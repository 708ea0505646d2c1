import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { ErrorBody, IdParams } from '../schemas/common.ts'
import { NewWebhook, Webhook, WebhookDeleted, WebhookLog, WebhookUpdate } from '../schemas/webhooks.ts'
import { WEBHOOK_EVENTS } from '../schemas/events.ts'
import { ApiError, NotFound } from '../plugins/errors.ts'
import { TARGET_MESSAGES, targetProblem } from '../webhooks/targets.ts'
import { DEFAULT_RETRY_DELAYS_MS } from '../webhooks/queue.ts'
import { deleteWebhook, findWebhook, findWebhookTarget, insertWebhook, listWebhookLogs, listWebhooks, updateWebhook } from '../db/webhooks.ts'

const tags = ['webhooks']
const security = [{ bearer: [] }]

const seconds = (ms: number) => `${ms / 1000} s`

const DELIVERY = `Each delivery is a POST of \`{"event","timestamp","data"}\` (data as in the live events) with the headers
X-Webhook-Event, X-Webhook-Delivery (a uuid, the same across the attempts of one delivery, also across restarts of
the service) and, when the webhook has a secret, X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body>.
A delivery is recorded in the same transaction as the change that causes it and sent after it commits, never
delaying the response; one still pending when the service stops is sent after the next start. A 2xx answer within
5 s is a success; anything else is retried, up to 3 attempts in all counted across restarts (after
${DEFAULT_RETRY_DELAYS_MS.map(seconds).join(', then ')}), and every attempt is logged. Events: ${WEBHOOK_EVENTS.join(', ')}.

Targets on link-local addresses (169.254.0.0/16, fe80::/10, cloud metadata) or the unspecified address are refused
with 400, and so are loopback targets (127.0.0.0/8, ::1, localhost) unless WEBHOOK_ALLOW_LOOPBACK=true. The address is
checked again when connecting, on every address a name resolves to then.`

const webhooks: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.requireAuth)

  const checkTarget = (url: string | undefined) => {
    // The schema's uri format lets through hosts the URL parser refuses (`127.0.0.1%2509`).
    if (url !== undefined && !URL.canParse(url)) throw new ApiError(400, 'url must be an http or https URL')
    const problem = url === undefined ? undefined : targetProblem(url, app.config.WEBHOOK_ALLOW_LOOPBACK)
    if (problem) throw new ApiError(400, TARGET_MESSAGES[problem])
  }

  app.get('/', {
    schema: { tags, security, operationId: 'listWebhooks', summary: 'List webhooks', description: 'Every webhook, oldest first; secrets are never returned (`has_secret` says whether one is set).', response: { 200: Type.Array(Webhook, { description: 'Every webhook' }), 401: ErrorBody } }
  }, async () => listWebhooks(app.db))

  app.post('/', {
    schema: {
      tags,
      security,
      operationId: 'createWebhook',
      summary: 'Create a webhook',
      description: DELIVERY,
      body: NewWebhook,
      response: { 201: Webhook, 400: ErrorBody, 401: ErrorBody }
    }
  }, async (request, reply) => {
    checkTarget(request.body.url)
    const webhook = await insertWebhook(app.db, request.body)
    reply.code(201)
    return webhook
  })

  app.get('/:id', {
    schema: { tags, security, operationId: 'getWebhook', summary: 'Get a webhook', description: 'One webhook; its secret is never returned.', params: IdParams, response: { 200: Webhook, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody } }
  }, async (request) => {
    const webhook = await findWebhook(app.db, request.params.id)
    if (!webhook) throw new NotFound('Webhook')
    return webhook
  })

  app.patch('/:id', {
    schema: {
      tags,
      security,
      operationId: 'updateWebhook',
      summary: 'Update a webhook',
      description: 'Changes only the fields given. `secret: null` removes the secret, so deliveries are no longer signed.',
      params: IdParams,
      body: WebhookUpdate,
      response: { 200: Webhook, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    checkTarget(request.body.url)
    const webhook = await updateWebhook(app.db, request.params.id, request.body)
    if (!webhook) throw new NotFound('Webhook')
    return webhook
  })

  app.delete('/:id', {
    schema: {
      tags,
      security,
      operationId: 'deleteWebhook',
      summary: 'Delete a webhook, its delivery log and its pending deliveries',
      description: 'No further deliveries go to its URL, pending ones included; its delivery log is deleted with it.',
      params: IdParams,
      response: { 200: WebhookDeleted, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    if (!await deleteWebhook(app.db, request.params.id)) throw new NotFound('Webhook')
    return { message: 'Webhook deleted successfully', webhookId: request.params.id }
  })

  app.post('/:id/test', {
    schema: {
      tags,
      security,
      operationId: 'testWebhook',
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
      operationId: 'listWebhookLogs',
      summary: 'The last 100 delivery attempts, newest first',
      description: 'Every attempt of every delivery of this webhook, the newest 100.',
      params: IdParams,
      response: { 200: Type.Array(WebhookLog, { description: 'Delivery attempts, newest first' }), 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    if (!await findWebhook(app.db, request.params.id)) throw new NotFound('Webhook')
    return listWebhookLogs(app.db, request.params.id)
  })
}

export default webhooks
