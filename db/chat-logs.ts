import { createHash } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import type { Database, VoteType } from './types.ts'
import { entryAt, loadTimeline, type TimelineEntry } from './timeline.ts'

export interface ChatMessage {
  username: string
  message: string
  timestamp: Date
}

/** Newly stored votes counted per game by one import. */
export interface GameVoteCount {
  game_id: number
  title: string
  upvotes: number
  downvotes: number
}

export interface VoteMatch {
  username: string
  message: string
  timestamp: string
  vote_type: VoteType
  session_game_id: number
  game_id: number
  title: string
}

export type ChatImportOutcome =
  | { status: 'no-session' }
  | { status: 'no-games' }
  | {
    status: 'imported'
    messagesImported: number
    votesProcessed: number
    votesByGame: GameVoteCount[]
    timeline: TimelineEntry[]
    voteMatches: VoteMatch[]
  }

/** How many counted votes an import echoes back in debug.voteMatches. */
export const VOTE_MATCH_LIMIT = 100
// Rows per INSERT: each column travels as one array parameter, so this bounds statement size, not parameter count.
const BATCH = 10_000

/** thisgame++ is up, thisgame-- is down, case-insensitive; when a message has both, the first one wins. */
export function voteTypeOf (message: string): VoteType | null {
  const lower = message.toLowerCase()
  const up = lower.indexOf('thisgame++')
  const down = lower.indexOf('thisgame--')
  if (up === -1) return down === -1 ? null : 'down'
  return down === -1 || up < down ? 'up' : 'down'
}

/** The dedupe key: SHA-256 of username:message:timestamp, with the timestamp as ISO-8601 (ms, UTC). */
export function messageHash (username: string, message: string, timestamp: Date): string {
  return createHash('sha256').update(`${username}:${message}:${timestamp.toISOString()}`).digest('hex')
}

/**
 * Stores a chat log and counts its votes, in one transaction. Every message is stored with the game its
 * timestamp falls into (the shared timeline rule); a message already stored for this session (same hash) is
 * skipped, and only the votes this import newly stored move the games' counters.
 */
export function importChatLog (db: Kysely<Database>, sessionId: number, messages: ChatMessage[]): Promise<ChatImportOutcome> {
  return db.transaction().execute(async (trx) => {
    // Imports into one session take turns, so the counters of concurrent imports never race.
    const session = await trx.selectFrom('sessions').select('id').where('id', '=', sessionId).forUpdate().executeTakeFirst()
    if (!session) return { status: 'no-session' }
    const timeline = await loadTimeline(trx, sessionId)
    if (timeline.length === 0) return { status: 'no-games' }

    let messagesImported = 0
    const countedHashes = new Set<string>()
    for (let start = 0; start < messages.length; start += BATCH) {
      const batch = messages.slice(start, start + BATCH)
      const n = batch.length
      const sessionGameIds = new Array<number | null>(n)
      const usernames = new Array<string>(n)
      const texts = new Array<string>(n)
      const timestamps = new Array<string>(n)
      const voteTypes = new Array<VoteType | null>(n)
      const hashes = new Array<string>(n)
      for (let i = 0; i < n; i++) {
        const m = batch[i]
        sessionGameIds[i] = entryAt(timeline, m.timestamp)?.id ?? null
        usernames[i] = m.username
        texts[i] = m.message
        timestamps[i] = m.timestamp.toISOString()
        voteTypes[i] = voteTypeOf(m.message)
        hashes[i] = messageHash(m.username, m.message, m.timestamp)
      }
      // One statement per batch; the CTE hands back only what the counters need: how many rows were new, and
      // the hashes of the new votes that fell into a game.
      const { rows } = await sql<{ inserted: number, votes: string[] }>`
        with ins as (
          insert into chat_logs (session_id, session_game_id, username, message, timestamp, vote_type, message_hash)
          select ${sessionId}::int, r.session_game_id, r.username, r.message, r.ts, r.vote_type, r.message_hash
          from unnest(${sessionGameIds}::int[], ${usernames}::text[], ${texts}::text[], ${timestamps}::timestamptz[],
                      ${voteTypes}::text[], ${hashes}::text[]) as r(session_game_id, username, message, ts, vote_type, message_hash)
          on conflict (session_id, message_hash) do nothing
          returning session_game_id, vote_type, message_hash
        )
        select count(*)::int as inserted,
               coalesce(json_agg(message_hash) filter (where vote_type is not null and session_game_id is not null), '[]') as votes
        from ins`.execute(trx)
      messagesImported += rows[0].inserted
      for (const hash of rows[0].votes) countedHashes.add(hash)
    }

    const byGame = new Map<number, GameVoteCount>()
    const voteMatches: VoteMatch[] = []
    for (const m of messages) {
      if (countedHashes.size === 0) break
      const voteType = voteTypeOf(m.message)
      if (!voteType) continue
      const hash = messageHash(m.username, m.message, m.timestamp)
      // A hash is counted once even when the same row appears twice in the log.
      if (!countedHashes.delete(hash)) continue
      const entry = entryAt(timeline, m.timestamp)!
      let count = byGame.get(entry.game_id)
      if (!count) byGame.set(entry.game_id, count = { game_id: entry.game_id, title: entry.title, upvotes: 0, downvotes: 0 })
      if (voteType === 'up') count.upvotes++
      else count.downvotes++
      if (voteMatches.length < VOTE_MATCH_LIMIT) {
        voteMatches.push({
          username: m.username,
          message: m.message,
          timestamp: m.timestamp.toISOString(),
          vote_type: voteType,
          session_game_id: entry.id,
          game_id: entry.game_id,
          title: entry.title
        })
      }
    }

    const counts = [...byGame.values()].sort((a, b) => a.game_id - b.game_id)
    if (counts.length) {
      // Row locks in id order, so two imports touching the same games cannot deadlock.
      await trx.selectFrom('games').select('id').where('id', 'in', counts.map((c) => c.game_id)).orderBy('id').forUpdate().execute()
      await sql`
        update games set upvotes = games.upvotes + c.up, downvotes = games.downvotes + c.down
        from unnest(${counts.map((c) => c.game_id)}::int[], ${counts.map((c) => c.upvotes)}::int[],
                    ${counts.map((c) => c.downvotes)}::int[]) as c(id, up, down)
        where games.id = c.id`.execute(trx)
    }
    const votesProcessed = counts.reduce((sum, c) => sum + c.upvotes + c.downvotes, 0)
    return { status: 'imported', messagesImported, votesProcessed, votesByGame: counts, timeline, voteMatches }
  })
}
