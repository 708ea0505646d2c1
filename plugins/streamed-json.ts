import type { Readable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import { getManyValues, none, type Many } from 'stream-chain/defs.js'
import Assembler from 'stream-json/assembler.js'
import { jsonParser, type Token } from 'stream-json/parser.js'
import { errorCodes, type FastifyRequest } from 'fastify'

// A JSON body read as it arrives instead of collected and parsed at once: Fastify's parser decodes and parses a
// 5 MB body in one go, holding the event loop for tens of milliseconds. Here each chunk is decoded and parsed when it
// comes in (its own turn of the event loop), so other requests are served in between.

class InvalidJson extends SyntaxError {}

// Fastify's onProtoPoisoning and onConstructorPoisoning ('error' by default): such a body is not valid JSON.
function checkMember (key: string, value: unknown) {
  if (key === '__proto__') throw new InvalidJson('Object contains forbidden prototype property')
  if (key === 'constructor' && value !== null && typeof value === 'object' && Object.hasOwn(value, 'prototype')) {
    throw new InvalidJson('Object contains forbidden prototype property')
  }
  return value
}

/**
 * Parses one JSON text given in pieces, as JSON.parse (with Fastify's prototype-poisoning rules) would parse it whole:
 * stream-json's tokenizer reads each piece as it comes (a long string a little per piece) and its Assembler builds the
 * value. Throws a SyntaxError on invalid JSON, as soon as it can tell.
 */
export class JsonReader {
  // A stream-chain stage: called with each piece, then with `none` at the end (its types leave out that call).
  #tokens = jsonParser({ packValues: true, streamValues: false }) as (text: string | typeof none) => Many<Token> | typeof none
  #value = new Assembler({ reviver: (key: string, value: unknown) => checkMember(key, value) })
  #first = true

  write (text: string): void {
    if (this.#first && text.length) {
      this.#first = false
      // A leading byte-order mark is skipped, as Fastify's parser does.
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    }
    if (text.length) this.#parse(text)
  }

  /** The parsed value, once the whole text has been written. */
  end (): unknown {
    this.#parse(none) // the end of the text: what is left must complete the value
    if (this.#first || !this.#value.done) throw new InvalidJson('Unexpected end of JSON input')
    return this.#value.current
  }

  #parse (text: string | typeof none) {
    try {
      const tokens = this.#tokens(text)
      if (tokens === none) return
      for (const token of getManyValues(tokens)) this.#value.consume(token)
    } catch (err) {
      // stream-json's errors (a plain Error, a RangeError past its nesting depth) are invalid JSON here.
      if (err instanceof SyntaxError) throw err
      throw new InvalidJson((err as Error).message)
    }
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
