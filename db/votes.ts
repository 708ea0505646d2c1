import { sql, type Kysely } from 'kysely'
import type { Database, VoteType } from './types.ts'
import { sessionGameAt } from './timeline.ts'
import { PREPARED } from './prepared.ts'

/** The first key of the per-username advisory lock of live votes (the second is the username's hash). */
const VOTER_LOCK_CLASS = 8_317_003

export type LiveVoteOutcome =
  | { status: 'no-session' }
  | { status: 'seen' }
  | { status: 'no-game' }
  | { status: 'duplicate' }
  | {
    status: 'counted'
    session: { id: number, games_played: number }
    game: { id: number, title: string, upvotes: number, downvotes: number, popularity_score: number }
  }

/** What the vote statement answers: the session (null: none active), whether a game was on, and the counted game. */
interface RecordedVote {
  session_id: number | null
  seen: boolean
  games_played: number
  has_game: boolean
  id: number | null
  title: string
  upvotes: number
  downvotes: number
  popularity_score: number
}

/** Where a vote read from a chat source came from: the source and the platform's id of the message. */
export interface ChatOrigin { chatSourceId: number, messageId: string }

/**
 * Records one live vote for the active session's game at `at` (the shared timeline rule), with its `vote.received`
 * event, in ONE statement: the lookups, the duplicate check (a vote of the same username less than `windowMs` away,
 * either way), the live_votes row, the game's counters and the event row commit together, and the event is inserted
 * last (it reads the updated counters), so the event log's lock is held only while the statement commits.
 *
 * Votes of one username take a transaction-level advisory lock on it before inserting, so they insert one at a time:
 * without it, two racing inserts could each find the other's uncommitted row while checking the
 * `live_votes_one_per_second` exclusion constraint and wait for each other (a deadlock, 40P01). With it, a racing vote
 * that the check could not see yet (its snapshot predates the lock) inserts after the other committed, and the
 * constraint refuses it at once (23P01: a duplicate). The lock is a row source of the insert, so it is taken before
 * the row is, and it is released at commit.
 * It is a prepared statement (PREPARED): planning it cost more than running it. With an `origin`, a message whose id is
 * stored already is `seen` (read again after a reconnect or by a new owner of the source), never counted twice; the
 * unique index on chat_message_id refuses the race the check cannot see.
 */
export async function insertLiveVote (db: Kysely<Database>, username: string, voteType: VoteType, at: Date, windowMs: number, origin?: ChatOrigin): Promise<LiveVoteOutcome> {
  const sourceId = origin?.chatSourceId ?? null
  const messageId = origin?.messageId ?? null
  const entry = sessionGameAt(db, sql<number>`(select id from active)`, at)
  let found: RecordedVote
  try {
    ({ rows: [found] } = await sql<RecordedVote>`${sql.raw(PREPARED)}
      with active as (select id from sessions where is_active = 1),
      entry as (${entry}),
      voter as (select pg_advisory_xact_lock(${VOTER_LOCK_CLASS}::int, hashtext(${username}::text))),
      vote as (
        insert into live_votes (session_id, session_game_id, game_id, username, vote_type, timestamp, chat_source_id, chat_message_id)
        select active.id, entry.id, entry.game_id, ${username}::text, ${voteType}::text, ${at}::timestamptz, ${sourceId}::int, ${messageId}::text
        from active cross join entry cross join voter
        where not exists (
          select 1 from live_votes where username = ${username}::text
            and timestamp > ${new Date(at.getTime() - windowMs)}::timestamptz
            and timestamp < ${new Date(at.getTime() + windowMs)}::timestamptz)
          and not exists (select 1 from live_votes where chat_message_id = ${messageId}::text)
        returning session_id, game_id, vote_type
      ),
      counted as (
        update games set
          upvotes = games.upvotes + (vote.vote_type = 'up')::int,
          downvotes = games.downvotes + (vote.vote_type = 'down')::int
        from vote where games.id = vote.game_id
        returning games.id, games.title, games.upvotes, games.downvotes, games.popularity_score
      ),
      event as (
        insert into events (type, session_id, data)
        select 'vote.received', vote.session_id, jsonb_build_object(
          'sessionId', vote.session_id,
          'game', jsonb_build_object('id', counted.id, 'title', counted.title, 'upvotes', counted.upvotes,
            'downvotes', counted.downvotes, 'popularity_score', counted.popularity_score),
          'vote', jsonb_build_object('username', ${username}::text, 'type', ${voteType}::text, 'timestamp', ${at.toISOString()}::text))
        from vote cross join counted
      )
      select active.id as session_id,
        exists (select 1 from live_votes where chat_message_id = ${messageId}::text) as seen,
        (select count(*)::int from session_games where session_id = active.id) as games_played,
        exists (select 1 from entry) as has_game,
        counted.*
      from (select 1) as one
        left join active on true
        left join counted on true`.execute(db))
  } catch (err) {
    const code = (err as { code?: string, constraint?: string }).code
    if (code === '23P01') return { status: 'duplicate' }
    if (code === '23505' && (err as { constraint?: string }).constraint === 'live_votes_chat_message_id') return { status: 'seen' }
    throw err
  }
  if (found.seen) return { status: 'seen' }
  if (found.session_id === null) return { status: 'no-session' }
  if (!found.has_game) return { status: 'no-game' }
  if (found.id === null) return { status: 'duplicate' }
  const { id, title, upvotes, downvotes, popularity_score: popularityScore } = found
  return {
    status: 'counted',
    session: { id: found.session_id, games_played: found.games_played },
    game: { id, title, upvotes, downvotes, popularity_score: popularityScore }
  }
}

export interface VoteFilters {
  session_id?: number
  game_id?: number
  username?: string
  vote_type?: VoteType
}

function filtered (db: Kysely<Database>, filters: VoteFilters) {
  let query = db.selectFrom('live_votes as v')
  if (filters.session_id !== undefined) query = query.where('v.session_id', '=', filters.session_id)
  if (filters.game_id !== undefined) query = query.where('v.game_id', '=', filters.game_id)
  if (filters.username !== undefined) query = query.where('v.username', '=', filters.username)
  if (filters.vote_type !== undefined) query = query.where('v.vote_type', '=', filters.vote_type)
  return query
}

/** One page of live votes, newest first, with how many match and how many pages that makes (counted by the database). */
export async function listVotes (db: Kysely<Database>, filters: VoteFilters, page: number, limit: number) {
  const [votes, counts] = await Promise.all([
    filtered(db, filters)
      .innerJoin('games as g', 'g.id', 'v.game_id')
      .select(['v.id', 'v.session_id', 'v.game_id', 'g.title as game_title', 'v.username', 'v.vote_type', 'v.timestamp'])
      .orderBy('v.timestamp', 'desc').orderBy('v.id', 'desc')
      .limit(limit).offset((page - 1) * limit)
      .execute(),
    filtered(db, filters).select([
      sql<number>`count(*)::int`.as('total'),
      sql<number>`ceil(count(*)::numeric / ${limit}::int)::int`.as('total_pages')
    ]).executeTakeFirstOrThrow()
  ])
  return { votes, ...counts }
}

/** A session's live votes per game, best net score first. */
export function listSessionVoteTallies (db: Kysely<Database>, sessionId: number) {
  const up = sql<number>`count(*) filter (where v.vote_type = 'up')::int`
  const down = sql<number>`count(*) filter (where v.vote_type = 'down')::int`
  return db.selectFrom('live_votes as v')
    .innerJoin('games as g', 'g.id', 'v.game_id')
    .where('v.session_id', '=', sessionId)
    .groupBy(['v.game_id', 'g.title', 'g.pack_name'])
    .select([
      'v.game_id', 'g.title', 'g.pack_name',
      up.as('upvotes'),
      down.as('downvotes'),
      sql<number>`(count(*) filter (where v.vote_type = 'up') - count(*) filter (where v.vote_type = 'down'))::int`.as('net_score'),
      sql<number>`count(*)::int`.as('total_votes')
    ])
    .orderBy('net_score', 'desc').orderBy('total_votes', 'desc').orderBy('v.game_id')
    .execute()
}
