import { sql, type Kysely } from 'kysely'

// Chat sources: a live chat channel the service reads itself (chat/). One row per platform and channel. Exactly one
// process reads an enabled source: the one holding its lease (`lease_owner` until `lease_expires_at`, database time,
// renewed on a heartbeat like room_leases); a dead owner's lease expires and another process takes it.
// `status`/`status_message` are written by the lease holder. Votes a source counted are the live_votes rows that name
// it (`chat_source_id`), so `votes_counted` is a count, exact across failovers; `chat_message_id` (the platform's
// message id, unique) makes a message re-read after a reconnect or by a new owner count once at most.
// Any change of enabled, owner or a deletion NOTIFYs `chat_sources`, so every process re-reads its leases at once.
export async function up (db: Kysely<any>): Promise<void> {
  await sql`create table chat_sources (
    id serial primary key,
    platform text not null check (platform in ('twitch')),
    channel text not null,
    enabled smallint not null default 1 check (enabled in (0, 1)),
    status text not null default 'connecting' check (status in ('connecting', 'connected', 'error', 'disabled')),
    status_message text,
    last_message_at timestamptz,
    votes_refused integer not null default 0,
    lease_owner text,
    lease_expires_at timestamptz,
    created_at timestamptz not null default now(),
    unique (platform, channel)
  )`.execute(db)
  await sql`alter table live_votes
    add column chat_source_id integer references chat_sources (id) on delete set null,
    add column chat_message_id text`.execute(db)
  await sql`create unique index live_votes_chat_message_id on live_votes (chat_message_id) where chat_message_id is not null`.execute(db)
  await sql`create index live_votes_chat_source_id on live_votes (chat_source_id) where chat_source_id is not null`.execute(db)
  await sql`create function chat_sources_notify() returns trigger language plpgsql as $$
    begin
      perform pg_notify('chat_sources', '');
      return null;
    end
  $$`.execute(db)
  await sql`create trigger chat_sources_inserted after insert on chat_sources
    for each statement execute function chat_sources_notify()`.execute(db)
  await sql`create trigger chat_sources_changed after update on chat_sources
    for each row when (old.enabled is distinct from new.enabled or old.lease_owner is distinct from new.lease_owner)
    execute function chat_sources_notify()`.execute(db)
  await sql`create trigger chat_sources_deleted after delete on chat_sources
    for each statement execute function chat_sources_notify()`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop index live_votes_chat_source_id`.execute(db)
  await sql`drop index live_votes_chat_message_id`.execute(db)
  await sql`alter table live_votes drop column chat_message_id, drop column chat_source_id`.execute(db)
  await sql`drop table chat_sources`.execute(db)
  await sql`drop function chat_sources_notify()`.execute(db)
}
