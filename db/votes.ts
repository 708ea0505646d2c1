import { sql, type Kysely } from 'kysely'
import type { Database, VoteType } from './types.ts'
import { findSessionGameAt } from './timeline.ts'

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
 * Records one live vote: the active session's game at `at` (the shared timeline rule), the live_votes row and the
 * game's counters in one transaction. A per-username advisory lock makes the one-second duplicate check hold when
 * the same user's votes arrive at once; different users never wait for each other here.
 */
export function recordLiveVote (db: Kysely<Database>, username: string, voteType: VoteType, at: Date): Promise<LiveVoteOutcome> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext(${username}))`.execute(trx)
    const session = await trx.selectFrom('sessions').select('id').where('is_active', '=', 1).executeTakeFirst()
    if (!session) return { status: 'no-session' }
    const entry = await findSessionGameAt(trx, session.id, at)
    if (!entry) return { status: 'no-game' }
    const duplicate = await trx.selectFrom('live_votes').select('id')
      .where('username', '=', username)
      .where('timestamp', '>', new Date(at.getTime() - DUPLICATE_WINDOW_MS))
      .where('timestamp', '<', new Date(at.getTime() + DUPLICATE_WINDOW_MS))
      .limit(1).executeTakeFirst()
    if (duplicate) return { status: 'duplicate' }
    await trx.insertInto('live_votes').values({
      session_id: session.id,
      session_game_id: entry.id,
      game_id: entry.game_id,
      username,
      vote_type: voteType,
      timestamp: at
    }).execute()
    const game = await trx.updateTable('games')
      .set((eb) => voteType === 'up' ? { upvotes: eb('upvotes', '+', 1) } : { downvotes: eb('downvotes', '+', 1) })
      .where('id', '=', entry.game_id)
      .returning(['id', 'title', 'upvotes', 'downvotes', 'popularity_score'])
      .executeTakeFirstOrThrow()
    const { count } = await trx.selectFrom('session_games').select((eb) => eb.fn.countAll<number>().as('count'))
      .where('session_id', '=', session.id).executeTakeFirstOrThrow()
    return { status: 'counted', session: { id: session.id, games_played: Number(count) }, game }
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
