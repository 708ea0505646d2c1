import type { Kysely } from 'kysely'
import type { Database, VoteType } from '../db/types.ts'
import { insertLiveVote, type ChatOrigin } from '../db/votes.ts'
import { DuplicateVote, NoActiveSession, NoGameAtTime, VoteAlreadyCounted } from './errors.ts'

/** Votes from the same username closer than this (either way) are one vote counted twice: the second is refused. */
export const DUPLICATE_WINDOW_MS = 1000

/**
 * Counts a vote from chat for the active session's game at `at` and records `vote.received`, in one statement (the
 * hottest write of a game night). The one-second rule holds in the database (a check in the statement, and the
 * `live_votes_one_per_second` exclusion constraint for races), so it holds across every process sharing it.
 * `origin`: a vote read from a chat source (chat/), stored with the message's id so that it counts once at most.
 */
export async function castLiveVote (db: Kysely<Database>, username: string, voteType: VoteType, at: Date, origin?: ChatOrigin) {
  const outcome = await insertLiveVote(db, username, voteType, at, DUPLICATE_WINDOW_MS, origin)
  if (outcome.status === 'seen') throw new VoteAlreadyCounted()
  if (outcome.status === 'no-session') throw new NoActiveSession()
  if (outcome.status === 'no-game') throw new NoGameAtTime()
  if (outcome.status === 'duplicate') throw new DuplicateVote()
  return { session: outcome.session, game: outcome.game, vote: { username, type: voteType, timestamp: at } }
}
