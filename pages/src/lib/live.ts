import { api, type Schemas } from './api.ts'

// The live socket's events, as the service sends them ({"id","type","timestamp","data"}; ids increase in commit order).
type RoomIds = { sessionId: number, sessionGameId: number, roomCode: string }
interface EventData {
  'session.started': { session: Schemas['Session'] }
  'game.added': { session: { id: number, is_active: 0 | 1, games_played: number }, game: Schemas['SessionGame'] }
  'session.ended': { session: Schemas['Session'] }
  'player-count.updated': Omit<RoomIds, 'roomCode'> & { roomCode: string | null, playerCount: number, status: Schemas['SessionGame']['player_count_check_status'], source: 'monitor' | 'manual' }
  'vote.received': { sessionId: number, game: { id: number, title: string, upvotes: number, downvotes: number, popularity_score: number }, vote: { username: string, type: 'up' | 'down', timestamp: string } }
  'room.connected': RoomIds & { appTag: string, maxPlayers: number }
  'lobby.player-joined': RoomIds & { playerName: string, playerCount: number }
  'lobby.updated': RoomIds & { lobbyState: string, gameCanStart: boolean, playerCount: number }
  'game.started': RoomIds & { playerCount: number }
  'game.ended': RoomIds & { playerCount: number }
  'room.disconnected': RoomIds & { reason: string }
}
export type LiveEventType = keyof EventData
export type LiveEvent = { [T in LiveEventType]: { id: number, type: T, timestamp: string, data: EventData[T] } }[LiveEventType]
export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'signed-out'

export interface LiveOptions {
  token: string
  onEvent: (ev: LiveEvent) => void
  /** `live` with detail `resumed` after a reconnection: what happened while away (a new session) may need a re-read. */
  onStatus: (s: LiveStatus, detail?: string) => void
}

export interface Live {
  /** Follows a session from `since` (an event id), or, without it, from the last event the session has now. */
  subscribe (sessionId: number, since?: number): void
  unsubscribe (sessionId: number): void
  close (): void
}

const MAX_BACKOFF_MS = 10_000
// The server pings every 30 s at the protocol level, which a page cannot see: the page pings too, and a socket that
// has said nothing for this long is taken for dead (a sleeping laptop, a dropped Wi-Fi) and replaced.
const PING_EVERY_MS = 20_000
const SILENT_MS = 45_000
// A socket neither open nor answered this long after it was opened (a handshake or an auth the network lost) is
// dropped and opened again, rather than leaving the page connecting for ever.
const ANSWER_WITHIN_MS = 8_000

function sessionOf (ev: LiveEvent): number | undefined {
  const data = ev.data as { sessionId?: number, session?: { id: number } }
  return data.sessionId ?? data.session?.id
}

/** The last event id a session has now, read from its timeline (public). */
export async function lastEventId (sessionId: number): Promise<number> {
  let since = 0
  for (;;) {
    const { data, error } = await api.GET('/api/sessions/{id}/events', { params: { path: { id: sessionId }, query: { since, limit: 1000 } } })
    if (error || !data) throw new Error('timeline unavailable')
    if (data.events.length) since = data.events[data.events.length - 1].id
    if (data.next === null) return since
  }
}

/**
 * The live socket, kept open: authenticates, follows the subscribed sessions, and after any drop reconnects (backoff
 * up to 10 s, for ever) and resubscribes each session with `since` its last event, so nothing is missed or repeated.
 */
export function connectLive (opts: LiveOptions): Live {
  // sessionId -> last event id delivered (null while it is being looked up)
  const subs = new Map<number, number | null>()
  let socket: WebSocket | undefined
  let authed = false
  let closed = false
  let attempt = 0
  let everLive = false
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let answerTimer: ReturnType<typeof setTimeout> | undefined
  let lastHeard = 0

  const send = (msg: object) => { if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg)) }
  const sendSubscribe = (sessionId: number) => {
    const since = subs.get(sessionId)
    if (authed && since != null) send({ type: 'subscribe', sessionId, since })
  }

  function open () {
    if (closed) return
    opts.onStatus(everLive ? 'reconnecting' : 'connecting')
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/sessions/live`
    const ws = new WebSocket(url)
    socket = ws
    authed = false
    clearTimeout(answerTimer)
    answerTimer = setTimeout(() => {
      if (socket !== ws || authed) return
      drop(ws, 'no answer')
    }, ANSWER_WITHIN_MS)
    ws.onopen = () => {
      lastHeard = Date.now()
      ws.send(JSON.stringify({ type: 'auth', token: opts.token }))
    }
    ws.onmessage = (message) => {
      lastHeard = Date.now()
      let msg: { type?: string, id?: number, message?: string }
      try {
        msg = JSON.parse(String(message.data))
      } catch {
        return
      }
      if (msg.type === 'auth_success') {
        clearTimeout(answerTimer)
        authed = true
        attempt = 0
        opts.onStatus('live', everLive ? 'resumed' : undefined)
        everLive = true
        for (const sessionId of subs.keys()) sendSubscribe(sessionId)
      } else if (msg.type === 'auth_error') {
        // A revoked or expired token will not get better by retrying.
        closed = true
        opts.onStatus('signed-out', msg.message)
        stop()
      } else if (typeof msg.id === 'number' && typeof msg.type === 'string' && 'data' in msg) {
        const ev = msg as LiveEvent
        const sessionId = sessionOf(ev)
        if (sessionId !== undefined && ev.type !== 'session.started') {
          const last = subs.get(sessionId)
          if (last === undefined) return // unsubscribed meanwhile
          if (last !== null && ev.id <= last) return
          subs.set(sessionId, ev.id)
        }
        opts.onEvent(ev)
      }
    }
    ws.onclose = (close) => {
      if (socket !== ws) return
      socket = undefined
      authed = false
      if (closed) return
      if (close.code === 4401) {
        closed = true
        opts.onStatus('signed-out', close.reason || 'Not authenticated')
        stop()
        return
      }
      opts.onStatus('reconnecting', close.reason || undefined)
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt++) * (0.75 + Math.random() / 2)
      retryTimer = setTimeout(open, Math.min(delay, MAX_BACKOFF_MS))
    }
  }

  /** Gives up on a socket the network may never close (so its close would never come) and handles it as closed now. */
  function drop (ws: WebSocket, reason?: string) {
    ws.close(4000, reason)
    ws.onclose?.(new CloseEvent('close', { code: 4000, reason }))
  }

  function stop () {
    clearTimeout(retryTimer)
    clearTimeout(answerTimer)
    clearInterval(pingTimer)
    const ws = socket
    socket = undefined
    ws?.close(1000)
  }

  const pingTimer = setInterval(() => {
    if (!socket || socket.readyState !== WebSocket.OPEN) return
    if (Date.now() - lastHeard > SILENT_MS) {
      drop(socket)
      return
    }
    send({ type: 'ping' })
  }, PING_EVERY_MS)
  // Back online after a network change: try now rather than at the end of the backoff.
  addEventListener('online', () => {
    if (!closed && !socket) {
      clearTimeout(retryTimer)
      open()
    }
  })

  open()

  return {
    subscribe (sessionId, since) {
      if (subs.has(sessionId)) return
      if (since !== undefined) {
        subs.set(sessionId, since)
        sendSubscribe(sessionId)
        return
      }
      subs.set(sessionId, null)
      const lookUp = (): void => {
        lastEventId(sessionId).then((last) => {
          if (subs.get(sessionId) !== null) return
          subs.set(sessionId, last)
          sendSubscribe(sessionId)
        }, () => { if (!closed && subs.get(sessionId) === null) setTimeout(lookUp, 2000) })
      }
      lookUp()
    },
    unsubscribe (sessionId) {
      if (!subs.delete(sessionId)) return
      if (authed) send({ type: 'unsubscribe', sessionId })
    },
    close () {
      closed = true
      stop()
    }
  }
}
