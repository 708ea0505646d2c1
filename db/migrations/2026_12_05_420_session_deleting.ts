import { sql, type Kysely } from 'kysely'

// A closed session being deleted: its rows (hundreds of thousands of chat logs) are deleted in bounded batches, each its
// own short statement, then the session. From the moment this is set, every reader treats the session as gone. A
// deletion renews it as it goes; one left older than a minute (its process died) is taken over by the next DELETE.
export async function up (db: Kysely<any>): Promise<void> {
  await sql`alter table sessions add column deleting_at timestamptz`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`alter table sessions drop column deleting_at`.execute(db)
}
