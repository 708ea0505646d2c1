import type pg from 'pg'
import type { ServiceProcess } from './server.ts'

// Games being played in rooms the fake ecast serves, set up for the monitor's benchmarks.

export interface PlayingGame { id: number, session_id: number, room_code: string }

/** One playing game per room code, each in a closed session of its own (only one session may be active). */
export async function playingGames (db: pg.Client, codes: string[]): Promise<PlayingGame[]> {
  const { rows: sessions } = await db.query<{ id: number }>(
    'insert into sessions (is_active) select 0 from generate_series(1, $1) returning id', [codes.length])
  const { rows } = await db.query<PlayingGame>(
    `insert into session_games (session_id, game_id, room_code, status)
     select s.id, 1, s.code, 'playing' from unnest($1::int[], $2::text[]) as s(id, code)
     returning id, session_id, room_code`, [sessions.map((s) => s.id), codes])
  return rows
}

/** Asks `service` to watch the game's room (POST start-player-check); throws unless it answers 200. */
export async function startPlayerCheck (service: ServiceProcess, game: PlayingGame): Promise<void> {
  const res = await fetch(`${service.url}/api/sessions/${game.session_id}/games/${game.id}/start-player-check`, {
    method: 'POST', headers: { authorization: `Bearer ${service.token}` }
  })
  if (res.status !== 200) throw new Error(`start-player-check answered ${res.status}: ${await res.text()}`)
}
