import type { Kysely } from 'kysely'
import { addGameVotes } from '../db/chat-logs.ts'
import * as imports from '../db/chat-imports.ts'
import { loadTimeline, type TimelineEntry } from '../db/timeline.ts'
import type { Database } from '../db/types.ts'
import { ImportTally } from './chat-import-tally.ts'
import { inIdRanges } from './chat-import-staging.ts'
import { NoGamesPlayed, SessionNotFound } from './errors.ts'

// The end of a chat import: the tally applied in one short transaction, which also makes the import's rows visible;
// counted again from the rows when the session's games changed while the body arrived.

const isDeadlock = (err: unknown) => ['40P01', '40001'].includes((err as { code?: string }).code ?? '')

/**
 * Counts the import's new votes again from its rows, after mapping them to the session's timeline as it is now (a game
 * was added or removed while the body arrived).
 */
async function recount (db: Kysely<Database>, sessionId: number, claim: imports.ChatImportClaim, timeline: TimelineEntry[], previous: ImportTally, batchRows: number) {
  const tally = new ImportTally(timeline)
  tally.messages = previous.messages
  tally.inserted = previous.inserted
  const last = await imports.findLastChatLogId(db)
  await inIdRanges(claim.after_id, last, batchRows, async (from, to) => {
    await imports.remapImportedChatLogs(db, sessionId, claim.id, from, to)
    for (const vote of await imports.listImportedVotes(db, claim.id, from, to)) {
      tally.count(vote.session_game_id, vote.vote_type, vote.username, vote.message, vote.timestamp.toISOString())
    }
  })
  return tally
}

const sameTimeline = (a: TimelineEntry[], b: TimelineEntry[]) => a.length === b.length &&
  a.every((entry, i) => entry.id === b[i].id && entry.played_at.getTime() === b[i].played_at.getTime())

/**
 * The commit: in one short transaction, the games' counters grow by the import's new votes and its chat_imports row
 * goes, which makes its rows visible. The session's state and games are locked first (not against votes), so the
 * timeline the votes were counted on is still the session's; when it is not, the rows are mapped and counted again.
 */
export async function commit (db: Kysely<Database>, sessionId: number, claim: imports.ChatImportClaim, tally: ImportTally, owner: string, batchRows: number) {
  for (let attempt = 1; ; attempt++) {
    let changed: TimelineEntry[] | undefined
    try {
      changed = await db.transaction().execute(async (trx) => {
        if (!await imports.lockSessionForImport(trx, sessionId)) throw new SessionNotFound()
        await imports.lockSessionGames(trx, sessionId)
        const timeline = await loadTimeline(trx, sessionId)
        if (tally.stale || !sameTimeline(timeline, tally.timeline)) return timeline
        await addGameVotes(trx, tally.byGame())
        // Abandoned by another process (this one stopped renewing for a lease's length): its rows never show.
        if (!await imports.deleteChatImport(trx, claim.id, owner)) throw new Error('the chat import was abandoned before its commit')
        return undefined
      })
    } catch (err) {
      if (isDeadlock(err) && attempt < 5) continue
      throw err
    }
    if (!changed) return tally
    if (changed.length === 0) throw new NoGamesPlayed()
    tally = await recount(db, sessionId, claim, changed, tally, batchRows)
  }
}
