import type { LiveClient } from './client.ts'
import { serialize } from './client.ts'
import type { LiveSource } from './source.ts'

// Events per read while a resuming client catches up.
const RESUME_PAGE = 500

/** How the replay reaches the client through the hub. */
export interface ReplayTarget {
  /** Writes one serialized event to the client (or drops a client too far behind). */
  write (bytes: Buffer): void
  /** The replay failed: the client is unsubscribed from the session. */
  abandon (): void
}

/**
 * Replays a session's history to a client subscribed with `hold`: every event after `since` (read page by page),
 * then the live events held meanwhile that the history did not include, then live ones as they come: no gap and no
 * duplicate. After `caughtUp` nothing at or below the last replayed id can still arrive live from this process's
 * reader, so the held events complete the history.
 */
export async function replay (client: LiveClient, sessionId: number, since: number, source: LiveSource, target: ReplayTarget): Promise<void> {
  let last = since
  try {
    for (;;) {
      const page = await source.readSession(sessionId, last, RESUME_PAGE)
      for (const event of page) {
        if (!client.held.has(sessionId)) return // unsubscribed or gone meanwhile
        target.write(serialize(event))
        last = event.id
      }
      if (page.length === 0) break
    }
    await source.caughtUp()
  } catch (err) {
    target.abandon()
    throw err
  }
  const held = client.held.get(sessionId)
  client.held.delete(sessionId)
  for (const event of held ?? []) {
    if (event.id <= last) continue
    target.write(serialize(event))
    last = event.id
  }
  // Everything up to `last` was sent. `caughtUp` resolves even when this process's reader failed to read the log (it
  // retries on its next poll), so the reader may still hand on events the history already replayed: never send them again.
  if (client.sessions.has(sessionId)) client.sessionLiveAfter.set(sessionId, last)
}
