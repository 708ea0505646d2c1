import { sql, type Kysely } from 'kysely'

// A counter that moves whenever the catalog changes in a way the picker cares about (rows added or removed, or a
// column it filters or weighs on). The picker caches candidate pools per version; vote and play counters are left
// out on purpose, so the busiest writes never invalidate that cache. Statement-level: one bump per statement.
export async function up (db: Kysely<any>): Promise<void> {
  await sql`create table catalog_version (
    only_row boolean primary key default true check (only_row),
    version bigint not null default 1
  )`.execute(db)
  await sql`insert into catalog_version default values`.execute(db)
  await sql`create function bump_catalog_version() returns trigger language plpgsql as $$
    begin
      update catalog_version set version = version + 1;
      return null;
    end
  $$`.execute(db)
  await sql`create trigger games_catalog_changed
    after insert or delete or update of pack_name, title, min_players, max_players, length_minutes, family_friendly,
      game_type, drawing, enabled, favor_bias
    on games for each statement execute function bump_catalog_version()`.execute(db)
  await sql`create trigger games_catalog_truncated after truncate on games
    for each statement execute function bump_catalog_version()`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop trigger games_catalog_truncated on games`.execute(db)
  await sql`drop trigger games_catalog_changed on games`.execute(db)
  await sql`drop function bump_catalog_version()`.execute(db)
  await sql`drop table catalog_version`.execute(db)
}
