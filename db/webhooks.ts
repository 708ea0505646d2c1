import { sql, type Insertable, type Kysely } from 'kysely'
import type { Database, WebhookDeliveryRow, WebhookLogsTable, WebhookRow, WebhooksTable } from './types.ts'

// The secret is write-only: every read for the API selects `has_secret` instead of it.
const PUBLIC_COLUMNS = ['id', 'name', 'url', 'events', 'enabled', 'created_at'] as const
const hasSecret = sql<boolean>`secret is not null`.as('has_secret')

const LOG_COLUMNS = ['id', 'event', 'status_code', 'success', 'error', 'attempt', 'duration_ms', 'created_at'] as const

export type WebhookInput = Omit<Insertable<WebhooksTable>, 'id' | 'created_at'>

/** What a delivery needs of its webhook, secret included. */
export type WebhookTarget = Pick<WebhookRow, 'id' | 'url' | 'secret'>

export type WebhookLogInput = Omit<Insertable<WebhookLogsTable>, 'id' | 'created_at'>

export function listWebhooks (db: Kysely<Database>) {
  return db.selectFrom('webhooks').select([...PUBLIC_COLUMNS, hasSecret]).orderBy('id').execute()
}

export function findWebhook (db: Kysely<Database>, id: number) {
  return db.selectFrom('webhooks').select([...PUBLIC_COLUMNS, hasSecret]).where('id', '=', id).executeTakeFirst()
}

export function findWebhookTarget (db: Kysely<Database>, id: number): Promise<WebhookTarget | undefined> {
  return db.selectFrom('webhooks').select(['id', 'url', 'secret']).where('id', '=', id).executeTakeFirst()
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

/** A delivery claimed for one attempt, with what sending it needs. */
export type ClaimedDelivery = WebhookDeliveryRow & Pick<WebhookRow, 'url' | 'secret'>

/** Deliveries of enabled webhooks only: a disabled webhook's pending retries are not sent (nor waited for). */
const ofEnabledWebhook = sql<boolean>`webhook_id in (select id from webhooks where enabled = 1)`

/**
 * Claims up to `limit` due deliveries for `claimMs`: pending, of an enabled webhook, due, and not claimed by a process
 * that is still within its claim. SKIP LOCKED lets several processes claim at once without waiting on, or taking, each
 * other's rows. Each claim gets a new `claim` id, which the outcome must be recorded under.
 */
export function claimDueDeliveries (db: Kysely<Database>, limit: number, claimMs: number): Promise<ClaimedDelivery[]> {
  return db
    .with('claimed', (db) => db.updateTable('webhook_deliveries')
      .set({ claimed_until: sql`now() + ${claimMs} * interval '1 millisecond'`, claim: sql`gen_random_uuid()` })
      .where('id', 'in', (eb) => eb.selectFrom('webhook_deliveries').select('id')
        .where('status', '=', 'pending')
        .where(ofEnabledWebhook)
        .where('next_attempt_at', '<=', sql<Date>`now()`)
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', sql<Date>`now()`)]))
        .orderBy('next_attempt_at')
        .limit(limit)
        .forUpdate().skipLocked())
      .returningAll())
    .selectFrom('claimed')
    .innerJoin('webhooks', 'webhooks.id', 'claimed.webhook_id')
    .selectAll('claimed')
    .select(['webhooks.url', 'webhooks.secret'])
    .orderBy('claimed.next_attempt_at')
    .execute()
}

/**
 * Records a finished attempt on its delivery: `retryInMs` undefined means the delivery is over (`succeeded` or
 * `failed`), a number means pending again after that many milliseconds. Releases the claim. False, and nothing
 * changed, when the delivery no longer carries `claim` (the claim expired and another process claimed it since).
 */
export async function updateDeliveryAfterAttempt (db: Kysely<Database>, id: string, claim: string,
  outcome: { status: 'succeeded' | 'failed' } | { status: 'pending', retryInMs: number }): Promise<boolean> {
  const result = await db.updateTable('webhook_deliveries')
    .set((eb) => ({
      status: outcome.status,
      attempts: eb('attempts', '+', 1),
      claimed_until: null,
      ...(outcome.status === 'pending' ? { next_attempt_at: sql<Date>`now() + ${outcome.retryInMs} * interval '1 millisecond'` } : {})
    }))
    .where('id', '=', id)
    .where('claim', '=', claim)
    .where('status', '=', 'pending')
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/** Milliseconds until the next pending delivery may be claimed (0 when one is due now); undefined when none is pending. */
export async function findNextDeliveryDue (db: Kysely<Database>): Promise<number | undefined> {
  const row = await db.selectFrom('webhook_deliveries')
    .select(sql<number | null>`extract(epoch from min(greatest(next_attempt_at, claimed_until)) - now()) * 1000`.as('ms'))
    .where('status', '=', 'pending')
    .where(ofEnabledWebhook)
    .executeTakeFirst()
  return row?.ms == null ? undefined : Math.max(0, Math.ceil(Number(row.ms)))
}

/** Deletes the deliveries that finished before `before`, and the pending ones created before `pendingBefore`. */
export async function deleteOldDeliveries (db: Kysely<Database>, before: Date, pendingBefore: Date): Promise<number> {
  const result = await db.deleteFrom('webhook_deliveries')
    .where((eb) => eb.or([
      eb.and([eb('status', '<>', 'pending'), eb('created_at', '<', before)]),
      eb('created_at', '<', pendingBefore)
    ]))
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

/**
 * Deletes up to `limit` of the attempts logged before `before` (each keeps its whole payload), the oldest first (read
 * through webhook_logs_created_at); returns how many.
 */
export async function deleteWebhookLogsBefore (db: Kysely<Database>, before: Date, limit: number): Promise<number> {
  const result = await db.deleteFrom('webhook_logs')
    .where('id', 'in', db.selectFrom('webhook_logs').select('id').where('created_at', '<', before).orderBy('created_at').limit(limit))
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
