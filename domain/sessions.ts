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

/** Deletes a closed session with its session games, chat logs and votes. */
export async function deleteSession (db: Kysely<Database>, id: number): Promise<void> {
  if (await sessions.deleteClosedSession(db, id)) return
  throw await sessions.findSession(db, id) ? new SessionStillActive() : new SessionNotFound()
}
