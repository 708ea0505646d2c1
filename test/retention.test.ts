import t from 'tap'
import { sql } from 'kysely'
import { pruneHistory } from '../plugins/event-log.ts'
import { insertWebhook, insertWebhookLog } from '../db/webhooks.ts'
import { insertToken, revokeToken } from '../db/tokens.ts'
import { build } from './helper.ts'

t.test('pruning drops the webhook logs, revoked and expired tokens older than the retention, and keeps the recent ones', async (t) => {
  const app = await build(t)
  const webhook = await insertWebhook(app.db, { name: 'Kept', url: 'https://example.com/hook', events: ['session.started'] })
  const log = (deliveryId: string) => insertWebhookLog(app.db, {
    webhook_id: webhook.id, event: 'session.started', delivery_id: deliveryId, payload: '{}', status_code: 200, success: true, error: null, attempt: 1, duration_ms: 1
  })
  const old = await log('00000000-0000-0000-0000-000000000001')
  await log('00000000-0000-0000-0000-000000000002')
  await sql`update webhook_logs set created_at = now() - interval '31 days' where id = ${old.id}`.execute(app.db)

  const future = new Date(Date.now() + 86_400_000)
  const live = await insertToken(app.db, { name: 'live', role: 'bot', expires_at: future })
  const revokedLongAgo = await insertToken(app.db, { name: 'revoked long ago', role: 'bot', expires_at: future })
  const revokedToday = await insertToken(app.db, { name: 'revoked today', role: 'bot', expires_at: future })
  const expiredLongAgo = await insertToken(app.db, { name: 'expired long ago', role: 'bot', expires_at: new Date(Date.now() - 31 * 86_400_000) })
  const expiredToday = await insertToken(app.db, { name: 'expired today', role: 'bot', expires_at: new Date(Date.now() - 60_000) })
  await revokeToken(app.db, revokedLongAgo.id)
  await revokeToken(app.db, revokedToday.id)
  await sql`update tokens set revoked_at = now() - interval '31 days' where id = ${revokedLongAgo.id}`.execute(app.db)

  t.match(await pruneHistory(app.db, 30), { webhookLogs: 1, tokens: 2 })
  t.same((await app.db.selectFrom('webhook_logs').select('delivery_id').execute()).map((row) => row.delivery_id),
    ['00000000-0000-0000-0000-000000000002'], 'the recent attempt is kept')
  t.same((await app.db.selectFrom('tokens').select('id').orderBy('id').execute()).map((row) => row.id),
    [live.id, revokedToday.id, expiredToday.id], 'the live token and the ones revoked or expired within the retention are kept')
  t.not(expiredLongAgo.id, undefined)
})
