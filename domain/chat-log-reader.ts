import type { Readable } from 'node:stream'
import { errorCodes } from 'fastify'
import { getManyValues, none, type Many } from 'stream-chain/defs.js'
import { jsonParser, type Token } from 'stream-json/parser.js'
import { ChatRows, type ChatMessage } from './chat-rows.ts'
import { ChatLogInvalid } from './errors.ts'

// A chat log body, `{"chatData": [...]}`, read as it arrives (stream-json's tokens, one row at a time, checked in
// domain/chat-rows.ts), so memory does not grow with the size of the log. This file is the plumbing: chunks in, rows
// out in batches, the body paused while a batch waits for its consumer.

export type { ChatMessage }

const FIRST_BATCH_ROWS = 500

/**
 * The body's rows in batches, read as they arrive. Reading pauses while the consumer works on a batch, so at most a
 * couple of batches are in memory. Throws a 400 on the first bad row or on broken JSON, a 413 past `limit` bytes.
 */
export async function * readChatLog (body: Readable, limit: number, batchRows: number): AsyncGenerator<ChatMessage[]> {
  // Chunks are decoded to text as they arrive, so the socket's buffers die young instead of waiting in the streams'
  // queues (and being promoted) while a batch is written.
  body.setEncoding('utf8')
  // A stream-chain stage, called with each chunk and then with `none` at the end (its types leave out that call). Its
  // tokens go straight to the rows: no stream, no object queued per token.
  const tokens = jsonParser({ packValues: true, streamValues: false }) as (text: string | typeof none) => Many<Token> | typeof none
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
  const parse = (text: string | typeof none) => {
    let parsed
    try {
      parsed = tokens(text)
    } catch (err) {
      throw new ChatLogInvalid(`The body is not valid JSON: ${(err as Error).message.replace(/^Parser cannot parse input: /, '')}`)
    }
    if (parsed !== none) for (const token of getManyValues(parsed)) rows.push(token)
  }
  // The first batch is small, so that the database starts on it while the rest is read; each next one doubles up to
  // batchRows. On a server a batch is 5,000 rows: waiting for the first 5,000 was a fixed ~0.1 s of every import.
  let want = Math.min(batchRows, FIRST_BATCH_ROWS)
  let received = 0
  const onData = (chunk: string) => {
    received += Buffer.byteLength(chunk)
    if (received > limit) fail(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE())
    if (failure) return
    try {
      parse(chunk)
    } catch (err) {
      fail(err)
      return
    }
    if (rows.ready.length >= want) {
      body.pause()
      notify()
    }
  }
  const onEnd = () => {
    if (failure) return
    try {
      parse(none)
      ended = true
      notify()
    } catch (err) {
      fail(err)
    }
  }
  // A client that goes away mid-body (or is timed out) closes the stream without an end.
  const onClose = () => { if (!body.readableEnded) fail(new ChatLogInvalid('The body ended before the end of the chat log')) }
  body.on('data', onData)
  body.on('end', onEnd)
  body.on('error', fail)
  body.on('close', onClose)
  try {
    for (;;) {
      if (failure) throw failure
      if (rows.ready.length >= want || (ended && rows.ready.length)) {
        const batch = rows.take(want)
        want = Math.min(batchRows, want * 2)
        yield batch
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
    body.off('close', onClose)
    body.pause()
  }
}
