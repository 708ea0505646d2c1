import type { EcastApi } from './ecast-client.ts'
import type { OpenAudienceSocket } from './audience-socket.ts'
import type { RoomEventReport } from '../domain/player-check.ts'
import type { PublishedLobby } from './room-state.ts'
import type { BackgroundLogger } from '../lib/logger.ts'

// What a room watch (monitor/room-watch.ts) is given and reports to: its options, the sink its events and counts go
// to, what a takeover resumes from, and the timers it runs on.

export type WatchState = 'waiting' | 'lobby' | 'started' | 'ended' | 'failed' | 'stopped'

/** What a watch has published so far: a process taking the room over resumes from it rather than repeat or skip it. */
export interface PublishedState {
  /** The lobby facts of the last lobby.updated. */
  lobby: PublishedLobby
  /** The textDescriptions id up to which joins were announced (or were there when the watch first connected). */
  descriptionId: number | null
}

/**
 * Where a watch reports what it learns. Each call is awaited before the watch goes on, so reports stay in order.
 * `published`, when given, changed since the last call that carried it: store it with the event or count.
 */
export interface RoomWatchSink {
  /** Room events, in this order, in one write; the sink adds the session ids and the room code. */
  events (events: readonly RoomEventReport[], published?: PublishedState): Promise<void> | void
  /**
   * A new player count, stored with the player-check status (`checking` in the lobby, `completed` once final), and
   * the room events that go with it (recorded after it, in the same write).
   */
  count (playerCount: number, status: 'checking' | 'completed', published?: PublishedState, events?: readonly RoomEventReport[]): Promise<void>
  /** A status without a new count (`completed` when the room ends, `failed` when it never appeared). */
  status (status: 'completed' | 'failed'): Promise<void>
  /** The watch ended by itself (`ended` or `failed`); it schedules nothing more. */
  finished (state: 'ended' | 'failed'): void
}

export interface RoomWatchOptions {
  code: string
  api: EcastApi
  openSocket: OpenAudienceSocket
  /** The audience WebSocket URL for a room served by `audienceHost`. */
  socketUrl (audienceHost: string): string
  pollIntervalMs: number
  roomWaitMs: number
  sink: RoomWatchSink
  log: BackgroundLogger
  now?: () => number
  random?: () => number
  /** Sets and clears the poll timer; default: unref'd Node timers. */
  timers?: WatchTimers
  /** What an earlier watch of this room (another process's, before a takeover) already reported, so it is not repeated. */
  resume?: WatchResume
}

export interface WatchResume {
  /** room.connected was published. */
  connected: boolean
  /** game.started was published: the count is final. */
  started: boolean
  /** The count stored last; only a different one is stored again. */
  playerCount: number | null
  /** What the earlier watch published last; undefined when it stored nothing. */
  published?: PublishedState
}

export interface WatchTimers {
  /** Calls `fn` once after `delayMs`; the timer must not keep the process alive. */
  set (fn: () => void, delayMs: number): unknown
  clear (timer: unknown): void
}

export const nodeTimers: WatchTimers = {
  set: (fn, delayMs) => setTimeout(fn, delayMs).unref(),
  clear: (timer) => clearTimeout(timer as NodeJS.Timeout)
}
