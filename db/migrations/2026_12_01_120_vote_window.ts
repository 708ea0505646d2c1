import { sql, type Kysely } from 'kysely'

// One vote per username per second, enforced by the database for every process sharing it: two votes of one username
// whose timestamps are less than 1000 ms apart (either way) have overlapping ±500 ms ranges, which the exclusion
// constraint refuses; a racing second insert waits for the first to commit and then fails. btree_gist gives gist the
// plain equality on username.
export async function up (db: Kysely<any>): Promise<void> {
  await sql`create extension if not exists btree_gist`.execute(db)
  // timestamptz ± interval is only STABLE in general (a day or month interval depends on the time zone); ± a number of
  // milliseconds never does, so this wrapper is truly IMMUTABLE, as an index expression must be.
  await sql`create function live_vote_window(at timestamptz) returns tstzrange language sql immutable parallel safe
    as $$ select tstzrange(at - interval '500 milliseconds', at + interval '500 milliseconds') $$`.execute(db)
  await sql`alter table live_votes add constraint live_votes_one_per_second
    exclude using gist (username with =, live_vote_window(timestamp) with &&)`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`alter table live_votes drop constraint live_votes_one_per_second`.execute(db)
  await sql`drop function live_vote_window(timestamptz)`.execute(db)
}
