import { sql, type Kysely } from 'kysely'
import type { Database, Flag } from './types.ts'

// The secret is write-only: every read for the API selects `has_secret` instead of it.
const PUBLIC_COLUMNS = ['id', 'name', 'url', 'events', 'enabled', 'created_at'] as const
const hasSecret = sql<boolean>`secret is not null`.as('has_secret')

const LOG_COLUMNS = ['id', 'event', 'status_code', 'success', 'error', 'attempt', 'duration_ms', 'created_at'] as const

export interface WebhookInput {
  name: string
  url: string
  events: string[]
  secret?: string | null
  enabled?: Flag
}

/** What the dispatcher needs to deliver, secret included. */
export interface WebhookTarget {
  id: number
  url: string
  secret: string | null
}

export interface WebhookLogInput {
  webhook_id: number
  event: string
  delivery_id: string
  /** The raw JSON body that was sent. */
  payload: string
  status_code: number | null
  success: boolean
  error: string | null
  attempt: number
  duration_ms: number
}

export function listWebhooks (db: Kysely<Database>) {
  return db.selectFrom('webhooks').select([...PUBLIC_COLUMNS, hasSecret]).orderBy('id').execute()
}

export function findWebhook (db: Kysely<Database>, id: number) {
  return db.selectFrom('webhooks').select([...PUBLIC_COLUMNS, hasSecret]).where('id', '=', id).executeTakeFirst()
}

export function findWebhookTarget (db: Kysely<Database>, id: number): Promise<WebhookTarget | undefined> {
  return db.selectFrom('webhooks').select(['id', 'url', 'secret']).where('id', '=', id).executeTakeFirst()
}

/** Every enabled webhook with the events it subscribes to, secret included: the dispatcher's routing table. */
export function listEnabledWebhookTargets (db: Kysely<Database>): Promise<(WebhookTarget & { events: string[] })[]> {
  return db.selectFrom('webhooks').select(['id', 'url', 'secret', 'events'])
    .where('enabled', '=', 1)
    .orderBy('id')
    .execute()
}

export function insertWebhook (db: Kysely<Database>, input: WebhookInput) {
  return db.insertInto('webhooks')
    .values({ name: input.name, url: input.url, events: input.events, secret: input.secret ?? null, enabled: input.enabled ?? 1 })
    .returning([...PUBLIC_COLUMNS, hasSecret])
    .executeTakeFirstOrThrow()
}

/** Undefined: no such webhook. */
export function updateWebhook (db: Kysely<Database>, id: number, changes: Partial<WebhookInput>) {
  return db.updateTable('webhooks')
    .set(changes)
    .where('id', '=', id)
    .returning([...PUBLIC_COLUMNS, hasSecret])
    .executeTakeFirst()
}

/** Whether a webhook was deleted; its logs go with it. */
export async function deleteWebhook (db: Kysely<Database>, id: number): Promise<boolean> {
  const result = await db.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst()
  return result.numDeletedRows > 0n
}

export function insertWebhookLog (db: Kysely<Database>, log: WebhookLogInput) {
  return db.insertInto('webhook_logs').values(log).returning([...LOG_COLUMNS]).executeTakeFirstOrThrow()
}

/** The most recent deliveries first. */
export function listWebhookLogs (db: Kysely<Database>, webhookId: number, limit = 100) {
  return db.selectFrom('webhook_logs').select([...LOG_COLUMNS])
    .where('webhook_id', '=', webhookId)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute()
}
