import { sql, type Kysely } from 'kysely'
import type { Database, VoteType } from './types.ts'

/**
 * One batch of chat messages, column by column (each column travels as one array parameter): an array, sent as text,
 * or a Buffer holding it in PostgreSQL's binary array format (binary-arrays.ts; a server only, PGlite takes text).
 */
export interface ChatLogBatch {
  sessionGameIds: (number | null)[] | Buffer
  usernames: string[] | Buffer
  messages: string[] | Buffer
  /** ISO-8601 date-times. */
  timestamps: string[] | Buffer
  voteTypes: (VoteType | null)[] | Buffer
  hashes: string[] | Buffer
}

/**
 * Stores a batch of a session's chat messages for the import `importId`, skipping those already stored (same hash),
 * the import's own earlier rows included. Returns how many rows were new and the hashes of the new votes that fell
 * into a game.
 */
export async function insertChatLogs (db: Kysely<Database>, sessionId: number, importId: number, batch: ChatLogBatch): Promise<{ inserted: number, votes: string[] }> {
  const { rows } = await sql<{ inserted: number, votes: string[] }>`
    with ins as (
      insert into chat_logs (session_id, session_game_id, username, message, timestamp, vote_type, message_hash, import_id)
      select ${sessionId}::int, r.session_game_id, r.username, r.message, r.ts, r.vote_type, r.message_hash, ${importId}::int
      from unnest(${batch.sessionGameIds}::int[], ${batch.usernames}::text[], ${batch.messages}::text[], ${batch.timestamps}::timestamptz[],
                  ${batch.voteTypes}::text[], ${batch.hashes}::text[]) as r(session_game_id, username, message, ts, vote_type, message_hash)
      on conflict (session_id, message_hash) do nothing
      returning session_game_id, vote_type, message_hash
    )
    select count(*)::int as inserted,
           coalesce(json_agg(message_hash) filter (where vote_type is not null and session_game_id is not null), '[]') as votes
    from ins`.execute(db)
  return rows[0]
}

/** Adds vote counts to games' counters. */
export async function addGameVotes (db: Kysely<Database>, counts: { game_id: number, upvotes: number, downvotes: number }[]): Promise<void> {
  if (!counts.length) return
  const sorted = [...counts].sort((a, b) => a.game_id - b.game_id)
  // Row locks in id order, so two imports touching the same games cannot deadlock.
  await db.selectFrom('games').select('id').where('id', 'in', sorted.map((c) => c.game_id)).orderBy('id').forUpdate().execute()
  await sql`
    update games set upvotes = games.upvotes + c.up, downvotes = games.downvotes + c.down
    from unnest(${sorted.map((c) => c.game_id)}::int[], ${sorted.map((c) => c.upvotes)}::int[],
                ${sorted.map((c) => c.downvotes)}::int[]) as c(id, up, down)
    where games.id = c.id`.execute(db)
}
