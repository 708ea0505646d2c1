import { sql, type Kysely } from 'kysely'
import type { Database } from './types.ts'

const TOP = 5

/** The Stats object GET /api/stats answers with (schemas/stats.ts); its type is what the queries return. */
export async function findStats (db: Kysely<Database>) {
  const topBy = (column: 'play_count' | 'popularity_score') => db.selectFrom('games').selectAll()
    .orderBy(column, 'desc').orderBy('title').orderBy('id').limit(TOP).execute()
  const [counts, mostPlayed, topRated] = await Promise.all([
    db.selectNoFrom((eb) => [
      eb.selectFrom('games').select(sql<number>`count(*)::int`.as('n')).as('games'),
      eb.selectFrom('games').select(sql<number>`count(*)::int`.as('n')).where('enabled', '=', 1).as('gamesEnabled'),
      eb.selectFrom('games').select(sql<number>`count(distinct pack_name)::int`.as('n')).as('packs'),
      eb.selectFrom('sessions').select(sql<number>`count(*)::int`.as('n')).where('deleting_at', 'is', null).as('sessions'),
      eb.selectFrom('sessions').select('id').where('is_active', '=', 1).limit(1).as('activeSessionId'),
      eb.selectFrom('session_games').select(sql<number>`count(*)::int`.as('n')).as('totalGamesPlayed')
    ]).executeTakeFirstOrThrow(),
    topBy('play_count'),
    topBy('popularity_score')
  ])
  return {
    games: Number(counts.games),
    gamesEnabled: Number(counts.gamesEnabled),
    packs: Number(counts.packs),
    sessions: Number(counts.sessions),
    activeSessionId: counts.activeSessionId ?? null,
    totalGamesPlayed: Number(counts.totalGamesPlayed),
    mostPlayed,
    topRated
  }
}
