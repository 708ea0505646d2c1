import { sql, type Kysely } from 'kysely'

// `claim` fences a delivery's outcome: each claim gives the row a new id, and an attempt's outcome is recorded only
// while the row still carries the claim it was sent under. A process that stalled past its claim (another process
// has claimed and sent the delivery since) can no longer overwrite what that process recorded.
//
// The two indexes serve the foreign keys to session_games: deleting a session game scanned every chat line and live
// vote to check for references (48 ms for 300k chat rows, 0.26 ms with the index).
export async function up (db: Kysely<any>): Promise<void> {
  await sql`alter table webhook_deliveries add column claim uuid`.execute(db)
  await sql`create index if not exists chat_logs_session_game_id on chat_logs (session_game_id)`.execute(db)
  await sql`create index if not exists live_votes_session_game_id on live_votes (session_game_id)`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop index if exists live_votes_session_game_id`.execute(db)
  await sql`drop index if exists chat_logs_session_game_id`.execute(db)
  await sql`alter table webhook_deliveries drop column claim`.execute(db)
}
