import type { Readable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import { errorCodes, type FastifyRequest } from 'fastify'

// A JSON body read as it arrives instead of collected and parsed at once: Fastify's parser decodes and parses a
// 5 MB body in one go, holding the event loop for tens of milliseconds. Here each chunk is decoded and parsed when it
// comes in (its own turn of the event loop), so other requests are served in between.

const enum State { Start, ObjectOpen, NextKey, Key, AfterKey, BeforeValue, String, Raw, AfterValue, Done, RawTop }

const QUOTE = 34
const BACKSLASH = 92
const isSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9

class InvalidJson extends SyntaxError {}

// Fastify's onProtoPoisoning and onConstructorPoisoning ('error' by default): such a body is not valid JSON.
function checkMember (key: string, value: unknown) {
  if (key === '__proto__') throw new InvalidJson('Object contains forbidden prototype property')
  if (key === 'constructor' && value !== null && typeof value === 'object' && Object.hasOwn(value, 'prototype')) {
    throw new InvalidJson('Object contains forbidden prototype property')
  }
}

function parseValue (text: string): unknown {
  return JSON.parse(text, (key, value) => {
    checkMember(key, value)
    return value
  })
}

/** The index of the first unescaped `"` in `s` at or after `from` (`s` starts outside any escape), or -1. */
function closingQuote (s: string, from: number): number {
  for (let q = s.indexOf('"', from); q !== -1; q = s.indexOf('"', q + 1)) {
    let slashes = 0
    while (q - slashes - 1 >= 0 && s.charCodeAt(q - slashes - 1) === BACKSLASH) slashes++
    if (slashes % 2 === 0) return q
  }
  return -1
}

/** The longest prefix of string-literal text `s` (which starts outside any escape) that ends outside an escape. */
function completeEscapes (s: string): number {
  const n = s.length
  let slashes = 0
  while (slashes < n && s.charCodeAt(n - 1 - slashes) === BACKSLASH) slashes++
  if (slashes % 2 === 1) return n - 1
  // A `\u` escape missing some of its four hex digits.
  for (let p = Math.max(0, n - 5); p < n - 1; p++) {
    if (s.charCodeAt(p) !== BACKSLASH || s.charCodeAt(p + 1) !== 117) continue
    let before = 0
    while (p - before - 1 >= 0 && s.charCodeAt(p - before - 1) === BACKSLASH) before++
    if (before % 2 === 0) return p
  }
  return n
}

/**
 * Parses one JSON text given in pieces, as JSON.parse (with Fastify's prototype-poisoning rules) would parse it whole.
 * A top-level object is read member by member, and its string values piece by piece, so a large string member costs
 * a little per piece; any other top-level value is parsed at the end. Throws a SyntaxError on invalid JSON, as soon as
 * it can tell.
 */
export class JsonReader {
  #state = State.Start
  #object: Record<string, unknown> = {}
  #key = ''
  /** The raw text of the key, raw value or top-level value being read; the unfinished escape of a string value. */
  #buf = ''
  #pieces: string[] = []
  #depth = 0
  #inString = false
  #escaped = false
  #first = true

  write (text: string): void {
    let i = 0
    if (this.#first && text.length) {
      this.#first = false
      if (text.charCodeAt(0) === 0xfeff) i = 1
    }
    const n = text.length
    while (i < n) {
      switch (this.#state) {
        case State.Start:
        case State.ObjectOpen:
        case State.NextKey:
        case State.AfterKey:
        case State.AfterValue:
        case State.Done: {
          const c = text.charCodeAt(i)
          if (isSpace(c)) { i++; continue }
          i = this.#punctuation(c, i)
          continue
        }
        case State.Key: {
          const s = this.#buf + text.slice(i)
          const q = closingQuote(s, this.#buf.length)
          if (q === -1) {
            this.#buf = s
            return
          }
          this.#key = parseValue(`"${s.slice(0, q)}"`) as string
          i += q + 1 - this.#buf.length
          this.#buf = ''
          this.#state = State.AfterKey
          continue
        }
        case State.String: {
          const s = this.#buf + text.slice(i)
          const q = closingQuote(s, 0)
          if (q === -1) {
            const cut = completeEscapes(s)
            if (cut > 0) this.#pieces.push(parseValue(`"${s.slice(0, cut)}"`) as string)
            this.#buf = s.slice(cut)
            return
          }
          this.#pieces.push(parseValue(`"${s.slice(0, q)}"`) as string)
          i += q + 1 - this.#buf.length
          this.#buf = ''
          this.#member(this.#pieces.join(''))
          this.#pieces = []
          continue
        }
        case State.Raw: {
          const start = i
          for (; i < n; i++) {
            const c = text.charCodeAt(i)
            if (this.#inString) {
              if (this.#escaped) this.#escaped = false
              else if (c === BACKSLASH) this.#escaped = true
              else if (c === QUOTE) this.#inString = false
            } else if (c === QUOTE) {
              this.#inString = true
            } else if (c === 123 || c === 91) { // { [
              this.#depth++
            } else if (c === 125 || c === 93) { // } ]
              if (this.#depth === 0) break
              this.#depth--
            } else if (c === 44 && this.#depth === 0) { // ,
              break
            }
          }
          this.#buf += text.slice(start, i)
          if (i === n) return
          const value = parseValue(this.#buf)
          this.#buf = ''
          this.#member(value)
          continue
        }
        case State.RawTop:
          this.#buf += text.slice(i)
          return
        case State.BeforeValue: {
          const c = text.charCodeAt(i)
          if (isSpace(c)) { i++; continue }
          if (c === QUOTE) {
            this.#state = State.String
            i++
          } else {
            this.#state = State.Raw
            this.#depth = 0
            this.#inString = false
            this.#escaped = false
          }
          continue
        }
      }
    }
  }

  /** The parsed value, once the whole text has been written. */
  end (): unknown {
    if (this.#state === State.RawTop) return parseValue(this.#buf)
    if (this.#state !== State.Done) throw new InvalidJson('Unexpected end of JSON input')
    return this.#object
  }

  /** Handles a structural character at `i` outside strings and values; returns where to go on. */
  #punctuation (c: number, i: number): number {
    switch (this.#state) {
      case State.Start:
        if (c === 123) this.#state = State.ObjectOpen // {
        else this.#state = State.RawTop
        return c === 123 ? i + 1 : i
      case State.ObjectOpen:
      case State.NextKey:
        if (c === QUOTE) {
          this.#state = State.Key
          return i + 1
        }
        if (c === 125 && this.#state === State.ObjectOpen) { // }
          this.#state = State.Done
          return i + 1
        }
        break
      case State.AfterKey:
        if (c === 58) { // :
          this.#state = State.BeforeValue
          return i + 1
        }
        break
      case State.AfterValue:
        if (c === 44) { // ,
          this.#state = State.NextKey
          return i + 1
        }
        if (c === 125) {
          this.#state = State.Done
          return i + 1
        }
        break
    }
    throw new InvalidJson(`Unexpected character ${JSON.stringify(String.fromCharCode(c))}`)
  }

  #member (value: unknown) {
    checkMember(this.#key, value)
    this.#object[this.#key] = value
    this.#state = State.AfterValue
  }
}

/**
 * A content-type parser for `application/json` that reads the body with JsonReader as it arrives, with Fastify's own
 * errors: 413 past `limit` bytes, 400 for an empty body, invalid JSON or a length not matching Content-Length.
 */
export function streamedJsonParser (limit: number) {
  return function parseStreamedJson (request: FastifyRequest, payload: Readable, done: (err: Error | null, body?: unknown) => void) {
    const contentLength = Number(request.headers['content-length'])
    if (contentLength > limit) {
      done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), undefined)
      return
    }
    const decoder = new StringDecoder('utf8')
    const reader = new JsonReader()
    let received = 0
    let invalid = false

    const stop = (err: Error | null, body?: unknown) => {
      payload.removeListener('data', onData)
      payload.removeListener('end', onEnd)
      payload.removeListener('error', onEnd)
      payload.resume() // what is left of a refused body is read and dropped
      done(err, body)
    }
    function onData (chunk: Buffer | string) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      received += bytes.length
      if (received > limit) {
        stop(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE())
        return
      }
      if (invalid) return
      try {
        reader.write(decoder.write(bytes))
      } catch {
        // Answered when the body has arrived, as Fastify does, so the connection stays usable.
        invalid = true
      }
      // One chunk per turn of the event loop: while data is waiting, libuv reads a socket up to 32 times in a row, and
      // each read is parsed at once.
      payload.pause()
      setImmediate(() => payload.resume())
    }
    function onEnd (err?: Error & { statusCode?: number }) {
      if (err) {
        if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400
        stop(err)
        return
      }
      if (!Number.isNaN(contentLength) && received !== contentLength) {
        stop(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH())
        return
      }
      if (received === 0) {
        stop(new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY())
        return
      }
      let body: unknown
      try {
        if (invalid) throw new InvalidJson('invalid')
        reader.write(decoder.end())
        body = reader.end()
      } catch {
        stop(new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY())
        return
      }
      stop(null, body)
    }
    payload.on('data', onData)
    payload.on('end', onEnd)
    payload.on('error', onEnd)
    payload.resume()
  }
}
