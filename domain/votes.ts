import type { Kysely } from 'kysely'
import type { Database, VoteType } from '../db/types.ts'
import { insertLiveVote, lockVoter } from '../db/votes.ts'
import { DuplicateVote, NoActiveSession, NoGameAtTime } from './errors.ts'
import { recordEvent } from './events.ts'

/** Votes from the same username closer than this (either way) are one vote counted twice: the second is refused. */
export const DUPLICATE_WINDOW_MS = 1000

/**
 * Counts a vote from chat for the active session's game at `at` and announces `vote.received`. The username's advisory
 * lock makes one user's votes take turns in every process sharing the database, so the one-second rule holds across
 * processes and two votes at the same moment count once.
 */
export function castLiveVote (db: Kysely<Database>, username: string, voteType: VoteType, at: Date) {
  return db.transaction().execute(async (trx) => {
    await lockVoter(trx, username)
    const outcome = await insertLiveVote(trx, username, voteType, at, DUPLICATE_WINDOW_MS)
    if (outcome.status === 'no-session') throw new NoActiveSession()
    if (outcome.status === 'no-game') throw new NoGameAtTime()
    if (outcome.status === 'duplicate') throw new DuplicateVote()
    const { session, game } = outcome
    await recordEvent(trx, 'vote.received', session.id, {
      sessionId: session.id,
      game,
      vote: { username, type: voteType, timestamp: at.toISOString() }
    })
    return { session, game, vote: { username, type: voteType, timestamp: at } }
  })
}
