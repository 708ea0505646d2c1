import { sql, type Kysely } from 'kysely'

// Pruning deletes webhook attempts in short batches, the oldest first: each batch reads its rows through this index
// instead of scanning the table.
export async function up (db: Kysely<any>): Promise<void> {
  await sql`create index if not exists webhook_logs_created_at on webhook_logs (created_at)`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop index if exists webhook_logs_created_at`.execute(db)
}
