import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import type { components } from '../../../client/api.d.ts'
import { api } from '../lib/api.ts'
import { connectLive, type LiveStatus } from '../lib/live.ts'
import { describe, ok } from './ui.tsx'

export type Session = components['schemas']['Session']
export type SessionGame = components['schemas']['SessionGame']
export interface Tally { upvotes: number, downvotes: number }

export interface NightState {
  session: Session | null
  games: SessionGame[]
  /** Tonight's live votes by games.id. */
  votes: Record<number, Tally>
  /** What the room monitor last said about each session game's room, by session_games.id. */
  rooms: Record<number, string>
  loaded: boolean
  error: string | null
}

export interface Night extends NightState {
  live: LiveStatus | 'polling'
  /** Grows on every change seen from elsewhere, so other views know to reload. */
  changes: number
  refresh: () => void
}

/** Signed out, the page reads the public API this often (the live socket needs a token). */
export const POLL_MS = 5000

const empty: NightState = { session: null, games: [], votes: {}, rooms: {}, loaded: false, error: null }

async function loadNight (): Promise<Omit<NightState, 'rooms'>> {
  const active = await ok(api.GET('/api/sessions/active'))
  if (!('id' in active)) return { session: null, games: [], votes: {}, loaded: true, error: null }
  const params = { path: { id: active.id } }
  const [games, tally] = await Promise.all([
    ok(api.GET('/api/sessions/{id}/games', { params })),
    ok(api.GET('/api/sessions/{id}/votes', { params }))
  ])
  const votes: Record<number, Tally> = {}
  for (const row of tally.votes) votes[row.game_id] = { upvotes: row.upvotes, downvotes: row.downvotes }
  return { session: active, games, votes, loaded: true, error: null }
}

function roomNote (type: string, data: Record<string, unknown>): string | undefined {
  switch (type) {
    case 'room.connected': return `Room found (${String(data.appTag)}, up to ${String(data.maxPlayers)} players)`
    case 'lobby.player-joined': return `${String(data.playerName)} joined`
    case 'lobby.updated': return data.gameCanStart ? 'Lobby ready to start' : `Lobby: ${String(data.lobbyState)}`
    case 'game.started': return 'Game started: the count is final'
    case 'game.ended': return 'Game over'
    case 'room.disconnected': return `Room closed (${String(data.reason)})`
  }
}

/**
 * Tonight's session, its games and votes. With a token the live socket keeps them current (and resumes with `since`
 * after a drop); without one the public API is read every few seconds.
 */
export function useNight (token: string | null, onSignedOut: () => void): Night {
  const [state, setState] = useState<NightState>(empty)
  const [live, setLive] = useState<LiveStatus | 'polling'>(token ? 'connecting' : 'polling')
  const [changes, setChanges] = useState(0)
  const loading = useRef<Promise<void> | null>(null)
  const again = useRef(false)
  const subscribed = useRef<{ connection: ReturnType<typeof connectLive>, sessionId: number | null } | null>(null)
  const signedOut = useRef(onSignedOut)
  signedOut.current = onSignedOut

  // One load at a time; a refresh asked for during a load runs once after it, so no answer overtakes a newer one.
  const refresh = useCallback(() => {
    if (loading.current) {
      again.current = true
      return
    }
    loading.current = loadNight().then(
      (night) => setState((old) => ({ ...night, rooms: night.session?.id === old.session?.id ? old.rooms : {} })),
      (err) => setState((old) => ({ ...old, loaded: true, error: describe(err) }))
    ).finally(() => {
      loading.current = null
      if (again.current) {
        again.current = false
        refresh()
      }
    })
  }, [])

  const settle = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  const refreshSoon = useCallback(() => {
    clearTimeout(settle.current)
    settle.current = setTimeout(refresh, 100)
  }, [refresh])

  useEffect(() => {
    refresh()
    if (!token) {
      setLive('polling')
      const timer = setInterval(refresh, POLL_MS)
      return () => clearInterval(timer)
    }
    const onVisible = () => { if (document.visibilityState === 'visible') refresh() }
    document.addEventListener('visibilitychange', onVisible)
    const connection = connectLive({
      token,
      onStatus (status) {
        setLive(status)
        if (status === 'signed-out') signedOut.current()
        // Back after a drop: the socket resumes the session's events, and this catches what has no event.
        if (status === 'live') refresh()
      },
      onEvent (event) {
        const data = event.data as Record<string, unknown>
        setChanges((n) => n + 1)
        if (event.type === 'player-count.updated') {
          setState((old) => ({
            ...old,
            games: old.games.map((game) => game.id === data.sessionGameId
              ? { ...game, player_count: data.playerCount as number, player_count_check_status: data.status as SessionGame['player_count_check_status'] }
              : game)
          }))
          // A load already under way may have read the count before this event and would put it back: read again after.
          refreshSoon()
          return
        }
        const note = roomNote(event.type, data)
        if (note) {
          setState((old) => ({ ...old, rooms: { ...old.rooms, [data.sessionGameId as number]: note } }))
          return
        }
        if (event.type === 'vote.received') {
          const game = data.game as { id: number, upvotes: number, downvotes: number, popularity_score: number }
          setState((old) => ({
            ...old,
            games: old.games.map((row) => row.game_id === game.id
              ? { ...row, upvotes: game.upvotes, downvotes: game.downvotes, popularity_score: game.popularity_score }
              : row)
          }))
        }
        refreshSoon()
      }
    })
    subscribed.current = { connection, sessionId: null }
    return () => {
      document.removeEventListener('visibilitychange', onVisible)
      connection.close()
      subscribed.current = null
    }
  }, [token])

  // Follow the active session: subscribe to the one open now, drop the one that closed.
  const sessionId = state.session?.id ?? null
  useEffect(() => {
    const current = subscribed.current
    if (!current || current.sessionId === sessionId) return
    if (current.sessionId !== null) current.connection.unsubscribe(current.sessionId)
    if (sessionId !== null) current.connection.subscribe(sessionId)
    current.sessionId = sessionId
  }, [sessionId, token])

  useEffect(() => () => clearTimeout(settle.current), [])

  return { ...state, live, changes, refresh }
}
