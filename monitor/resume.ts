import type { findTakeover } from '../db/room-monitor.ts'
import type { WatchReport } from '../domain/player-check.ts'
import type { PublishedState, WatchResume } from './watch-types.ts'

// What a room's watch published, between the watch's terms and the database's: stored with each event or count
// (`report`), and read back by a process that takes the room over (`resumeFrom`), so that it neither repeats nor skips
// what its predecessor reported.

/** A watch's published state as the database stores it. */
export const report = (published: PublishedState | undefined): WatchReport | undefined => published && {
  lobby_state: published.lobby.lobbyState ?? null,
  game_can_start: published.lobby.gameCanStart ?? null,
  description_id: published.descriptionId
}

/** What an earlier watch of this game already reported, from the log and the rows (a takeover must not repeat it). */
export function resumeFrom (game: NonNullable<Awaited<ReturnType<typeof findTakeover>>>): WatchResume & { ended: boolean } {
  const { announced } = game
  // The row backs the log up: a `completed` check means the start was stored, a stored count that the room was found.
  const started = announced.includes('game.started') || game.player_count_check_status === 'completed'
  return {
    connected: started || game.player_count !== null || announced.includes('room.connected'),
    started,
    ended: announced.includes('game.ended'),
    playerCount: game.player_count,
    published: {
      lobby: game.lobby_state === null ? {} : { lobbyState: game.lobby_state, gameCanStart: game.game_can_start ?? undefined },
      descriptionId: game.description_id
    }
  }
}
