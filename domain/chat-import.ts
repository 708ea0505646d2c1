import { hash } from 'node:crypto'
import type { Readable } from 'node:stream'
import { errorCodes } from 'fastify'
import type { Kysely } from 'kysely'
import Parser from 'stream-json/Parser.js'
import { addGameVotes, insertChatLogs, type ChatLogBatch } from '../db/chat-logs.ts'
import { lockSession } from '../db/sessions.ts'
import { entryAt, loadTimeline, type TimelineEntry } from '../db/timeline.ts'
import type { Database, VoteType } from '../db/types.ts'
import { ChatLogInvalid, NoGamesPlayed, SessionNotFound } from './errors.ts'

// A chat import reads the `{"chatData": [...]}` body as it arrives (stream-json's token stream, one row at a time)
// and writes it in batches inside one transaction, so memory does not grow with the size of the log and a bad row
// anywhere still leaves nothing stored.

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
// Rows per INSERT: each column travels as one array parameter, so this bounds statement size, not parameter count.
const BATCH = 5000

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

// ISO-8601 date-times: `T` or a space, optional seconds and fraction, optional zone (none means UTC).
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/

function parseTimestamp (value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined
  const match = ISO_DATE_TIME.exec(value)
  if (!match) return undefined
  const date = new Date(match[3] ? value.replace(' ', 'T') : `${value.replace(' ', 'T')}Z`)
  return Number.isNaN(date.getTime()) ? undefined : date
}

// A field whose value is an object or an array: never a valid username, message or timestamp.
const NESTED = Symbol('nested')

/** One row as a message, or a 400 naming its index. */
function readRow (i: number, row: Record<string, unknown> | undefined): ChatMessage {
  const at = `chatData[${i}]`
  if (row === undefined) throw new ChatLogInvalid(`${at} must be an object`)
  const { username, message, timestamp } = row
  if (username === undefined || username === null || username === '') throw new ChatLogInvalid(`${at}.username is required`)
  if (typeof username !== 'string') throw new ChatLogInvalid(`${at}.username must be a string`)
  if (username.includes('\u0000')) throw new ChatLogInvalid(`${at}.username must not contain a NUL character`)
  if (message === undefined || message === null) throw new ChatLogInvalid(`${at}.message is required`)
  if (typeof message !== 'string') throw new ChatLogInvalid(`${at}.message must be a string`)
  if (message.includes('\u0000')) throw new ChatLogInvalid(`${at}.message must not contain a NUL character`)
  if (timestamp === undefined || timestamp === null) throw new ChatLogInvalid(`${at}.timestamp is required`)
  const date = parseTimestamp(timestamp)
  if (!date) throw new ChatLogInvalid(`${at}.timestamp is not a valid timestamp`)
  return { username, message, timestamp: date }
}

interface Token { name: string, value?: string }

const NOT_AN_ARRAY = 'chatData must be an array'

/**
 * Turns stream-json tokens into checked messages. Depth 1 is the body object (chatData is its only field), 2 the
 * chatData array, 3 a row; only a row's own scalar fields are kept, anything nested in a row is skipped. The rows wait
 * in `ready`.
 */
class ChatRows {
  ready: ChatMessage[] = []
  private depth = 0
  private key: string | null = null
  private inChatData = false
  private seenChatData = false
  private index = 0
  private row: Record<string, unknown> | undefined
  // Depth at which a skipped value (an object or array in a row's field) ends.
  private skipUntil = -1

  push (token: Token) {
    const { name } = token
    const opens = name === 'startObject' || name === 'startArray'
    const closes = name === 'endObject' || name === 'endArray'
    if (this.skipUntil >= 0) {
      if (opens) this.depth++
      else if (closes) this.depth--
      if (this.depth === this.skipUntil) this.valueDone()
      return
    }
    if (name === 'keyValue') {
      this.key = token.value!
      return
    }
    if (this.depth === 0) {
      if (name !== 'startObject') throw new ChatLogInvalid(NOT_AN_ARRAY)
      this.depth = 1
      return
    }
    if (this.depth === 1) {
      if (closes) {
        this.depth = 0
        if (!this.seenChatData) throw new ChatLogInvalid(NOT_AN_ARRAY)
        return
      }
      if (this.key === 'chatData') {
        if (this.seenChatData) throw new ChatLogInvalid('chatData must appear once')
        if (name !== 'startArray') throw new ChatLogInvalid(NOT_AN_ARRAY)
        this.seenChatData = this.inChatData = true
        this.depth = 2
        return
      }
      throw new ChatLogInvalid(`Unknown field '${this.key}' in the request body`)
    }
    if (this.depth === 2) {
      if (closes) {
        this.inChatData = false
        this.depth = 1
        return
      }
      if (name === 'startObject') {
        this.row = {}
        this.depth = 3
        return
      }
      readRow(this.index, undefined) // a scalar or an array: throws
    }
    // depth 3: a row's field
    if (closes) {
      this.depth = 2
      this.ready.push(readRow(this.index++, this.row))
      this.row = undefined
      return
    }
    const key = this.key!
    if (opens) {
      this.row![key] = NESTED
      this.skip(true)
      return
    }
    this.row![key] = scalar(token)
  }

  /** The body ended: it must have been one complete object with chatData. */
  finish () {
    if (this.depth !== 0 || !this.seenChatData) throw new ChatLogInvalid(NOT_AN_ARRAY)
  }

  take (): ChatMessage[] {
    const rows = this.ready
    this.ready = []
    return rows
  }

  private skip (opens: boolean) {
    if (!opens) return // a scalar: nothing more to skip
    this.skipUntil = this.depth
    this.depth++
  }

  private valueDone () {
    this.skipUntil = -1
  }
}

function scalar (token: Token): unknown {
  switch (token.name) {
    case 'stringValue': return token.value
    case 'numberValue': return Number(token.value)
    case 'trueValue': return true
    case 'falseValue': return false
    default: return null
  }
}

/**
 * The body's rows in batches, read as they arrive. Reading pauses while the consumer works on a batch, so at most a
 * couple of batches are in memory. Throws a 400 on the first bad row or on broken JSON, a 413 past `limit` bytes.
 */
async function * readChatLog (body: Readable, limit: number): AsyncGenerator<ChatMessage[]> {
  // Chunks are decoded to text as they arrive, so the socket's buffers die young instead of waiting in the streams'
  // queues (and being promoted) while a batch is written.
  body.setEncoding('utf8')
  const tokens = new Parser({
    decodeStrings: false, packKeys: true, packStrings: true, packNumbers: true, streamKeys: false, streamStrings: false, streamNumbers: false
  })
  const rows = new ChatRows()
  let failure: unknown
  let ended = false
  let wake: (() => void) | undefined
  const notify = () => {
    const resolve = wake
    wake = undefined
    resolve?.()
  }
  const fail = (err: unknown) => {
    failure ??= err
    notify()
  }
  // Tokens go straight to the rows as the parser makes them instead of through the stream's readable side: an object
  // per token queued and emitted there cost more than the parsing. So the parser never pushes back; the body is paused
  // instead while a full batch waits.
  tokens.push = (token: Token | null) => {
    if (token === null) {
      ended = true
      notify()
    } else if (!failure) {
      try {
        rows.push(token)
      } catch (err) {
        fail(err)
      }
    }
    return true
  }
  tokens.on('error', (err: Error) => fail(new ChatLogInvalid(`The body is not valid JSON: ${err.message.replace(/^Parser cannot parse input: /, '')}`)))
  let received = 0
  const onData = (chunk: string) => {
    received += Buffer.byteLength(chunk)
    if (received > limit) fail(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE())
    if (failure) return
    tokens.write(chunk)
    if (rows.ready.length >= BATCH) {
      body.pause()
      notify()
    }
  }
  const onEnd = () => tokens.end()
  body.on('data', onData)
  body.on('end', onEnd)
  body.on('error', fail)
  try {
    for (;;) {
      if (failure) throw failure
      if (rows.ready.length >= BATCH || (ended && rows.ready.length)) {
        yield rows.take()
        body.resume()
        continue
      }
      if (ended) break
      await new Promise<void>((resolve) => { wake = resolve })
    }
    rows.finish()
  } finally {
    body.off('data', onData)
    body.off('end', onEnd)
    body.pause()
    tokens.destroy()
  }
}

/** Hands each batch's columns to the database, keeping the counters and the first vote matches. */
class ImportTally {
  messages = 0
  inserted = 0
  voteMatches: VoteMatch[] = []
  private readonly bySessionGame = new Map<number, { up: number, down: number }>()

  constructor (private readonly timeline: TimelineEntry[]) {}

  async write (trx: Kysely<Database>, sessionId: number, messages: ChatMessage[]) {
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
      batch.sessionGameIds[i] = entryAt(this.timeline, m.timestamp)?.id ?? null
      batch.usernames[i] = m.username
      batch.messages[i] = m.message
      batch.timestamps[i] = iso
      batch.voteTypes[i] = voteTypeOf(m.message)
      batch.hashes[i] = hashOf(m.username, m.message, iso)
    }
    const stored = await insertChatLogs(trx, sessionId, batch)
    this.messages += n
    this.inserted += stored.inserted
    if (stored.votes.length === 0) return
    // The new votes that fell into a game, in log order; a row repeated within the batch is stored and counted once.
    const counted = new Set(stored.votes)
    for (let i = 0; i < n; i++) {
      if (!counted.delete(batch.hashes[i])) continue
      const id = batch.sessionGameIds[i]!
      const voteType = batch.voteTypes[i]!
      const count = this.bySessionGame.get(id) ?? { up: 0, down: 0 }
      if (voteType === 'up') count.up++
      else count.down++
      this.bySessionGame.set(id, count)
      if (this.voteMatches.length === VOTE_MATCH_LIMIT) continue
      const entry = entryAt(this.timeline, messages[i].timestamp)!
      this.voteMatches.push({
        username: batch.usernames[i],
        message: batch.messages[i],
        timestamp: batch.timestamps[i],
        vote_type: voteType,
        session_game_id: entry.id,
        game_id: entry.game_id,
        title: entry.title
      })
    }
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

/**
 * Imports a chat log read from `body` into a session, in one transaction: every message is stored with the game its
 * timestamp falls into (the shared timeline rule); a message already stored for this session (same hash) is skipped,
 * and only the votes this import newly stored move the games' counters. A bad row rejects the whole import.
 */
export async function importChatLog (db: Kysely<Database>, sessionId: number, body: Readable, limit = CHAT_IMPORT_BODY_LIMIT): Promise<ChatImportOutcome> {
  return db.transaction().execute(async (trx) => {
    // Imports into one session take turns, so the counters of concurrent imports never race.
    if (!await lockSession(trx, sessionId)) throw new SessionNotFound()
    const timeline = await loadTimeline(trx, sessionId)
    if (timeline.length === 0) throw new NoGamesPlayed()

    const tally = new ImportTally(timeline)
    // One batch is written while the next is read.
    let writing: Promise<void> | undefined
    for await (const messages of readChatLog(body, limit)) {
      await writing
      writing = tally.write(trx, sessionId, messages)
      writing.catch(() => {}) // awaited (and thrown) on the next turn or below
    }
    await writing

    const votesByGame = tally.byGame()
    await addGameVotes(trx, votesByGame)
    return {
      messagesImported: tally.inserted,
      duplicatesSkipped: tally.messages - tally.inserted,
      votesProcessed: votesByGame.reduce((sum, c) => sum + c.upvotes + c.downvotes, 0),
      votesByGame,
      timeline,
      voteMatches: tally.voteMatches
    }
  })
}
