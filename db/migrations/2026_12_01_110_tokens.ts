import { sql, type Kysely } from 'kysely'

// Scoped tokens (a JWT carries the row id as `jti`, checked on every request) and failed logins, which the
// throttle counts across every process sharing the database.
export async function up (db: Kysely<any>): Promise<void> {
  await sql`create table tokens (
    id serial primary key,
    name text not null,
    role text not null check (role in ('admin', 'bot', 'overlay')),
    expires_at timestamptz not null,
    revoked_at timestamptz,
    last_used_at timestamptz,
    created_at timestamptz not null default now()
  )`.execute(db)
  await sql`create table login_failures (
    address text not null,
    failed_at timestamptz not null default now()
  )`.execute(db)
  await sql`create index login_failures_address on login_failures (address, failed_at)`.execute(db)
  await sql`create index login_failures_failed_at on login_failures (failed_at)`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop table login_failures`.execute(db)
  await sql`drop table tokens`.execute(db)
}
