import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Kysely } from 'kysely'
import type { Database } from '../db/types.ts'
import * as sessions from '../db/sessions.ts'
import { stopPlayerChecks } from '../db/session-games.ts'
import { ActiveSessionExists, SessionAlreadyClosed, SessionNotFound, SessionStillActive } from './errors.ts'
import { recordEvent } from './events.ts'

/** Opens a session; `session.started` carries it with games_played 0. Only one session is open at a time. */
export function startSession (db: Kysely<Database>, notes: string | null) {
  return db.transaction().execute(async (trx) => {
    for (;;) {
      const activeId = await sessions.findActiveSessionId(trx)
      if (activeId !== undefined) throw new ActiveSessionExists(activeId)
      const session = await sessions.insertSession(trx, notes)
      // undefined: another request opened one between the look and the insert; the next look finds it.
      if (!session) continue
      await recordEvent(trx, 'session.started', session.id, { session: { ...session, games_played: 0 } })
      return session
    }
  })
}

/**
 * Closes an open session: its `playing` games become `played` and its player checks stop; the room monitor stops the
 * session's watches on `session.ended`. Returns the session.
 */
export function closeSession (db: Kysely<Database>, id: number, notes: string | null | undefined) {
  return db.transaction().execute(async (trx) => {
    const found = await sessions.lockSession(trx, id)
    if (!found) throw new SessionNotFound()
    if (found.is_active !== 1) throw new SessionAlreadyClosed()
    await stopPlayerChecks(trx, await sessions.closeSession(trx, id, notes))
    const session = (await sessions.findSession(trx, id))!
    await recordEvent(trx, 'session.ended', id, { session })
    return session
  })
}

// Rows per statement when a session is deleted: a cascade of 491,000 chat logs held the embedded database for seconds.
const DELETE_BATCH = 2000

/**
 * Deletes a closed session with its session games, chat logs and votes. The session is marked first, in one short
 * statement, from which moment every reader treats it as gone; its rows then go in batches, each its own short
 * statement with a turn of the event loop between them, and the session last.
 */
export async function deleteSession (db: Kysely<Database>, id: number): Promise<void> {
  if (!await sessions.markSessionDeleting(db, id)) {
    throw await sessions.findSession(db, id) ? new SessionStillActive() : new SessionNotFound()
  }
  let renewed = performance.now()
  for (const table of sessions.SESSION_CHILDREN) {
    while (await sessions.deleteSessionRows(db, table, id, DELETE_BATCH) === DELETE_BATCH) {
      await nextTurn()
      if (performance.now() - renewed > 10_000) {
        await sessions.renewSessionDeleting(db, id)
        renewed = performance.now()
      }
    }
  }
  await sessions.deleteMarkedSession(db, id)
}
