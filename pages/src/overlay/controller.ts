import { api, type Schemas } from '../lib/api.ts'
import { connectLive, lastEventId, type Live, type LiveEvent, type LiveStatus } from '../lib/live.ts'

export interface Cue { key: number, username: string, type: 'up' | 'down' }

export interface OverlayState {
  status: LiveStatus
  /** Why the token was refused, in the service's words. */
  detail?: string
  sessionId: number | null
  game: Schemas['SessionGame'] | null
  players: number | null
  maxPlayers: number | null
  roomStatus: string | null
  up: number
  down: number
  /** The latest votes, newest last: each one is a visible cue. */
  cues: Cue[]
}

const CUES = 6

/**
 * Everything the overlay shows, kept from the API and the live socket: the active session's current game, its room's
 * players and its votes. Reads the state once per session (and after each reconnection), then follows events.
 */
export class OverlayController {
  state: OverlayState = {
    status: 'connecting', sessionId: null, game: null, players: null, maxPlayers: null, roomStatus: null, up: 0, down: 0, cues: []
  }

  private live: Live
  private listeners = new Set<(state: OverlayState) => void>()
  private syncing: Promise<void> = Promise.resolve()
  private syncTimer: ReturnType<typeof setTimeout> | undefined

  constructor (token: string) {
    this.live = connectLive({
      token,
      onEvent: (ev) => this.apply(ev),
      onStatus: (status, detail) => {
        this.set({ status, detail })
        // A new session may have started while the socket was away; the subscribed one resumes by itself.
        if (status === 'live') this.sync()
      }
    })
  }

  onChange (listener: (state: OverlayState) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  close (): void {
    clearTimeout(this.syncTimer)
    this.live.close()
  }

  private set (patch: Partial<OverlayState>) {
    this.state = { ...this.state, ...patch }
    for (const listener of this.listeners) listener(this.state)
  }

  private sync () {
    this.syncing = this.syncing.then(() => this.readActive()).catch(() => {
      clearTimeout(this.syncTimer)
      this.syncTimer = setTimeout(() => this.sync(), 2000)
    })
  }

  private async readActive () {
    const { data, error } = await api.GET('/api/sessions/active')
    if (error || !data) throw new Error('no answer')
    const active = 'id' in data ? data : null
    if (active?.id === this.state.sessionId) return
    if (this.state.sessionId !== null) this.live.unsubscribe(this.state.sessionId)
    if (!active) return this.set(emptySession(null))
    // The session's last event id first, then its games: no event between the two readings is lost.
    const since = await lastEventId(active.id)
    const games = await api.GET('/api/sessions/{id}/games', { params: { path: { id: active.id } } })
    if (!games.data) throw new Error('no games')
    this.follow(active.id, since, current(games.data))
  }

  private follow (sessionId: number, since: number, game: Schemas['SessionGame'] | null) {
    this.set({ ...emptySession(sessionId), ...gameState(game) })
    this.live.subscribe(sessionId, since)
  }

  private apply (ev: LiveEvent) {
    const { game } = this.state
    switch (ev.type) {
      case 'session.started':
        if (this.state.sessionId !== null) this.live.unsubscribe(this.state.sessionId)
        return this.follow(ev.data.session.id, ev.id, null)
      case 'session.ended':
        if (ev.data.session.id !== this.state.sessionId) return
        this.live.unsubscribe(ev.data.session.id)
        return this.set(emptySession(null))
      case 'game.added':
        return this.set(gameState(ev.data.game))
      case 'vote.received': {
        if (!game || ev.data.game.id !== game.game_id) return
        const cue = { key: ev.id, username: ev.data.vote.username, type: ev.data.vote.type }
        return this.set({ up: ev.data.game.upvotes, down: ev.data.game.downvotes, cues: [...this.state.cues, cue].slice(-CUES) })
      }
      case 'player-count.updated':
        if (ev.data.sessionGameId !== game?.id) return
        return this.set({ players: ev.data.playerCount, roomStatus: ev.data.status })
      case 'room.connected':
        if (ev.data.sessionGameId !== game?.id) return
        return this.set({ maxPlayers: ev.data.maxPlayers, roomStatus: 'checking' })
      case 'room.disconnected':
        if (ev.data.sessionGameId !== game?.id) return
        return this.set({ roomStatus: 'stopped' })
      default:
        if ('playerCount' in ev.data && ev.data.sessionGameId === game?.id) this.set({ players: ev.data.playerCount })
    }
  }
}

function emptySession (sessionId: number | null): Partial<OverlayState> {
  return { sessionId, game: null, players: null, maxPlayers: null, roomStatus: null, up: 0, down: 0, cues: [] }
}

function gameState (game: Schemas['SessionGame'] | null): Partial<OverlayState> {
  return {
    game,
    players: game?.player_count ?? null,
    maxPlayers: game?.max_players ?? null,
    roomStatus: game?.player_count_check_status ?? null,
    up: game?.upvotes ?? 0,
    down: game?.downvotes ?? 0,
    cues: []
  }
}

/** The game being played now, if any. */
function current (games: Schemas['SessionGame'][]): Schemas['SessionGame'] | null {
  return games.find((game) => game.status === 'playing') ?? null
}
