import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import {
  addChatSourceActivity, releaseChatSourceLeases, renewChatSourceLeases, takeFreeChatSources, updateChatSourceStatus,
  type ChatSourceTarget
} from '../db/chat-sources.ts'
import { voteTypeOf } from '../domain/chat-import-tally.ts'
import { castLiveVote } from '../domain/votes.ts'
import { DuplicateVote, NoActiveSession, NoGameAtTime, VoteAlreadyCounted } from '../domain/errors.ts'
import { TwitchConnection, type ChatLine, type ConnectionStatus } from './twitch-connection.ts'
import { twitchClientTarget } from './twitch-url.ts'
import { serial, type Serial } from '../lib/serial.ts'

export interface ChatReaderOptions {
  /** How long a source's lease lasts without renewal (5 s), and how often it is renewed (1 s). */
  leaseTtlMs?: number
  beatMs?: number
  /** How often the last message's time and the refused votes are written (1 s). */
  flushMs?: number
  /** The reconnection backoff of each connection (1 s doubling up to 60 s). */
  minBackoffMs?: number
  maxBackoffMs?: number
}

/** The chat sources this process reads. */
export interface ChatReader {
  /** The ids of the sources this process holds a connection for now. */
  reading (): number[]
  /** Renews and takes leases now, starting and stopping connections to match; resolves when done. */
  beat (): Promise<void>
  /** Writes the pending activity (last message, refused votes) now. */
  flush (): Promise<void>
  /** At boot: follows the sources' notifications and heartbeat, taking every enabled source no live process reads. */
  resume (): Promise<void>
  /** Closes every connection and lets the leases go, for another process (or the next boot) to take. */
  stopAll (): Promise<void>
}

interface Reader {
  source: ChatSourceTarget
  connection: TwitchConnection
  /** Votes of this source waiting for a slot, and the chatters whose vote is being cast (one vote each at a time). */
  waiting: Array<{ login: string, cast: () => Promise<void> }>
  casting: Set<string>
  /** Called when nothing is waiting or being cast any more (a stop waits for it). */
  settle: () => void
  /** Message ids seen lately: a message the server re-sends on this connection is not cast again. */
  seen: Set<string>
  lastMessageAt: Date | null
  refused: number
  /** The status writes, one after another: on a pool, `connecting` sent first could otherwise commit after `connected`. */
  statusWrite: Serial
}

// How many recent message ids a reader remembers; the database's unique message id is the real guard.
const SEEN_LIMIT = 10_000
// Votes of one source cast at once: one at a time, a burst of chat waits on a statement's round trip each. One
// chatter's votes are cast one after another, in the order they were typed: of two within a second, the first counts.
const CASTING = 8

export function createChatReader (app: FastifyInstance, opts: ChatReaderOptions = {}): ChatReader {
  const log = app.log.child({ plugin: 'chat-sources' })
  const owner = app.instance
  const target = twitchClientTarget(app.config.TWITCH_CHAT_URL)
  // Failover: a dead owner's lease expires within `ttl` of its last renewal and is taken at the next beat of another
  // process, so a channel moves within ttl + beat (6 s by default), inside the 10 s the service promises.
  const ttl = opts.leaseTtlMs ?? 5000
  const beatMs = opts.beatMs ?? 1000
  const flushMs = opts.flushMs ?? 1000
  const readers = new Map<number, Reader>()
  const metrics = app.metrics
  let stopped = false
  let failing = false
  let beatTimer: NodeJS.Timeout | undefined
  let flushTimer: NodeJS.Timeout | undefined
  let unlisten: (() => Promise<void>) | undefined

  // Lease changes run one at a time, so the connections always match what the last statement said.
  const leaseChange = serial()

  const label = (source: ChatSourceTarget) => ({ source: `${source.platform}/${source.channel}` })

  async function vote (reader: Reader, line: ChatLine, type: 'up' | 'down') {
    const { source } = reader
    try {
      await castLiveVote(app.db, line.login, type, line.sentAt, { chatSourceId: source.id, messageId: line.id })
      metrics.chatSourceVotes.inc({ ...label(source), result: 'counted' })
    } catch (err) {
      if (err instanceof VoteAlreadyCounted) return
      if (err instanceof NoActiveSession || err instanceof NoGameAtTime || err instanceof DuplicateVote) {
        reader.refused++
        metrics.chatSourceVotes.inc({ ...label(source), result: 'refused' })
        return
      }
      // The database is unreachable or failing: the vote is lost, the connection goes on.
      log.warn({ err: (err as Error).message, sourceId: source.id }, 'could not record a vote from chat')
    }
  }

  function message (reader: Reader, line: ChatLine) {
    if (readers.get(reader.source.id) !== reader) return
    metrics.chatSourceMessages.inc(label(reader.source))
    if (reader.lastMessageAt === null || line.sentAt > reader.lastMessageAt) reader.lastMessageAt = line.sentAt
    if (reader.seen.has(line.id)) return
    reader.seen.add(line.id)
    if (reader.seen.size > SEEN_LIMIT) reader.seen.delete(reader.seen.values().next().value!)
    const type = voteTypeOf(line.text)
    if (type === null) return
    reader.waiting.push({ login: line.login, cast: () => vote(reader, line, type) })
    pump(reader)
  }

  function pump (reader: Reader) {
    while (reader.casting.size < CASTING) {
      const index = reader.waiting.findIndex((w) => !reader.casting.has(w.login))
      if (index < 0) return
      const [next] = reader.waiting.splice(index, 1)
      reader.casting.add(next.login)
      next.cast().finally(() => {
        reader.casting.delete(next.login)
        if (!reader.casting.size && !reader.waiting.length) reader.settle()
        pump(reader)
      })
    }
  }

  function status (reader: Reader, value: ConnectionStatus, text: string | null) {
    if (readers.get(reader.source.id) !== reader) return
    reader.statusWrite(() => updateChatSourceStatus(app.db, reader.source.id, owner, value, text))
      .catch((err) => log.warn({ err: (err as Error).message, sourceId: reader.source.id }, 'could not store a chat source status'))
  }

  function start (source: ChatSourceTarget) {
    const connection = new TwitchConnection({
      channel: source.channel,
      target,
      message: (line) => message(reader, line),
      status: (value, text) => status(reader, value, text),
      log: log.child({ sourceId: source.id }),
      minBackoffMs: opts.minBackoffMs,
      maxBackoffMs: opts.maxBackoffMs
    })
    const reader: Reader = { source, connection, waiting: [], casting: new Set(), settle: () => {}, seen: new Set(), lastMessageAt: null, refused: 0, statusWrite: serial() }
    readers.set(source.id, reader)
    log.info({ sourceId: source.id, channel: source.channel }, 'reading a chat source')
    reader.connection.start()
  }

  async function report (reader: Reader) {
    if (reader.lastMessageAt === null && reader.refused === 0) return
    const { lastMessageAt, refused } = reader
    reader.lastMessageAt = null
    reader.refused = 0
    try {
      await addChatSourceActivity(app.db, reader.source.id, owner, lastMessageAt, refused)
    } catch (err) {
      reader.refused += refused
      log.warn({ err: (err as Error).message, sourceId: reader.source.id }, 'could not store a chat source\'s activity')
    }
  }

  async function stop (reader: Reader) {
    readers.delete(reader.source.id)
    await reader.connection.stop()
    if (reader.casting.size || reader.waiting.length) await new Promise<void>((resolve) => { reader.settle = resolve })
    await report(reader)
    log.info({ sourceId: reader.source.id }, 'stopped reading a chat source')
  }

  const beat = () => leaseChange(async () => {
    if (stopped) return
    try {
      const held = await renewChatSourceLeases(app.db, owner, ttl)
      const heldIds = new Set(held.map((s) => s.id))
      // Disabled, deleted, or taken over while this process stalled: its connection closes.
      await Promise.all([...readers.values()].filter((r) => !heldIds.has(r.source.id)).map(stop))
      const taken = await takeFreeChatSources(app.db, owner, ttl, 100)
      for (const source of [...held, ...taken]) if (!readers.has(source.id)) start(source)
      if (failing) log.info({}, 'chat source leases renewed again')
      failing = false
    } catch (err) {
      if (!failing) log.warn({ err: (err as Error).message }, 'chat source lease heartbeat failed; retrying')
      failing = true
    }
  })

  const flush = async () => { await Promise.all([...readers.values()].map(report)) }

  const scheduleBeat = () => {
    if (stopped) return
    beatTimer = setTimeout(() => { beat().finally(scheduleBeat) }, beatMs).unref()
  }
  const scheduleFlush = () => {
    if (stopped) return
    flushTimer = setTimeout(() => { flush().finally(scheduleFlush) }, flushMs).unref()
  }

  return {
    reading: () => [...readers.keys()],
    beat,
    flush,
    async resume () {
      // A change of a source (enabled, deleted, its lease let go or taken) is a notification: every process re-reads.
      unlisten = await app.dbListen('chat_sources', () => { beat() })
      await beat()
      scheduleBeat()
      scheduleFlush()
    },
    stopAll: () => {
      stopped = true
      clearTimeout(beatTimer)
      clearTimeout(flushTimer)
      return leaseChange(async () => {
        await unlisten?.().catch(() => {})
        unlisten = undefined
        const all = [...readers.values()]
        await Promise.all(all.map(stop))
        if (all.length) {
          await releaseChatSourceLeases(app.db, owner)
            .catch((err) => log.warn({ err: (err as Error).message }, 'could not release chat source leases'))
        }
      })
    }
  }
}

export default fp<ChatReaderOptions>(async function chatSources (app, opts) {
  const reader = createChatReader(app, opts)
  app.decorate('chatReader', reader)
  app.addHook('onReady', async () => {
    try {
      await reader.resume()
    } catch (err) {
      app.log.error({ err }, 'could not start the chat sources')
    }
  })
  // preClose, before the server drains: another process takes the channels over meanwhile.
  app.addHook('preClose', () => reader.stopAll())
  app.addHook('onClose', () => reader.stopAll())
}, { name: 'chat-sources', dependencies: ['db', 'metrics'] })

declare module 'fastify' {
  interface FastifyInstance {
    chatReader: ChatReader
  }
}
