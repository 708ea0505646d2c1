import type { Kysely, RawBuilder } from 'kysely'
import type { Database } from './types.ts'

// The one rule for which game a vote belongs to, shared by chat import and live votes: the session game with the
// latest `played_at` at or before the vote's time (for equal `played_at`, the one added last). Skipped games are
// part of the timeline: a vote cast while a game was on screen is about that game. Votes before the first game
// belong to none.

export interface TimelineEntry {
  /** session_games.id */
  id: number
  game_id: number
  title: string
  played_at: Date
}

/** A session's games in play order. */
export function loadTimeline (db: Kysely<Database>, sessionId: number): Promise<TimelineEntry[]> {
  return db.selectFrom('session_games as sg')
    .innerJoin('games as g', 'g.id', 'sg.game_id')
    .select(['sg.id', 'sg.game_id', 'g.title', 'sg.played_at'])
    .where('sg.session_id', '=', sessionId)
    .orderBy('sg.played_at').orderBy('sg.id')
    .execute()
}

/** The entry a vote at `at` belongs to, by binary search over a timeline from loadTimeline. */
export function entryAt (timeline: readonly TimelineEntry[], at: Date): TimelineEntry | undefined {
  const t = at.getTime()
  let lo = 0
  let hi = timeline.length // invariant: entries before lo start at or before t, entries from hi on start after t
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (timeline[mid].played_at.getTime() <= t) lo = mid + 1
    else hi = mid
  }
  return lo > 0 ? timeline[lo - 1] : undefined
}

/**
 * The same rule for a single vote, answered by the database: the session may be an id or a reference to an outer
 * query's column, so a caller can fold the lookup into a larger statement.
 */
export function sessionGameAt (db: Kysely<Database>, sessionId: number | RawBuilder<number>, at: Date) {
  return db.selectFrom('session_games as sg')
    .innerJoin('games as g', 'g.id', 'sg.game_id')
    .select(['sg.id', 'sg.game_id', 'g.title', 'sg.played_at'])
    .where('sg.session_id', '=', sessionId)
    .where('sg.played_at', '<=', at)
    .orderBy('sg.played_at', 'desc').orderBy('sg.id', 'desc')
    .limit(1)
}
