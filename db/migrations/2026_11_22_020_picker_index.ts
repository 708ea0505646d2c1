import { sql, type Kysely } from 'kysely'

// The picker reads only enabled games, filtered mostly by length and player count: partial indexes let it choose
// among them and count them (totalEnabled, every pick) with index-only scans instead of reading the whole table.
export async function up (db: Kysely<any>): Promise<void> {
  await sql`create index games_pick on games (length_minutes, min_players, max_players)
    include (id, favor_bias, drawing, family_friendly) where enabled = 1`.execute(db)
  await sql`create index games_enabled on games (id) where enabled = 1`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('games_enabled').execute()
  await db.schema.dropIndex('games_pick').execute()
}
