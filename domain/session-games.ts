import type { Kysely } from 'kysely'
import type { Database, Flag, SessionGameStatus } from '../db/types.ts'
import { lockSession } from '../db/sessions.ts'
import * as sessionGames from '../db/session-games.ts'
import { GameNotFound, SessionClosed, SessionGameNotFound, SessionNotFound } from './errors.ts'
import { recordEvent } from './events.ts'

export interface NewSessionGame {
  game_id: number
  manually_added: Flag
  room_code: string | null
}

/**
 * Adds a game to an open session as `playing`: the previous `playing` game becomes `played`, the game's play_count
 * grows. `game.added` carries the session summary and the session game as committed. Returns them and the ids of the
 * games that stopped playing.
 */
export function addSessionGame (db: Kysely<Database>, sessionId: number, values: NewSessionGame) {
  return db.transaction().execute(async (trx) => {
    const session = await lockSession(trx, sessionId)
    if (!session) throw new SessionNotFound()
    if (session.is_active !== 1) throw new SessionClosed()
    if (!await sessionGames.incrementPlayCount(trx, values.game_id)) throw new GameNotFound()
    const finishedIds = await sessionGames.finishPlaying(trx, sessionId)
    const id = await sessionGames.insertSessionGame(trx, sessionId, values)
    const sessionGame = (await sessionGames.findSessionGame(trx, sessionId, id))!
    const summary = { id: sessionId, is_active: session.is_active, games_played: await sessionGames.countSessionGames(trx, sessionId) }
    await recordEvent(trx, 'game.added', sessionId, { session: summary, game: sessionGame })
    return { session: summary, sessionGame, finishedIds }
  })
}

/** Sets a session game's status; `playing` sets the session's other `playing` games to `played`. Returns their ids. */
export function setSessionGameStatus (db: Kysely<Database>, sessionId: number, sessionGameId: number, status: SessionGameStatus) {
  return db.transaction().execute(async (trx) => {
    await lockSession(trx, sessionId)
    const finishedIds = status === 'playing' ? await sessionGames.finishPlaying(trx, sessionId, sessionGameId) : []
    if (!await sessionGames.updateSessionGameStatus(trx, sessionId, sessionGameId, status)) throw new SessionGameNotFound()
    return { finishedIds }
  })
}

/** Removes a game from a session, undoing the add's play_count increment. */
export function removeSessionGame (db: Kysely<Database>, sessionId: number, sessionGameId: number) {
  return db.transaction().execute(async (trx) => {
    const gameId = await sessionGames.deleteSessionGame(trx, sessionId, sessionGameId)
    if (gameId === undefined) throw new SessionGameNotFound()
    await sessionGames.decrementPlayCount(trx, gameId)
  })
}

/** Sets a session game's room code; returns the session game. */
export function setRoomCode (db: Kysely<Database>, sessionId: number, sessionGameId: number, roomCode: string) {
  return db.transaction().execute(async (trx) => {
    if (!await sessionGames.updateRoomCode(trx, sessionId, sessionGameId, roomCode)) throw new SessionGameNotFound()
    return (await sessionGames.findSessionGame(trx, sessionId, sessionGameId))!
  })
}

/** Stores a player count given by hand as final; announces `player-count.updated` with `source: "manual"`. */
export function setPlayerCount (db: Kysely<Database>, sessionId: number, sessionGameId: number, playerCount: number) {
  return db.transaction().execute(async (trx) => {
    if (!await sessionGames.updatePlayerCount(trx, sessionId, sessionGameId, playerCount)) throw new SessionGameNotFound()
    const sessionGame = (await sessionGames.findSessionGame(trx, sessionId, sessionGameId))!
    await recordEvent(trx, 'player-count.updated', sessionId, {
      sessionId,
      sessionGameId,
      roomCode: sessionGame.room_code,
      playerCount,
      status: sessionGame.player_count_check_status,
      source: 'manual'
    })
    return sessionGame
  })
}

/** A session game of a session; SessionGameNotFound when the session has no such game. */
export async function getSessionGame (db: Kysely<Database>, sessionId: number, sessionGameId: number) {
  const sessionGame = await sessionGames.findSessionGame(db, sessionId, sessionGameId)
  if (!sessionGame) throw new SessionGameNotFound()
  return sessionGame
}
