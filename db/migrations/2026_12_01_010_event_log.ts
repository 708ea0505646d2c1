import { sql, type Kysely } from 'kysely'

// The transactional event log. A domain operation inserts its events in the same transaction as the change they
// describe; the live hub, the webhook dispatcher and the room monitor read them back in id order.
//
// Ids must increase in COMMIT order, or a reader that has seen id 6 would skip an id 5 committed after it. A sequence
// alone hands ids out in allocation order, so the id is assigned by a trigger under a transaction-level advisory lock,
// held until commit: event-writing transactions commit one at a time, in id order. (Record events last in a
// transaction, so the lock is held briefly and never taken before a row lock another writer may hold.)
// After an insert statement commits, NOTIFY wakes every process's readers; they then read from their last id, so a
// missed notification delays nothing past the readers' fallback poll.
export const EVENTS_LOCK_KEY = 8_317_002_001

export async function up (db: Kysely<any>): Promise<void> {
  await sql`create sequence events_id_seq`.execute(db)
  await sql`create table events (
    id bigint primary key,
    session_id integer,
    type text not null,
    data jsonb not null,
    created_at timestamptz not null default clock_timestamp()
  )`.execute(db)
  await sql`alter sequence events_id_seq owned by events.id`.execute(db)
  await sql`create index events_session_id_id on events (session_id, id)`.execute(db)
  await sql`create index events_created_at on events (created_at)`.execute(db)
  await sql`create function events_assign_id() returns trigger language plpgsql as $$
    begin
      perform pg_advisory_xact_lock(${sql.lit(EVENTS_LOCK_KEY)});
      new.id := nextval('events_id_seq');
      new.created_at := clock_timestamp();
      return new;
    end
  $$`.execute(db)
  await sql`create trigger events_assign_id before insert on events
    for each row execute function events_assign_id()`.execute(db)
  await sql`create function events_notify() returns trigger language plpgsql as $$
    begin
      perform pg_notify('events', '');
      return null;
    end
  $$`.execute(db)
  await sql`create trigger events_notify after insert on events
    for each statement execute function events_notify()`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop table events`.execute(db)
  await sql`drop function events_notify()`.execute(db)
  await sql`drop function events_assign_id()`.execute(db)
}
