import type { WebSocket } from 'ws'
import type { LoggedEvent } from '../event-log.ts'

/** Close codes: 4401 not authenticated in time, 1013 over LIVE_MAX_CLIENTS, 1001 the service shutting down (app.ts). */
export const CLOSE_UNAUTHENTICATED = 4401
export const CLOSE_TRY_AGAIN_LATER = 1013
export const CLOSE_GOING_AWAY = 1001

/** One socket of the live WebSocket: its auth state, its subscriptions and the floors below which nothing is sent. */
export class LiveClient {
  authenticated = false
  /** When the token expires, in ms since the epoch: the client is signed out then. */
  expiresAt = Infinity
  /** The scoped token the client authenticated with; null for a login token (or before auth). */
  tokenId: number | null = null
  missedPings = 0
  /**
   * The newest event id committed when the client authenticated: anything at or below it happened before the client
   * was there, however late this process's reader hands it on.
   */
  liveAfter = 0
  /** The same floor per session, taken when the client subscribed without `since`. */
  readonly sessionLiveAfter = new Map<number, number>()
  authTimer: NodeJS.Timeout | undefined
  /** Signs the client out when its token expires. */
  expiryTimer: NodeJS.Timeout | undefined
  /** While an auth message is checked: the tokens revoked meanwhile. */
  revokedDuringAuth: Set<number> | null = null
  readonly sessions = new Set<number>()
  /** Sessions whose history is being replayed (`subscribe` with `since`): their live events wait here meanwhile. */
  readonly held = new Map<number, LoggedEvent[]>()
  constructor (readonly socket: WebSocket) {}
}

/** An event as the live socket sends it (the timeline's shape too). */
export const clientEvent = (event: LoggedEvent) => ({ id: event.id, type: event.type, timestamp: event.timestamp, data: event.data })
export const serialize = (event: LoggedEvent) => Buffer.from(JSON.stringify(clientEvent(event)))
