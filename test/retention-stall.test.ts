import { sql } from 'kysely'
import t from 'tap'
import { pruneHistory } from '../plugins/event-log.ts'
import { insertWebhook } from '../db/webhooks.ts'
import { build } from './helper.ts'
import { healthBound, idleHealth, probeWhile } from './fixtures/health-probes.ts'

// Pruning deletes in short batches: health answers within a bound while 100,000 events and 20,000 webhook attempts
// past the retention are dropped (deleted in one statement each, they held the embedded database for seconds).
const EVENTS = 100_000
const ATTEMPTS = 20_000

t.test('health answers while the history is pruned', async (t) => {
  const app = await build(t)
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  // Old rows seeded in one statement each; the trigger that stamps an event's id and time is off meanwhile.
  await sql`alter table events disable trigger events_assign_id`.execute(app.db)
  await sql`insert into events (id, type, data, created_at) select nextval('events_id_seq'), 'game.added', '{"n": 1}'::jsonb,
    now() - interval '40 days' + i * interval '1 ms' from generate_series(1, ${EVENTS}) i`.execute(app.db)
  await sql`alter table events enable trigger events_assign_id`.execute(app.db)
  // Subscribed to no event of this test: its attempts are only the seeded ones.
  const webhook = await insertWebhook(app.db, { name: 'Hook', url: 'https://example.com/hook', events: ['session.started'] })
  await sql`insert into webhook_logs (webhook_id, event, delivery_id, payload, status_code, success, attempt, duration_ms, created_at)
    select ${webhook.id}, 'game.added', gen_random_uuid(), '{"n": 1}'::jsonb, 200, true, 1, 1, now() - interval '40 days' + i * interval '1 ms'
    from generate_series(1, ${ATTEMPTS}) i`.execute(app.db)
  // Recent rows stay.
  await sql`insert into events (type, data) values ('game.added', '{}')`.execute(app.db)
  await sql`insert into webhook_logs (webhook_id, event, delivery_id, payload, status_code, success, attempt, duration_ms)
    values (${webhook.id}, 'game.added', gen_random_uuid(), '{}', 200, true, 1, 1)`.execute(app.db)

  const idle = await idleHealth(base)
  const bound = healthBound(idle)
  const { result: deleted, probes } = await probeWhile(base, () => pruneHistory(app.db, 30))
  t.same(deleted, { events: EVENTS, webhookLogs: ATTEMPTS, tokens: 0 })
  const count = async (table: 'events' | 'webhook_logs') =>
    Number((await app.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
  t.equal(await count('events'), 1, 'the recent event is kept')
  t.equal(await count('webhook_logs'), 1, 'the recent attempt is kept')
  t.ok(probes.count >= 3, `${probes.count} health probes while it pruned`)
  t.equal(probes.failed, 0, 'every probe answered 200')
  t.ok(probes.slowest <= bound, `slowest health probe ${probes.slowest.toFixed(0)} ms (bound ${bound} ms, idle ${idle.toFixed(0)} ms)`)
})
