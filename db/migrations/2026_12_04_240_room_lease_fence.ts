import { sql, type Kysely } from 'kysely'

// A fencing number on each room lease: every time a lease is taken (claimed for a new watch, or taken over from a dead
// or stalled owner) it gets a new number from one sequence. A watch writes on behalf of its lease only while the row
// still holds its owner and number, checked in the same transaction as the write (monitor/leases.ts), so a watcher
// that stalled past its lease and woke up after another process took the room records nothing more.
export async function up (db: Kysely<any>): Promise<void> {
  await sql`create sequence room_lease_fence`.execute(db)
  await sql`alter table room_leases add column fence bigint not null default nextval('room_lease_fence')`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`alter table room_leases drop column fence`.execute(db)
  await sql`drop sequence room_lease_fence`.execute(db)
}
