import type { Token } from 'stream-json/parser.js'
import { ChatLogInvalid } from './errors.ts'

// The chat log's rows from stream-json's tokens: a state machine over `{"chatData": [{...}, ...]}` that checks each row
// as it closes, so the first bad row is named with its index.

export interface ChatMessage {
  username: string
  message: string
  timestamp: Date
}

// ISO-8601 date-times: `T` or a space, optional seconds and fraction, optional zone (none means UTC).
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$/
const ZONE = /(?:Z|[+-]\d{2}:?\d{2})$/

// Tests rather than a match, and no copies of a valid `T` date-time: this runs for every message of a log.
function parseTimestamp (value: unknown): Date | undefined {
  if (typeof value !== 'string' || !ISO_DATE_TIME.test(value)) return undefined
  const iso = value.charCodeAt(10) === 32 ? `${value.slice(0, 10)}T${value.slice(11)}` : value
  const date = new Date(ZONE.test(value) ? iso : `${iso}Z`)
  return Number.isNaN(date.getTime()) ? undefined : date
}

// A field whose value is an object or an array: never a valid username, message or timestamp.
const NESTED = Symbol('nested')

const at = (i: number) => `chatData[${i}]`

/** One row's fields as a message, or a 400 naming its index. */
function readRow (i: number, username: unknown, message: unknown, timestamp: unknown): ChatMessage {
  if (username === undefined || username === null || username === '') throw new ChatLogInvalid(`${at(i)}.username is required`)
  if (typeof username !== 'string') throw new ChatLogInvalid(`${at(i)}.username must be a string`)
  if (username.includes('\u0000')) throw new ChatLogInvalid(`${at(i)}.username must not contain a NUL character`)
  if (message === undefined || message === null) throw new ChatLogInvalid(`${at(i)}.message is required`)
  if (typeof message !== 'string') throw new ChatLogInvalid(`${at(i)}.message must be a string`)
  if (message.includes('\u0000')) throw new ChatLogInvalid(`${at(i)}.message must not contain a NUL character`)
  if (timestamp === undefined || timestamp === null) throw new ChatLogInvalid(`${at(i)}.timestamp is required`)
  const date = parseTimestamp(timestamp)
  if (!date) throw new ChatLogInvalid(`${at(i)}.timestamp is not a valid timestamp`)
  return { username, message, timestamp: date }
}

const NOT_AN_ARRAY = 'chatData must be an array'

/**
 * Turns stream-json tokens into checked messages. Depth 1 is the body object (chatData is its only field), 2 the
 * chatData array, 3 a row; only a row's own scalar fields are kept, anything nested in a row is skipped. The rows wait
 * in `ready`.
 */
export class ChatRows {
  ready: ChatMessage[] = []
  private depth = 0
  private key: string | null = null
  private inChatData = false
  private seenChatData = false
  private index = 0
  // The fields of the row being read (any other field is ignored).
  private username: unknown
  private message: unknown
  private timestamp: unknown
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
      this.key = token.value
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
        this.username = this.message = this.timestamp = undefined
        this.depth = 3
        return
      }
      throw new ChatLogInvalid(`${at(this.index)} must be an object`) // a scalar or an array
    }
    // depth 3: a row's field
    if (closes) {
      this.depth = 2
      this.ready.push(readRow(this.index++, this.username, this.message, this.timestamp))
      return
    }
    if (opens) {
      this.field(NESTED)
      this.skip(true)
      return
    }
    this.field(scalar(token))
  }

  private field (value: unknown) {
    switch (this.key) {
      case 'username': this.username = value; break
      case 'message': this.message = value; break
      case 'timestamp': this.timestamp = value; break
    }
  }

  /** The body ended: it must have been one complete object with chatData. */
  finish () {
    if (this.depth !== 0 || !this.seenChatData) throw new ChatLogInvalid(NOT_AN_ARRAY)
  }

  /** The first `max` ready rows: a chunk that held more (a body sent at once) still makes statements of `max` rows. */
  take (max: number): ChatMessage[] {
    if (this.ready.length <= max) {
      const rows = this.ready
      this.ready = []
      return rows
    }
    return this.ready.splice(0, max)
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
