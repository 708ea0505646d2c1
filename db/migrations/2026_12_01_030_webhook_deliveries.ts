import { sql, type Kysely } from 'kysely'

// Durable webhook deliveries. A trigger on the event log writes one delivery per enabled webhook subscribed to the
// event, in the transaction that records the event: a delivery exists exactly when its event committed, whatever
// happens to the process afterwards. The trigger also does the routing, so there is no per-process copy of the
// webhook list to keep fresh: a change to `webhooks` (through the API, plain SQL or another process) applies to the
// next event. The event's type, time and data are copied, so the event log's retention never empties a pending body.
//
// Each process's dispatcher claims due rows with FOR UPDATE SKIP LOCKED and a claim expiry (`claimed_until`): one
// process sends each attempt, and a claim left by a process that died becomes due again when it expires.
export async function up (db: Kysely<any>): Promise<void> {
  await sql`create table webhook_deliveries (
    id uuid primary key default gen_random_uuid(),
    webhook_id integer not null references webhooks (id) on delete cascade,
    event_id bigint,
    event text not null,
    data jsonb not null,
    event_at timestamptz not null,
    status text not null default 'pending' check (status in ('pending', 'succeeded', 'failed')),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    claimed_until timestamptz,
    created_at timestamptz not null default now()
  )`.execute(db)
  await sql`create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending'`.execute(db)
  await sql`create index webhook_deliveries_webhook on webhook_deliveries (webhook_id)`.execute(db)
  await sql`create function webhook_deliveries_enqueue() returns trigger language plpgsql as $$
    begin
      insert into webhook_deliveries (webhook_id, event_id, event, data, event_at)
        select w.id, new.id, new.type, new.data, new.created_at
        from webhooks w
        where w.enabled = 1 and new.type = any (w.events);
      if found then
        perform pg_notify('webhook_deliveries', '');
      end if;
      return null;
    end
  $$`.execute(db)
  // Only the five events a webhook may subscribe to (WEBHOOK_EVENTS in schemas/events.ts): the room monitor's own
  // events never reach a webhook.
  await sql`create trigger events_enqueue_webhook_deliveries after insert on events
    for each row
    when (new.type in ('session.started', 'game.added', 'session.ended', 'vote.received', 'player-count.updated'))
    execute function webhook_deliveries_enqueue()`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop trigger events_enqueue_webhook_deliveries on events`.execute(db)
  await sql`drop function webhook_deliveries_enqueue()`.execute(db)
  await sql`drop table webhook_deliveries`.execute(db)
}
