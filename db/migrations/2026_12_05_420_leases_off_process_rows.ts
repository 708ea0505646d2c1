import { sql, type Kysely } from 'kysely'

// Room leases hang off their owner's `live_processes` row: one renewal of that row per heartbeat keeps every lease of
// the process alive, instead of a renewal of each lease row. `leases_expire_at` is how long the row holds its leases
// (a few beats, timed from the ecast poll period); `expires_at`, longer, is how long its connected clients and
// commands outlive a silent process before it is pruned. Pruning the row frees its leases (`owner` set null, which
// NOTIFYs `room_leases` through the owner-change trigger); a lease whose owner's `leases_expire_at` passed is free too,
// before the prune. The leases' own `expires_at` goes.
export async function up (db: Kysely<any>): Promise<void> {
  await sql`alter table live_processes add column leases_expire_at timestamptz not null default now()`.execute(db)
  await sql`update room_leases set owner = null where owner is not null
    and not exists (select 1 from live_processes where instance = room_leases.owner)`.execute(db)
  await sql`alter table room_leases add constraint room_leases_owner_fkey
    foreign key (owner) references live_processes (instance) on delete set null`.execute(db)
  await sql`create index room_leases_owner on room_leases (owner)`.execute(db)
  await sql`drop index room_leases_expires_at`.execute(db)
  await sql`alter table room_leases drop column expires_at`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`alter table room_leases add column expires_at timestamptz not null default now()`.execute(db)
  await sql`update room_leases set expires_at = p.leases_expire_at from live_processes p where p.instance = room_leases.owner`.execute(db)
  await sql`create index room_leases_expires_at on room_leases (expires_at)`.execute(db)
  await sql`drop index room_leases_owner`.execute(db)
  await sql`alter table room_leases drop constraint room_leases_owner_fkey`.execute(db)
  await sql`alter table live_processes drop column leases_expire_at`.execute(db)
}
