import { Type, type Static } from '@sinclair/typebox'
import { Id } from './common.ts'

// The connected-clients admin API: envelopes carry `success`, results `processed` with `response` or `reason`, the
// shapes of the original connected-clients API that existing bots were written against.

export const ClientId = Type.String({ minLength: 1, maxLength: 100, description: 'The clientId a live client got in hello_ok' })

export const ClientParams = Type.Object({ clientId: ClientId })
export type ClientParams = Static<typeof ClientParams>

export const ClientSession = Type.Object({
  id: ClientId,
  user_key: Type.Union([Id, Type.Null()], {
    description: 'The id of the scoped token the client authenticated with (as in GET /api/auth/tokens); null for a login token'
  }),
  name: Type.String({ description: 'The name the client announced in hello' }),
  functions: Type.Array(Type.String(), { description: 'The function keys the client announced in hello' }),
  subscriptions: Type.Array(Id, { description: 'The session ids the client is subscribed to' }),
  created_at: Type.Integer({ description: 'When the client first said hello, in epoch milliseconds' })
}, {
  $id: 'ClientSession',
  examples: [{ id: '5f0c6e1e-3b7a-4c1e-9d1a-2f4b6c8d0e1f', user_key: null, name: 'obs-overlay', functions: ['show-pick'], subscriptions: [5], created_at: 1770624500000 }]
})
export type ClientSession = Static<typeof ClientSession>

export const ClientList = Type.Object({
  success: Type.Literal(true),
  sessions: Type.Array(Type.Ref(ClientSession))
}, { description: 'The clients connected now, on every process of the service' })
export type ClientList = Static<typeof ClientList>

export const ClientFound = Type.Object({
  success: Type.Literal(true),
  session: Type.Ref(ClientSession)
}, { description: 'The client' })
export type ClientFound = Static<typeof ClientFound>

export const Success = Type.Object({ success: Type.Literal(true) }, { description: 'Done' })
export type Success = Static<typeof Success>

export const ClientNotFound = Type.Object({
  success: Type.Literal(false),
  error: Type.String({ examples: ['Session not found'] })
}, { description: 'No connected client has this id' })

export const REASONS = {
  errored: (message: string) => `function errored, message: ${message}`,
  invalid: 'invalid return data',
  noResponse: 'client never responded',
  noFunction: 'function doesnt exist'
} as const

const CommandResponse = Type.Union([Type.Object({}, { additionalProperties: true }), Type.Array(Type.Unknown())], {
  description: "The client's answer: a JSON object or array"
})
const Reason = Type.String({
  description: '"function errored, message: <the client\'s error>", "invalid return data" (the answer is not a JSON object or ' +
    'array), "client never responded" (timeout, the client left or its process stopped, or too many commands already ' +
    'wait for it) or ' +
    '"function doesnt exist" (the key is not among its announced functions; nothing was sent)',
  examples: ['client never responded']
})

const processed = { processed: Type.Literal(true), response: CommandResponse }
const notProcessed = { processed: Type.Literal(false), reason: Reason }

/** One command's outcome, as the bulk route lists them. */
export const CommandOutcome = Type.Union([Type.Object(processed), Type.Object(notProcessed)], { $id: 'CommandOutcome' })
export type CommandOutcome = Static<typeof CommandOutcome>

export const MessageResult = Type.Union([
  Type.Object({ success: Type.Literal(true), ...processed }),
  Type.Object({ success: Type.Literal(true), ...notProcessed })
], { description: 'The client\'s response, or why there is none' })
export type MessageResult = Static<typeof MessageResult>

export const MessageResults = Type.Object({
  success: Type.Literal(true),
  responses: Type.Array(Type.Ref(CommandOutcome), { description: 'One outcome per id, in the order of session_ids' })
}, { description: 'Every client\'s outcome' })
export type MessageResults = Static<typeof MessageResults>

const Key = Type.String({ minLength: 1, maxLength: 100, description: 'The function to run: one the client announced' })
const Data = Type.Unknown({ description: 'Any JSON, sent to the client as the command\'s data; [] when absent' })
const SessionIds = Type.Array(ClientId, {
  minItems: 1,
  maxItems: 1000,
  errorMessage: 'session_ids must be an array of 1 to 1000 client ids',
  description: 'clientIds; an unknown id does not fail the request'
})

export const MessageBody = Type.Object({ key: Key, data: Type.Optional(Data) }, { additionalProperties: false })
export type MessageBody = Static<typeof MessageBody>

export const BulkDisconnectBody = Type.Object({ session_ids: SessionIds }, { additionalProperties: false })
export type BulkDisconnectBody = Static<typeof BulkDisconnectBody>

export const BulkMessageBody = Type.Object({ session_ids: SessionIds, key: Key, data: Type.Optional(Data) }, { additionalProperties: false })
export type BulkMessageBody = Static<typeof BulkMessageBody>
