import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorBody } from '../schemas/common.ts'
import {
  BulkDisconnectBody, BulkMessageBody, ClientFound, ClientList, ClientNotFound, ClientParams, ClientSession, CommandOutcome,
  MessageBody, MessageResult, MessageResults, REASONS, Success
} from '../schemas/clients.ts'
import { ApiError } from '../plugins/errors.ts'
import type { ClientRegistry } from '../plugins/clients/index.ts'

const tags = ['clients']
const security = [{ bearer: [] }]

const WAIT = 'Waits up to CLIENT_COMMAND_TIMEOUT_MS (default 60 s) for the answer. `reason` is exactly one of ' +
  '"function errored, message: <the client\'s error>", "invalid return data", "client never responded" (timeout, the ' +
  'client left or its process stopped, or 16 commands already wait for it) and "function doesnt exist" (the key is not ' +
  'among the functions it announced; nothing is sent). A client held by another process of the service is reached ' +
  'through the database and answers the same way.'

class ClientNotFoundError extends ApiError {
  constructor () { super(404, 'Session not found', { success: false }) }
}

const clients: FastifyPluginAsyncTypebox = async (app) => {
  const registry: ClientRegistry = app.clients
  app.addSchema(ClientSession)
  app.addSchema(CommandOutcome)
  app.addHook('onRequest', app.requireAuth)

  app.get('/', {
    schema: {
      tags,
      security,
      operationId: 'listClients',
      summary: 'List connected clients',
      description: 'The bots and overlays connected to the live socket of any process of the service that announced themselves with ' +
        '`hello`, in the order they did.',
      response: { 200: ClientList, 401: ErrorBody }
    }
  }, async () => ({ success: true as const, sessions: await registry.list() }))

  app.get('/:clientId', {
    schema: {
      tags,
      security,
      operationId: 'getClient',
      summary: 'Get a connected client',
      description: 'One connected client: its name, announced functions, subscriptions and the token it authenticated with.',
      params: ClientParams,
      response: { 200: ClientFound, 400: ErrorBody, 401: ErrorBody, 404: ClientNotFound }
    }
  }, async (request) => {
    const session = await registry.get(request.params.clientId)
    if (!session) throw new ClientNotFoundError()
    return { success: true as const, session }
  })

  app.post('/:clientId/disconnect', {
    schema: {
      tags,
      security,
      operationId: 'disconnectClient',
      summary: 'Disconnect a client',
      description: 'Closes its live socket with code 1000 (on whichever process holds it); it leaves the list at once.',
      params: ClientParams,
      response: { 200: Success, 400: ErrorBody, 401: ErrorBody, 404: ClientNotFound }
    }
  }, async (request) => {
    if (!await registry.disconnect(request.params.clientId)) throw new ClientNotFoundError()
    return { success: true as const }
  })

  app.post('/:clientId/message', {
    schema: {
      tags,
      security,
      operationId: 'messageClient',
      summary: 'Run a function on a client',
      description: 'Sends `{"type":"command","id","key","data"}` on its live socket. ' + WAIT,
      params: ClientParams,
      body: MessageBody,
      response: { 200: MessageResult, 400: ErrorBody, 401: ErrorBody, 404: ClientNotFound }
    }
  }, async (request) => {
    const outcome = await registry.call(request.params.clientId, request.body.key, request.body.data ?? [])
    if (!outcome) throw new ClientNotFoundError()
    return { success: true as const, ...outcome }
  })

  app.post('/disconnect', {
    schema: {
      tags,
      security,
      operationId: 'disconnectClients',
      summary: 'Disconnect several clients',
      description: 'Closes each one\'s live socket with code 1000; unknown ids are skipped.',
      body: BulkDisconnectBody,
      response: { 200: Success, 400: ErrorBody, 401: ErrorBody }
    }
  }, async (request) => {
    await Promise.all([...new Set(request.body.session_ids)].map((id) => registry.disconnect(id)))
    return { success: true as const }
  })

  app.post('/message', {
    schema: {
      tags,
      security,
      operationId: 'messageClients',
      summary: 'Run a function on several clients',
      description: 'The commands run in parallel; `responses` has one outcome per id, in the given order. An unknown id ' +
        'is answered "client never responded". ' + WAIT,
      body: BulkMessageBody,
      response: { 200: MessageResults, 400: ErrorBody, 401: ErrorBody }
    }
  }, async (request) => {
    const { session_ids: ids, key, data = [] } = request.body
    const responses = await Promise.all(ids.map(async (id) =>
      await registry.call(id, key, data) ?? { processed: false as const, reason: REASONS.noResponse }))
    return { success: true as const, responses }
  })
}

export default clients
