import { hash } from 'node:crypto'
import type { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Kysely } from 'kysely'
import { addGameVotes, insertChatLogs, type ChatLogBatch } from '../db/chat-logs.ts'
import * as imports from '../db/chat-imports.ts'
import { findSession } from '../db/sessions.ts'
import { entryAt, loadTimeline, type TimelineEntry } from '../db/timeline.ts'
import type { Database, VoteType } from '../db/types.ts'
import { readChatLog, type ChatMessage } from './chat-log-reader.ts'
import { ChatLogInvalid, NoGamesPlayed, SessionNotFound } from './errors.ts'

// A chat import never holds a transaction, a lock or a connection while it waits for its client. It reads the body as
// it arrives (domain/chat-log-reader.ts) and writes it in batches, each its own short statement, as rows of chat_logs
// marked with the import's id: they stay invisible while the import's chat_imports row exists (db/chat-imports.ts).
// Once the body is in, one short transaction adds the votes to the games' counters and deletes that row, which makes
// the rows visible: the import is atomic. A failed import deletes its rows in bounded steps before it answers; an
// import whose process died is cleaned up by the next import into the session.

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

export interface ChatImportOutcome {
  messagesImported: number
  duplicatesSkipped: number
  votesProcessed: number
  votesByGame: GameVoteCount[]
  timeline: TimelineEntry[]
  voteMatches: VoteMatch[]
}

/** How many counted votes an import echoes back in debug.voteMatches. */
export const VOTE_MATCH_LIMIT = 100
/** The largest chat log body accepted (about 1.8 million messages). */
export const CHAT_IMPORT_BODY_LIMIT = 200 * 1024 * 1024
// Rows per INSERT on a server: each column travels as one array parameter, so this bounds statement size, not
// parameter count. The embedded database (PGlite, on the main thread) takes fewer, so that no statement holds it long.
export const CHAT_IMPORT_BATCH_ROWS = 5000
// How long an import's row stays claimed without renewal: its process renews it every third of this.
const LEASE_MS = 30_000

const VOTE = /thisgame(\+\+|--)/i

/** thisgame++ is up, thisgame-- is down, case-insensitive; when a message has both, the first one wins. */
export function voteTypeOf (message: string): VoteType | null {
  // The leftmost match of either; no lower-cased copy of every message.
  const match = VOTE.exec(message)
  return match === null ? null : match[1] === '++' ? 'up' : 'down'
}

/** The dedupe key: SHA-256 of username:message:timestamp, with the timestamp as ISO-8601 (ms, UTC). */
export function messageHash (username: string, message: string, timestamp: Date): string {
  return hashOf(username, message, timestamp.toISOString())
}

// crypto.hash, one call per message: a Hash object per message (createHash) costs more than the hashing.
const hashOf = (username: string, message: string, iso: string) => hash('sha256', `${username}:${message}:${iso}`, 'hex')

/** The new votes of an import, counted per session game, and the first few echoed back. */
class ImportTally {
  messages = 0
  inserted = 0
  voteMatches: VoteMatch[] = []
  /** The counts are not to be trusted: the timeline changed after rows were mapped (see recount). */
  stale = false
  private readonly bySessionGame = new Map<number, { up: number, down: number }>()

  constructor (public timeline: TimelineEntry[]) {}

  /** One newly stored vote that fell into session game `sessionGameId`, in log order. */
  count (sessionGameId: number, voteType: VoteType, username: string, message: string, iso: string) {
    const count = this.bySessionGame.get(sessionGameId) ?? { up: 0, down: 0 }
    if (voteType === 'up') count.up++
    else count.down++
    this.bySessionGame.set(sessionGameId, count)
    if (this.voteMatches.length === VOTE_MATCH_LIMIT) return
    const entry = this.timeline.find((e) => e.id === sessionGameId)!
    this.voteMatches.push({ username, message, timestamp: iso, vote_type: voteType, session_game_id: entry.id, game_id: entry.game_id, title: entry.title })
  }

  /** The counted votes per game, in game id order. */
  byGame (): GameVoteCount[] {
    const byGame = new Map<number, GameVoteCount>()
    for (const entry of this.timeline) {
      const count = this.bySessionGame.get(entry.id)
      if (!count) continue
      let game = byGame.get(entry.game_id)
      if (!game) byGame.set(entry.game_id, game = { game_id: entry.game_id, title: entry.title, upvotes: 0, downvotes: 0 })
      game.upvotes += count.up
      game.downvotes += count.down
    }
    return [...byGame.values()].sort((a, b) => a.game_id - b.game_id)
  }
}

/** Writes one batch of messages as rows of the import, counting the votes it newly stored. */
async function writeBatch (db: Kysely<Database>, sessionId: number, importId: number, tally: ImportTally, messages: ChatMessage[]) {
  const n = messages.length
  const batch: ChatLogBatch = {
    sessionGameIds: new Array<number | null>(n),
    usernames: new Array<string>(n),
    messages: new Array<string>(n),
    timestamps: new Array<string>(n),
    voteTypes: new Array<VoteType | null>(n),
    hashes: new Array<string>(n)
  }
  for (let i = 0; i < n; i++) {
    const m = messages[i]
    const iso = m.timestamp.toISOString()
    batch.usernames[i] = m.username
    batch.messages[i] = m.message
    batch.timestamps[i] = iso
    batch.voteTypes[i] = voteTypeOf(m.message)
    batch.hashes[i] = hashOf(m.username, m.message, iso)
  }
  let stored
  for (;;) {
    for (let i = 0; i < n; i++) batch.sessionGameIds[i] = entryAt(tally.timeline, messages[i].timestamp)?.id ?? null
    try {
      stored = await insertChatLogs(db, sessionId, importId, batch)
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
  tally.messages += n
  tally.inserted += stored.inserted
  if (stored.votes.length === 0) return
  // The new votes that fell into a game, in log order; a row repeated within the log is stored and counted once.
  const counted = new Set(stored.votes)
  for (let i = 0; i < n; i++) {
    if (!counted.delete(batch.hashes[i])) continue
    tally.count(batch.sessionGameIds[i]!, batch.voteTypes[i]!, batch.usernames[i], batch.messages[i], batch.timestamps[i])
  }
}

const isForeignKeyViolation = (err: unknown) => (err as { code?: string }).code === '23503'
const isDeadlock = (err: unknown) => ['40P01', '40001'].includes((err as { code?: string }).code ?? '')

/** Calls `step(from, to)` for consecutive id ranges of `size` covering (after, last]. */
async function inIdRanges (after: number, last: number, size: number, step: (from: number, to: number) => Promise<void>) {
  for (let from = after; from < last; from += size) await step(from, Math.min(from + size, last))
}

export interface ChatImportOptions {
  /** This process, as it names itself to the others sharing the database. */
  owner: string
  /** The largest body accepted, in bytes. */
  limit?: number
  /** Rows per statement. */
  batchRows?: number
}

/** Opens the session's import for `owner`, waiting while another import into it runs. */
async function takeTurn (db: Kysely<Database>, sessionId: number, body: Readable, { owner, batchRows }: Required<ChatImportOptions>) {
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

async function deleteRows (db: Kysely<Database>, claim: imports.ChatImportClaim, batchRows: number) {
  const last = await imports.findLastChatLogId(db)
  await inIdRanges(claim.after_id, last, batchRows, (from, to) => imports.deleteImportedChatLogs(db, claim.id, from, to))
}

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
async function commit (db: Kysely<Database>, sessionId: number, claim: imports.ChatImportClaim, tally: ImportTally, options: Required<ChatImportOptions>) {
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
        if (!await imports.deleteChatImport(trx, claim.id, options.owner)) throw new Error('the chat import was abandoned before its commit')
        return undefined
      })
    } catch (err) {
      if (isDeadlock(err) && attempt < 5) continue
      throw err
    }
    if (!changed) return tally
    if (changed.length === 0) throw new NoGamesPlayed()
    tally = await recount(db, sessionId, claim, changed, tally, options.batchRows)
  }
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

  const claim = await takeTurn(db, sessionId, body, opts)
  const renewal = setInterval(() => { imports.renewChatImport(db, claim.id, opts.owner, LEASE_MS).catch(() => {}) }, LEASE_MS / 3).unref()
  // One batch is written while the next is read.
  let writing: Promise<void> | undefined
  try {
    // The timeline as the import began, read after taking the turn; the commit checks it is still the session's.
    let tally = new ImportTally(await loadTimeline(db, sessionId))
    for await (const messages of readChatLog(body, opts.limit, opts.batchRows)) {
      await writing
      writing = writeBatch(db, sessionId, claim.id, tally, messages)
      writing.catch(() => {}) // awaited (and thrown) on the next turn or below
    }
    await writing
    tally = await commit(db, sessionId, claim, tally, opts)
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
