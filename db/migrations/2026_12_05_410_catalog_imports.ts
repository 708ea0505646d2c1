import { sql, type Kysely } from 'kysely'

// A catalog CSV import writes its new games in short statements, as rows of game_rows marked with its import's id,
// and they stay invisible while that import has a row here: it commits by deleting its `open` row, in one short
// transaction with its updates and deletions. Everything reads and writes the catalog through the view `games`, which
// leaves out those rows, so no reader sees half an import. One open import at a time (imports take turns): the row is
// a lease its process renews. An import whose process stopped renewing it is marked `abandoned` by the next import,
// which deletes its rows (those of its import_id with an id above `after_id`, the largest game id when it began); the
// abandoned row stays, so any row written late by its old owner stays invisible too.
// The view lists game_rows' columns one by one: a migration that adds a column to game_rows recreates it.
export async function up (db: Kysely<any>): Promise<void> {
  await sql`alter table games rename to game_rows`.execute(db)
  await sql`alter table game_rows add column import_id integer`.execute(db)
  await sql`create table catalog_imports (
    id serial primary key,
    state text not null default 'open' check (state in ('open', 'abandoned')),
    owner text not null,
    after_id integer not null,
    expires_at timestamptz not null
  )`.execute(db)
  await sql`create unique index catalog_imports_one_open on catalog_imports ((true)) where state = 'open'`.execute(db)
  // A simple view: PostgreSQL inserts, updates, deletes and locks through it, into game_rows (and its defaults).
  await sql`create view games as
    select id, pack_name, title, min_players, max_players, length_minutes, has_audience, family_friendly, game_type,
      drawing, play_count, upvotes, downvotes, popularity_score, enabled, favor_bias, created_at
    from game_rows
    where import_id is null or import_id not in (select id from catalog_imports)`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop view games`.execute(db)
  await sql`delete from game_rows where import_id in (select id from catalog_imports)`.execute(db)
  await sql`drop table catalog_imports`.execute(db)
  await sql`alter table game_rows drop column import_id`.execute(db)
  await sql`alter table game_rows rename to games`.execute(db)
}
