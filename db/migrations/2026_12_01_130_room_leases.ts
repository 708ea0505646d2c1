import { sql, type Kysely } from 'kysely'

// Which process watches which room: one row per watched session game, owned by one process until `expires_at`
// (database time, so hosts' clocks never matter). The owner renews its rows on a heartbeat; any process may take a
// row whose lease expired (its owner died) or was released (`owner` null: a graceful shutdown). The row lives as long
// as the watch: deleted when the watch ends or is stopped. See monitor/leases.ts for why a row and not an advisory lock.
// A change of owner or a deletion NOTIFYs `room_leases`, so the processes react at once instead of at their next beat.
export async function up (db: Kysely<any>): Promise<void> {
  await sql`create table room_leases (
    session_game_id integer primary key references session_games (id) on delete cascade,
    room_code text not null,
    owner text,
    expires_at timestamptz not null
  )`.execute(db)
  await sql`create index room_leases_expires_at on room_leases (expires_at)`.execute(db)
  await sql`create function room_leases_notify() returns trigger language plpgsql as $$
    begin
      perform pg_notify('room_leases', '');
      return null;
    end
  $$`.execute(db)
  await sql`create trigger room_leases_owner_changed after update on room_leases
    for each row when (old.owner is distinct from new.owner) execute function room_leases_notify()`.execute(db)
  await sql`create trigger room_leases_deleted after delete on room_leases
    for each statement execute function room_leases_notify()`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop table room_leases`.execute(db)
  await sql`drop function room_leases_notify()`.execute(db)
}
