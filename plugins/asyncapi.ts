import fp from 'fastify-plugin'
import { Type, type TSchema } from '@sinclair/typebox'
import { ClientMessage, ServerMessage } from '../schemas/live.ts'
import { EVENT_DATA, EVENT_TYPES, WEBHOOK_EVENTS } from '../schemas/events.ts'
import { ASYNCAPI_PATH } from './swagger.ts'

type Json = Record<string, any>
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

const LIVE_PATH = '/api/sessions/live'

// What each message means; a message type added to schemas/live.ts without a line here still gets published.
const MEANING: Record<string, string> = {
  auth: 'Authenticate with a token from `POST /api/auth/login` (or put `?token=` on the URL). Answered by `auth_success` or `auth_error`.',
  subscribe: 'Receive the events of one session. With `since` (the last event id seen), the events after it are replayed first, in order, right after `subscribed`. Before `auth`: `error` "Not authenticated"; an unknown session: `error`.',
  unsubscribe: 'Stop receiving a session\'s events. Answered by `unsubscribed`.',
  ping: 'An application-level ping. Answered by `pong`.',
  hello: 'Announce this client (a bot or overlay) and the functions the service may call on it. Answered by `hello_ok`.',
  command_result: 'The answer to a `command`: `response` (a JSON object or array) when `ok`, else `error`.',
  auth_success: 'The token was accepted.',
  auth_error: 'The token was refused (missing, invalid or expired); the socket stays open. Sent too when a token expires: the client then loses its subscriptions.',
  subscribed: 'The client now receives the session\'s events.',
  unsubscribed: 'The client no longer receives the session\'s events.',
  pong: 'The answer to `ping`.',
  hello_ok: 'The client is registered; `clientId` names it in `/api/clients`.',
  command: 'The service calls one of the functions the client announced in `hello`; answer with `command_result` and the same `id`.',
  error: 'A message the server could not take: invalid JSON, an unknown type, a bad field, not authenticated, an unknown session. The socket stays open.'
}

const REPLIES: Record<string, string[]> = {
  auth: ['auth_success', 'auth_error'],
  subscribe: ['subscribed', 'error'],
  unsubscribe: ['unsubscribed', 'error'],
  ping: ['pong'],
  hello: ['hello_ok', 'error']
}

/** The `type` a message schema fixes (`{ type: { const } }`), or undefined for a schema whose type varies. */
function messageType (schema: TSchema): string | undefined {
  const type = (schema.properties as Json | undefined)?.type
  return isObject(type) && typeof type.const === 'string' ? type.const : undefined
}

/** A JSON copy with every `$id`'d subschema moved to components.schemas and referenced there. */
function hoist (schema: unknown, components: Json): unknown {
  if (Array.isArray(schema)) return schema.map((s) => hoist(s, components))
  if (!isObject(schema)) return schema
  const out: Json = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key !== '$id' && key !== 'errorMessage') out[key] = hoist(value, components)
  }
  if (typeof schema.$id !== 'string') return out
  components[schema.$id] ??= out
  return { $ref: `#/components/schemas/${schema.$id}` }
}

const id = (type: string) => type.replace(/[^a-zA-Z0-9]+(.)/g, (_m, c: string) => c.toUpperCase())

/**
 * The live protocol as an AsyncAPI 3.0 document, from the TypeBox schemas the live route checks messages with
 * (schemas/live.ts) and the data schemas of every event (schemas/events.ts). It describes the service: it
 * `receive`s the client messages and `send`s the acks, errors, commands and events.
 */
export function buildAsyncApi (protocol: 'ws' | 'wss'): Json {
  const schemas: Json = {}
  const messages: Json = {}
  const operations: Json = {}
  const channelRef = { $ref: '#/channels/live' }
  const messageRef = (name: string) => ({ $ref: `#/channels/live/messages/${name}` })

  const add = (name: string, payload: TSchema, summary: string, title = name) => {
    messages[name] = { name, title, summary, contentType: 'application/json', payload: hoist(payload, schemas) }
  }

  for (const member of (ClientMessage.anyOf as TSchema[])) {
    const type = messageType(member)
    if (!type) continue
    add(type, member, MEANING[type] ?? `The client's \`${type}\` message.`)
    operations[`receive${id(`-${type}`)}`] = {
      action: 'receive',
      channel: channelRef,
      summary: `Client → server: ${type}`,
      messages: [messageRef(type)],
      ...(REPLIES[type] ? { reply: { channel: channelRef, messages: REPLIES[type].map(messageRef) } } : {})
    }
  }
  for (const member of (ServerMessage.anyOf as TSchema[])) {
    const type = messageType(member)
    if (!type || messages[type]) continue
    add(type, member, MEANING[type] ?? `The server's \`${type}\` message.`)
    operations[`send${id(`-${type}`)}`] = { action: 'send', channel: channelRef, summary: `Server → client: ${type}`, messages: [messageRef(type)] }
  }

  for (const type of EVENT_TYPES) {
    const data = EVENT_DATA[type]
    const envelope = Type.Object({
      id: Type.Integer({ minimum: 1, description: 'Increases in commit order, unique across every process; send it back as `since` to resume' }),
      type: Type.Literal(type),
      timestamp: Type.String({ format: 'date-time', examples: ['2026-03-15T19:00:00.000Z'] }),
      data
    })
    const audience = type === 'session.started' ? 'Sent to every authenticated client.' : 'Sent to the subscribers of its session.'
    const webhook = (WEBHOOK_EVENTS as readonly string[]).includes(type) ? ' Also delivered to webhooks as `{"event", "timestamp", "data"}`.' : ''
    add(type, envelope, `${String(data.description ?? type)}. ${audience}${webhook}`, `Event ${type}`)
    operations[`send${id(`-${type}`)}Event`] = { action: 'send', channel: channelRef, summary: `Event: ${type}`, messages: [messageRef(type)] }
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Jackbox game night live events',
      version: '1.0.0',
      description: 'The live WebSocket at `' + LIVE_PATH + '`. Send `auth`, then `subscribe` to a session; events ' +
        'arrive as `{"id", "type", "timestamp", "data"}`. The server pings every 30 s and drops a client that misses ' +
        'two pings; a socket that has not authenticated within 10 s is closed with 4401; on shutdown every client ' +
        'gets close code 1001. The HTTP API is described in OpenAPI at /docs/json.'
    },
    defaultContentType: 'application/json',
    servers: {
      // Never the request's Host (a cache could keep a document pointing elsewhere): a variable, like OpenAPI's `/`.
      service: {
        host: '{host}',
        protocol,
        description: 'The service that served this document: the host and port it was fetched from',
        variables: { host: { default: 'localhost:5000', description: 'The service\'s host and port' } }
      }
    },
    channels: {
      live: {
        address: LIVE_PATH,
        title: 'Live events',
        description: 'One socket per client, both directions. Every message is a JSON object with a string `type`.',
        servers: [{ $ref: '#/servers/service' }],
        messages: Object.fromEntries(Object.keys(messages).map((name) => [name, { $ref: `#/components/messages/${name}` }])),
        bindings: {
          ws: {
            query: {
              type: 'object',
              properties: { token: { type: 'string', description: 'A JWT, instead of an `auth` message' } }
            }
          }
        }
      }
    },
    operations,
    components: { schemas, messages }
  }
}

export default fp(async function asyncapi (app) {
  app.get(ASYNCAPI_PATH, { schema: { hide: true } }, async (request) => {
    const secure = request.protocol === 'https'
    return buildAsyncApi(secure ? 'wss' : 'ws')
  })
}, { name: 'asyncapi', dependencies: ['swagger'] })
