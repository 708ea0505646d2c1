import { sql, type Kysely } from 'kysely'
import type { Database, VoteType } from './types.ts'
import { sessionGameAt } from './timeline.ts'

/** Votes from the same username closer than this (either way) are one vote counted twice: the second is refused. */
export const DUPLICATE_WINDOW_MS = 1000

export type LiveVoteOutcome =
  | { status: 'no-session' }
  | { status: 'no-game' }
  | { status: 'duplicate' }
  | {
    status: 'counted'
    session: { id: number, games_played: number }
    game: { id: number, title: string, upvotes: number, downvotes: number, popularity_score: number }
  }

/**
 * Records one live vote for the active session's game at `at` (the shared timeline rule).
 *
 * The one-second duplicate check holds under concurrency through a session-level advisory lock per username,
 * taken on this request's own connection: the same user's votes take turns, different users never wait for each
 * other. The live_votes row and the game's counters then change in ONE statement (so in one transaction) whose
 * snapshot starts after the lock is held, so it sees the previous holder's vote. Because that statement commits on
 * its own, the game's row lock is held only while the server runs it, never across a round trip to this process:
 * votes for the game being played all update the same row.
 */
export function recordLiveVote (db: Kysely<Database>, username: string, voteType: VoteType, at: Date): Promise<LiveVoteOutcome> {
  return db.connection().execute(async (conn) => {
    // The lock comes first, in the same round trip as the active session and its game at `at`: every statement
    // from here on sees the votes of whoever held it before.
    const entry = sessionGameAt(conn, sql.ref<number>('s.id'), at)
    const { rows: [found] } = await sql<{ session_id: number | null, games_played: number, entry_id: number | null, game_id: number }>`
      select pg_advisory_lock(hashtext(${username}::text)), s.id as session_id,
        (select count(*)::int from session_games where session_id = s.id) as games_played,
        e.id as entry_id, e.game_id
      from (select 1) as one
        left join sessions s on s.is_active = 1
        left join lateral (${entry}) e on true`
      .execute(conn)
    try {
      if (found.session_id === null) return { status: 'no-session' }
      if (found.entry_id === null) return { status: 'no-game' }
      const session = { id: found.session_id, games_played: found.games_played }
      const sessionGame = { id: found.entry_id, game_id: found.game_id }
      const { rows: [game] } = await sql<{ id: number, title: string, upvotes: number, downvotes: number, popularity_score: number }>`
        with vote as (
          insert into live_votes (session_id, session_game_id, game_id, username, vote_type, timestamp)
          select ${session.id}::int, ${sessionGame.id}::int, ${sessionGame.game_id}::int, ${username}::text, ${voteType}::text, ${at}::timestamptz
          where not exists (
            select 1 from live_votes where username = ${username}::text
              and timestamp > ${new Date(at.getTime() - DUPLICATE_WINDOW_MS)}::timestamptz
              and timestamp < ${new Date(at.getTime() + DUPLICATE_WINDOW_MS)}::timestamptz)
          returning game_id, vote_type
        )
        update games set
          upvotes = games.upvotes + (vote.vote_type = 'up')::int,
          downvotes = games.downvotes + (vote.vote_type = 'down')::int
        from vote where games.id = vote.game_id
        returning games.id, games.title, games.upvotes, games.downvotes, games.popularity_score`.execute(conn)
      if (!game) return { status: 'duplicate' }
      return { status: 'counted', session, game }
    } finally {
      await sql`select pg_advisory_unlock(hashtext(${username}::text))`.execute(conn)
    }
  })
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

export function sessionExists (db: Kysely<Database>, id: number) {
  return db.selectFrom('sessions').select('id').where('id', '=', id).executeTakeFirst().then(Boolean)
}
