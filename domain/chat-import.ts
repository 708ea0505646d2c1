import type { Readable } from 'node:stream'
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Kysely } from 'kysely'
import * as imports from '../db/chat-imports.ts'
import { findSession } from '../db/sessions.ts'
import { loadTimeline, type TimelineEntry } from '../db/timeline.ts'
import type { Database } from '../db/types.ts'
import { commit } from './chat-import-commit.ts'
import { deleteRows, LEASE_MS, prepareBatch, takeTurn, writeBatch } from './chat-import-staging.ts'
import { ImportTally, type GameVoteCount, type VoteMatch } from './chat-import-tally.ts'
import { readChatLog } from './chat-log-reader.ts'
import { NoGamesPlayed, SessionNotFound } from './errors.ts'

// A chat import never holds a transaction, a lock or a connection while it waits for its client. It reads the body as
// it arrives (chat-log-reader.ts, rows checked in chat-rows.ts) and writes it in batches, each its own short statement,
// as rows of chat_logs marked with the import's id (chat-import-staging.ts): they stay invisible while the import's
// chat_imports row exists. Once the body is in, one short transaction adds the votes counted in chat-import-tally.ts to
// the games' counters and deletes that row, which makes the rows visible (chat-import-commit.ts): the import is atomic. A failed import deletes its rows in bounded steps before it answers; an
// import whose process died is cleaned up by the next import into the session.

export interface ChatImportOutcome {
  messagesImported: number
  duplicatesSkipped: number
  votesProcessed: number
  votesByGame: GameVoteCount[]
  timeline: TimelineEntry[]
  voteMatches: VoteMatch[]
}

/** The largest chat log body accepted (about 1.8 million messages). */
export const CHAT_IMPORT_BODY_LIMIT = 200 * 1024 * 1024
// Rows per INSERT on a server: each column travels as one array parameter, so this bounds statement size, not
// parameter count. The embedded database (PGlite, on the main thread) takes fewer, so that no statement holds it long.
export const CHAT_IMPORT_BATCH_ROWS = 5000

export interface ChatImportOptions {
  /** This process, as it names itself to the others sharing the database. */
  owner: string
  /** The largest body accepted, in bytes. */
  limit?: number
  /** Rows per statement. */
  batchRows?: number
  /** The database is the embedded one (PGlite), which takes array parameters as text only. */
  embedded: boolean
}

/**
 * Imports a chat log read from `body` into a session: every message is stored with the game its timestamp falls into
 * (the shared timeline rule); a message already stored for this session (same hash) is skipped, and only the votes
 * this import newly stored move the games' counters. A bad row rejects the whole import and nothing of it stays.
 * Imports into one session take turns, so their counters never race.
 */
export async function importChatLog (db: Kysely<Database>, sessionId: number, body: Readable, options: ChatImportOptions): Promise<ChatImportOutcome> {
  const opts = { limit: CHAT_IMPORT_BODY_LIMIT, batchRows: CHAT_IMPORT_BATCH_ROWS, ...options }
  // Answered before the body is read.
  if (!await findSession(db, sessionId)) throw new SessionNotFound()
  if ((await loadTimeline(db, sessionId)).length === 0) throw new NoGamesPlayed()

  const claim = await takeTurn(db, sessionId, body, opts.owner, opts.batchRows)
  const renewal = setInterval(() => { imports.renewChatImport(db, claim.id, opts.owner, LEASE_MS).catch(() => {}) }, LEASE_MS / 3).unref()
  // One batch is written while the next is read and made into columns.
  let writing: Promise<void> | undefined
  try {
    // The timeline as the import began, read after taking the turn; the commit checks it is still the session's.
    let tally = new ImportTally(await loadTimeline(db, sessionId))
    for await (const messages of readChatLog(body, opts.limit, opts.batchRows)) {
      const batch = prepareBatch(tally, messages, !opts.embedded)
      await writing
      // A turn of the event loop first: on the embedded database each statement runs on this thread, and the next one
      // would otherwise start in the same run of microtasks, before any other request is even read.
      await nextTurn()
      writing = writeBatch(db, sessionId, claim.id, tally, batch)
      writing.catch(() => {}) // awaited (and thrown) on the next turn or below
    }
    await writing
    tally = await commit(db, sessionId, claim, tally, opts.owner, opts.batchRows)
    const votesByGame = tally.byGame()
    return {
      messagesImported: tally.inserted,
      duplicatesSkipped: tally.messages - tally.inserted,
      votesProcessed: votesByGame.reduce((sum, c) => sum + c.upvotes + c.downvotes, 0),
      votesByGame,
      timeline: tally.timeline,
      voteMatches: tally.voteMatches
    }
  } catch (err) {
    try {
      await writing?.catch(() => {})
      await deleteRows(db, claim, opts.batchRows)
      await imports.deleteChatImport(db, claim.id, opts.owner)
    } catch {
      // The database is away: the import's rows stay invisible, and the next import into the session deletes them.
    }
    throw err
  } finally {
    clearInterval(renewal)
  }
}
