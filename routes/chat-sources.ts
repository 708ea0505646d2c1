import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { ErrorBody, IdParams } from '../schemas/common.ts'
import { ChatSource, ChatSourceUpdate, NewChatSource } from '../schemas/chat-sources.ts'
import { listChatSources } from '../db/chat-sources.ts'
import { createChatSource, deleteChatSource, getChatSource, setChatSourceEnabled } from '../domain/chat-sources.ts'

const tags = ['chat-sources']
const security = [{ bearer: [] }]

const READING = `While a session is active, each message containing thisgame++ or thisgame-- (any case; the first one
wins) is a live vote by the rules of POST /api/votes/live, with the chatter's login as username and the platform's
send time as timestamp. A vote those rules refuse is dropped and counted in votes_refused. Twitch chat is read
anonymously. With several processes, exactly one reads a source at a time; another takes it over within 10 s when
that one dies, and a message is never counted twice.`

const chatSources: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.requireRole('admin'))

  app.get('/', {
    schema: {
      tags,
      security,
      operationId: 'listChatSources',
      summary: 'List chat sources',
      description: 'Every chat source, oldest first, with its live status.',
      response: { 200: Type.Array(ChatSource, { description: 'Every chat source' }), 401: ErrorBody, 403: ErrorBody }
    }
  }, async () => listChatSources(app.db))

  app.post('/', {
    schema: {
      tags,
      security,
      operationId: 'createChatSource',
      summary: 'Read a chat channel and count its votes',
      description: `${READING}\n\nThe channel is a Twitch login (4 to 25 letters, digits or underscores), stored lower-cased; ` +
        'a channel name Twitch cannot have is a 400, and the same platform and channel twice a 409. The source starts enabled.',
      body: NewChatSource,
      response: { 201: ChatSource, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 409: ErrorBody }
    }
  }, async (request, reply) => {
    const source = await createChatSource(app.db, request.body.platform, request.body.channel)
    reply.code(201)
    return source
  })

  app.get('/:id', {
    schema: {
      tags,
      security,
      operationId: 'getChatSource',
      summary: 'Get a chat source',
      description: 'One chat source with its live status.',
      params: IdParams,
      response: { 200: ChatSource, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => getChatSource(app.db, request.params.id))

  app.patch('/:id', {
    schema: {
      tags,
      security,
      operationId: 'updateChatSource',
      summary: 'Enable or disable a chat source',
      description: 'Disabling closes the connection, in whichever process holds it, and stops counting; enabling connects again.',
      params: IdParams,
      body: ChatSourceUpdate,
      response: { 200: ChatSource, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => setChatSourceEnabled(app.db, request.params.id, request.body.enabled))

  app.delete('/:id', {
    schema: {
      tags,
      security,
      operationId: 'deleteChatSource',
      summary: 'Delete a chat source',
      description: 'Closes its connection; the votes it counted stay.',
      params: IdParams,
      response: { 204: Type.Null({ description: 'Deleted' }), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody }
    }
  }, async (request, reply) => {
    await deleteChatSource(app.db, request.params.id)
    reply.code(204)
    return null
  })
}

export default chatSources
