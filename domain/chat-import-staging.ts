import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'
import type { Readable } from 'node:stream'
import type { Kysely } from 'kysely'
import { int4Array, textArray, timestamptzArray } from '../db/binary-arrays.ts'
import { insertChatLogs, type ChatLogBatch } from '../db/chat-logs.ts'
import * as imports from '../db/chat-imports.ts'
import { findSession } from '../db/sessions.ts'
import { entryAt, loadTimeline, type TimelineEntry } from '../db/timeline.ts'
import type { Database, VoteType } from '../db/types.ts'
import { hashOf, voteTypeOf, type ImportTally } from './chat-import-tally.ts'
import type { ChatMessage } from './chat-rows.ts'
import { ChatLogInvalid, SessionNotFound } from './errors.ts'

// Where a chat import keeps its body until the commit: rows of chat_logs marked with the import's id, invisible while
// its chat_imports row exists. An import takes the session's turn (its claim, renewed while it runs), writes its batches
// in short statements, and deletes its rows in bounded steps when it fails.

// How long an import's row stays claimed without renewal: its process renews it every third of this.
export const LEASE_MS = 30_000

/** A vote among a batch's messages: what the tally needs of it if the write newly stores it. */
interface BatchVote {
  index: number
  hash: string
  username: string
  message: string
  iso: string
  voteType: VoteType
}

/** A batch of messages as the columns of their rows, mapped to the games of `timeline`. */
export interface PreparedBatch {
  columns: ChatLogBatch
  timeline: TimelineEntry[]
  sessionGameIds: (number | null)[]
  /** Each message's instant in ms, to map the batch again when the timeline changes. */
  times: Float64Array
  votes: BatchVote[]
  binary: boolean
}

/**
 * The columns of one batch of messages, done while the batch before it is being written: most of the import's own
 * work (a hash per message). `binary`: the columns are encoded at once in PostgreSQL's binary format (a server), so
 * the batch waits for its write as a few buffers rather than as thousands of strings for the garbage collector to
 * move; only its votes are kept as strings, for the tally.
 */
export function prepareBatch (tally: ImportTally, messages: ChatMessage[], binary: boolean): PreparedBatch {
  const n = messages.length
  const sessionGameIds = new Array<number | null>(n)
  const usernames = new Array<string>(n)
  const texts = new Array<string>(n)
  const isos = new Array<string>(n)
  const voteTypes = new Array<VoteType | null>(n)
  const hashes = new Array<string>(n)
  const times = new Float64Array(n)
  const votes: BatchVote[] = []
  for (let i = 0; i < n; i++) {
    const { username, message, timestamp } = messages[i]
    const iso = timestamp.toISOString()
    const voteType = voteTypeOf(message)
    const hash = hashOf(username, message, iso)
    usernames[i] = username
    texts[i] = message
    isos[i] = iso
    voteTypes[i] = voteType
    hashes[i] = hash
    times[i] = timestamp.getTime()
    sessionGameIds[i] = entryAt(tally.timeline, timestamp)?.id ?? null
    if (voteType !== null) votes.push({ index: i, hash, username, message, iso, voteType })
  }
  const columns: ChatLogBatch = binary
    ? {
        sessionGameIds: int4Array(sessionGameIds),
        usernames: textArray(usernames),
        messages: textArray(texts),
        timestamps: timestamptzArray(times),
        voteTypes: textArray(voteTypes),
        hashes: textArray(hashes)
      }
    : { sessionGameIds, usernames, messages: texts, timestamps: isos, voteTypes, hashes }
  return { columns, timeline: tally.timeline, sessionGameIds, times, votes, binary }
}

function mapToTimeline (batch: PreparedBatch, timeline: TimelineEntry[]) {
  batch.timeline = timeline
  for (let i = 0; i < batch.times.length; i++) batch.sessionGameIds[i] = entryAt(timeline, new Date(batch.times[i]))?.id ?? null
  batch.columns.sessionGameIds = batch.binary ? int4Array(batch.sessionGameIds) : batch.sessionGameIds
}

/** Writes one prepared batch as rows of the import, counting the votes it newly stored. */
export async function writeBatch (db: Kysely<Database>, sessionId: number, importId: number, tally: ImportTally, batch: PreparedBatch) {
  let stored
  for (;;) {
    // The timeline was read again while this batch waited (see below).
    if (batch.timeline !== tally.timeline) mapToTimeline(batch, tally.timeline)
    try {
      stored = await insertChatLogs(db, sessionId, importId, batch.columns)
      break
    } catch (err) {
      if (!isForeignKeyViolation(err)) throw err
    }
    // The session, or one of its games, was deleted meanwhile: map this batch to the timeline as it is now, and count
    // every vote again at the commit.
    if (!await findSession(db, sessionId)) throw new SessionNotFound()
    tally.timeline = await loadTimeline(db, sessionId)
    tally.stale = true
  }
  tally.messages += batch.times.length
  tally.inserted += stored.inserted
  if (stored.votes.length === 0) return
  // The new votes that fell into a game, in log order; a row repeated within the log is stored and counted once.
  const counted = new Set(stored.votes)
  for (const vote of batch.votes) {
    if (!counted.delete(vote.hash)) continue
    tally.count(batch.sessionGameIds[vote.index]!, vote.voteType, vote.username, vote.message, vote.iso)
  }
}

export const isForeignKeyViolation = (err: unknown) => (err as { code?: string }).code === '23503'
/** Calls `step(from, to)` for consecutive id ranges of `size` covering (after, last]. */
export async function inIdRanges (after: number, last: number, size: number, step: (from: number, to: number) => Promise<void>) {
  for (let from = after; from < last; from += size) {
    if (from > after) await nextTurn() // other requests' statements get in between (see chat-import.ts)
    await step(from, Math.min(from + size, last))
  }
}

/** Opens the session's import for `owner`, waiting while another import into it runs. */
export async function takeTurn (db: Kysely<Database>, sessionId: number, body: Readable, owner: string, batchRows: number) {
  for (let delay = 10; ; delay = Math.min(delay * 2, 250)) {
    if (body.destroyed && !body.readableEnded) throw new ChatLogInvalid('The body ended before the end of the chat log')
    let claim: imports.ChatImportClaim | undefined
    try {
      claim = await imports.insertChatImport(db, sessionId, owner, LEASE_MS)
    } catch (err) {
      if (isForeignKeyViolation(err)) throw new SessionNotFound()
      throw err
    }
    if (claim) return claim
    // An import whose process stopped renewing it (it died) is abandoned: its rows stay invisible, and are deleted.
    const stale = await imports.abandonExpiredChatImport(db, sessionId)
    if (stale) {
      await deleteRows(db, stale, batchRows)
      continue
    }
    await sleep(delay)
  }
}

export async function deleteRows (db: Kysely<Database>, claim: imports.ChatImportClaim, batchRows: number) {
  const last = await imports.findLastChatLogId(db)
  await inIdRanges(claim.after_id, last, batchRows, (from, to) => imports.deleteImportedChatLogs(db, claim.id, from, to))
}
