import { sql, type Kysely } from 'kysely'

// A chat import writes its rows into chat_logs in short statements as its body arrives, marked with its import's id,
// and they stay invisible while that import has a row here: the import commits by deleting its `open` row, in one short
// transaction with the games' counters. One open import per session at a time: the row is a lease its process renews.
// An import whose process stopped renewing it is marked `abandoned` by the next import into the session, which deletes
// its rows (those of its import_id with an id above `after_id`, the largest chat_logs id when it began); the abandoned
// row stays, so any row written late by its old owner stays invisible too.
export async function up (db: Kysely<any>): Promise<void> {
  await sql`create table chat_imports (
    id serial primary key,
    session_id integer not null references sessions (id) on delete cascade,
    state text not null default 'open' check (state in ('open', 'abandoned')),
    owner text not null,
    after_id integer not null,
    expires_at timestamptz not null
  )`.execute(db)
  await sql`create unique index chat_imports_one_open on chat_imports (session_id) where state = 'open'`.execute(db)
  await sql`create index chat_imports_session on chat_imports (session_id)`.execute(db)
  // No index: an import's rows are found through the primary key, by id ranges above its after_id.
  await sql`alter table chat_logs add column import_id integer`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`alter table chat_logs drop column import_id`.execute(db)
  await sql`drop table chat_imports`.execute(db)
}
