import { Type, type Static } from '@sinclair/typebox'
import { Id, MAX_EVENT_ID } from './common.ts'
import { EVENT_TYPES } from './events.ts'

// The live WebSocket protocol (GET /api/sessions/live): what a client may send, and what the server answers.

export const LiveQuery = Type.Object({
  token: Type.Optional(Type.String({ description: 'A JWT, to authenticate on connect instead of sending an auth message' }))
})
export type LiveQuery = Static<typeof LiveQuery>

export const AuthMessage = Type.Object({ type: Type.Literal('auth'), token: Type.String({ minLength: 1 }) })
export const SubscribeMessage = Type.Object({
  type: Type.Literal('subscribe'),
  sessionId: Id,
  since: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_EVENT_ID, description: 'The id of the last event seen: the later ones of the session are replayed first' }))
})
export const UnsubscribeMessage = Type.Object({ type: Type.Literal('unsubscribe'), sessionId: Id })
export const PingMessage = Type.Object({ type: Type.Literal('ping') })

// Connected clients: a client announces a name and the functions the service may call on it (routes/clients.ts).
export const HelloMessage = Type.Object({
  type: Type.Literal('hello'),
  name: Type.String({ minLength: 1, maxLength: 100 }),
  functions: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100 })
})
export type HelloMessage = Static<typeof HelloMessage>

/** A client's answer to a command: `response` (a JSON object or array) when ok, else `error`. */
export const CommandResultMessage = Type.Object({
  type: Type.Literal('command_result'),
  id: Type.String(),
  ok: Type.Boolean(),
  response: Type.Optional(Type.Unknown()),
  error: Type.Optional(Type.String())
})
export type CommandResultMessage = Static<typeof CommandResultMessage>

export const ClientMessage = Type.Union([AuthMessage, SubscribeMessage, UnsubscribeMessage, PingMessage, HelloMessage, CommandResultMessage])
export type ClientMessage = Static<typeof ClientMessage>

export const ServerMessage = Type.Union([
  Type.Object({ type: Type.Literal('auth_success') }),
  Type.Object({ type: Type.Literal('auth_error'), message: Type.String() }),
  Type.Object({ type: Type.Literal('subscribed'), sessionId: Id }),
  Type.Object({ type: Type.Literal('unsubscribed'), sessionId: Id }),
  Type.Object({ type: Type.Literal('pong') }),
  Type.Object({ type: Type.Literal('hello_ok'), clientId: Type.String() }),
  Type.Object({ type: Type.Literal('command'), id: Type.String(), key: Type.String(), data: Type.Unknown() }),
  Type.Object({ type: Type.Literal('error'), message: Type.String() }),
  Type.Object({
    id: Type.Integer({ minimum: 1, description: 'Increases in commit order across every process: resume with `since`' }),
    type: Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))),
    timestamp: Type.String({ format: 'date-time' }),
    data: Type.Unknown()
  })
])
export type ServerMessage = Static<typeof ServerMessage>
