import { Type, type Static } from '@sinclair/typebox'
import { Flag, FlagInput, Id, Nullable, Timestamp } from './common.ts'
import { WEBHOOK_EVENTS, type WebhookEvent } from './events.ts'

const EVENTS_RULE = `events must be a non-empty list of distinct event names from: ${WEBHOOK_EVENTS.join(', ')}`

export const WebhookEventName = Type.Unsafe<WebhookEvent>({ type: 'string', enum: [...WEBHOOK_EVENTS], errorMessage: EVENTS_RULE })

const Name = Type.String({ minLength: 1, maxLength: 100, examples: ['Stream overlay'] })
const Url = Type.String({
  format: 'uri',
  pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
  maxLength: 2048,
  errorMessage: 'url must be an http or https URL',
  examples: ['https://example.com/hooks/jackbox']
})
const Events = Type.Array(WebhookEventName, { minItems: 1, uniqueItems: true, errorMessage: EVENTS_RULE, examples: [['session.started', 'game.added']] })
const Secret = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'Signs each delivery: X-Webhook-Signature is sha256=<hex HMAC-SHA256 of the raw body>. Write-only.'
})

export const Webhook = Type.Object({
  id: Id,
  name: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  enabled: Flag,
  has_secret: Type.Boolean({ description: 'Whether deliveries are signed; the secret itself is never returned' }),
  created_at: Timestamp
}, { $id: 'Webhook', description: 'An outbound event subscription; its secret is write-only' })
export type Webhook = Static<typeof Webhook>

export const NewWebhook = Type.Object({
  name: Name,
  url: Url,
  events: Events,
  secret: Type.Optional(Secret),
  enabled: Type.Optional(FlagInput('enabled', 'Default 1; false/true accepted too'))
}, { additionalProperties: false })
export type NewWebhook = Static<typeof NewWebhook>

export const WebhookUpdate = Type.Object({
  name: Type.Optional(Name),
  url: Type.Optional(Url),
  events: Type.Optional(Events),
  secret: Type.Optional(Nullable({ ...Secret, description: 'A new secret, or null to stop signing deliveries' })),
  enabled: Type.Optional(FlagInput('enabled', '0 pauses deliveries, 1 resumes them; false/true accepted too'))
}, { additionalProperties: false, minProperties: 1, errorMessage: 'body must be an object with at least one field to update' })
export type WebhookUpdate = Static<typeof WebhookUpdate>

// Shaped like the other deletes of the API (`{"message": "Game deleted successfully", "gameId"}`).
export const WebhookDeleted = Type.Object({ message: Type.String(), webhookId: Id }, { description: 'The webhook and its delivery log were deleted' })

export const WebhookLog = Type.Object({
  id: Id,
  event: Type.String(),
  status_code: Nullable(Type.Integer({ description: 'The receiver\'s HTTP status; null when no response arrived' })),
  success: Type.Boolean(),
  error: Nullable(Type.String({ description: 'Why the attempt failed: a non-2xx status, a network error or the 5 s timeout' })),
  attempt: Type.Integer({ minimum: 1, maximum: 3 }),
  duration_ms: Type.Integer({ minimum: 0 }),
  created_at: Timestamp
}, { $id: 'WebhookLog', description: 'One delivery attempt' })
export type WebhookLog = Static<typeof WebhookLog>
