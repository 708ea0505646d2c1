import type { Kysely } from 'kysely'
import type { Database, Flag, SessionGameStatus } from '../db/types.ts'
import { lockSession } from '../db/sessions.ts'
import * as sessionGames from '../db/session-games.ts'
import { hasRoomLease } from '../db/room-leases.ts'
import { GameNotFound, SessionClosed, SessionGameNotFound, SessionNotFound } from './errors.ts'
import { recordEvent, recordInternalEvent } from './events.ts'

// The room monitor of every process follows the log (monitor/index.ts): these operations never call it. Each one
// stores the player-check status its change implies and records the event the monitor starts, stops or restarts a
// watch on, in the transaction of the change.

export interface NewSessionGame {
  game_id: number
  manually_added: Flag
  room_code: string | null
}

/**
 * Adds a game to an open session as `playing`: the previous `playing` game becomes `played` (its player check stops),
 * the game's play_count grows. With a room code the check starts (`checking`): the room monitor starts the watch on
 * `game.added`, which carries the session summary and the session game as inserted, before its check started.
 * Returns the summary and the session game as committed.
 */
export function addSessionGame (db: Kysely<Database>, sessionId: number, values: NewSessionGame) {
  return db.transaction().execute(async (trx) => {
    const session = await lockSession(trx, sessionId)
    if (!session) throw new SessionNotFound()
    if (session.is_active !== 1) throw new SessionClosed()
    if (!await sessionGames.incrementPlayCount(trx, values.game_id)) throw new GameNotFound()
    const finishedIds = await sessionGames.finishPlaying(trx, sessionId)
    await sessionGames.stopPlayerChecks(trx, finishedIds)
    const id = await sessionGames.insertSessionGame(trx, sessionId, values)
    const added = (await sessionGames.findSessionGame(trx, sessionId, id))!
    if (values.room_code) await sessionGames.markPlayerCheckStarted(trx, id)
    const summary = { id: sessionId, is_active: session.is_active, games_played: await sessionGames.countSessionGames(trx, sessionId) }
    for (const finished of finishedIds) {
      await recordInternalEvent(trx, 'session-game.status-changed', sessionId, { sessionGameId: finished, status: 'played' })
    }
    await recordEvent(trx, 'game.added', sessionId, { session: summary, game: added })
    const sessionGame = values.room_code ? { ...added, player_count_check_status: 'checking' as const } : added
    return { session: summary, sessionGame }
  })
}

/**
 * Sets a session game's status; `playing` sets the session's other `playing` games to `played`. A game that stops
 * playing stops its player check (`checking` becomes `stopped`), and its watch stops on the status-changed event.
 */
export function setSessionGameStatus (db: Kysely<Database>, sessionId: number, sessionGameId: number, status: SessionGameStatus) {
  return db.transaction().execute(async (trx) => {
    await lockSession(trx, sessionId)
    const finishedIds = status === 'playing' ? await sessionGames.finishPlaying(trx, sessionId, sessionGameId) : []
    if (!await sessionGames.updateSessionGameStatus(trx, sessionId, sessionGameId, status)) throw new SessionGameNotFound()
    await sessionGames.stopPlayerChecks(trx, status === 'playing' ? finishedIds : [sessionGameId])
    for (const finished of finishedIds) {
      await recordInternalEvent(trx, 'session-game.status-changed', sessionId, { sessionGameId: finished, status: 'played' })
    }
    await recordInternalEvent(trx, 'session-game.status-changed', sessionId, { sessionGameId, status })
  })
}

/** Removes a game from a session, undoing the add's play_count increment; its watch stops on the removed event. */
export function removeSessionGame (db: Kysely<Database>, sessionId: number, sessionGameId: number) {
  return db.transaction().execute(async (trx) => {
    const gameId = await sessionGames.deleteSessionGame(trx, sessionId, sessionGameId)
    if (gameId === undefined) throw new SessionGameNotFound()
    await sessionGames.decrementPlayCount(trx, gameId)
    await recordInternalEvent(trx, 'session-game.removed', sessionId, { sessionGameId })
  })
}

/**
 * Sets a session game's room code; returns the session game. A new code of a watched room (it has a lease) restarts
 * the check: `checking` again, and the watch moves to the new code on the room-code-changed event.
 */
export function setRoomCode (db: Kysely<Database>, sessionId: number, sessionGameId: number, roomCode: string) {
  return db.transaction().execute(async (trx) => {
    const current = await sessionGames.lockSessionGame(trx, sessionId, sessionGameId)
    if (!current) throw new SessionGameNotFound()
    if (current.room_code !== roomCode) {
      await sessionGames.updateRoomCode(trx, sessionId, sessionGameId, roomCode)
      if (await hasRoomLease(trx, sessionGameId)) await sessionGames.markPlayerCheckStarted(trx, sessionGameId)
      await recordInternalEvent(trx, 'session-game.room-code-changed', sessionId, { sessionGameId, roomCode })
    }
    return (await sessionGames.findSessionGame(trx, sessionId, sessionGameId))!
  })
}

/**
 * Stores a player count given by hand as final; announces `player-count.updated` with `source: "manual"`, on which the
 * room monitor stops the watch (its counts no longer store: the check is `completed`).
 */
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
