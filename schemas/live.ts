import { Type, type Static } from '@sinclair/typebox'
import { Id } from './common.ts'
import { EVENT_TYPES } from './events.ts'

// The live WebSocket protocol (API.md "Live events"): what a client may send, and what the server answers.

export const LiveQuery = Type.Object({
  token: Type.Optional(Type.String({ description: 'A JWT, to authenticate on connect instead of sending an auth message' }))
})
export type LiveQuery = Static<typeof LiveQuery>

export const AuthMessage = Type.Object({ type: Type.Literal('auth'), token: Type.String({ minLength: 1 }) })
export const SubscribeMessage = Type.Object({ type: Type.Literal('subscribe'), sessionId: Id })
export const UnsubscribeMessage = Type.Object({ type: Type.Literal('unsubscribe'), sessionId: Id })
export const PingMessage = Type.Object({ type: Type.Literal('ping') })

export const ClientMessage = Type.Union([AuthMessage, SubscribeMessage, UnsubscribeMessage, PingMessage])
export type ClientMessage = Static<typeof ClientMessage>

export const ServerMessage = Type.Union([
  Type.Object({ type: Type.Literal('auth_success') }),
  Type.Object({ type: Type.Literal('auth_error'), message: Type.String() }),
  Type.Object({ type: Type.Literal('subscribed'), sessionId: Id }),
  Type.Object({ type: Type.Literal('unsubscribed'), sessionId: Id }),
  Type.Object({ type: Type.Literal('pong') }),
  Type.Object({ type: Type.Literal('error'), message: Type.String() }),
  Type.Object({
    type: Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))),
    timestamp: Type.String({ format: 'date-time' }),
    data: Type.Unknown()
  })
])
export type ServerMessage = Static<typeof ServerMessage>
