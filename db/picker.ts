import { sql, type Kysely, type SelectQueryBuilder } from 'kysely'
import type { Database, GameRow } from './types.ts'

export interface PickFilters {
  playerCount?: number
  drawing?: 'only' | 'exclude'
  length?: 'short' | 'medium' | 'long'
  familyFriendly?: boolean
  gameType?: string
  packs?: string[]
  excludeIds?: number[]
  sessionId?: number
}

type GamesQuery<O> = SelectQueryBuilder<Database, 'games', O>

/** The filters that define a pool: everything but the per-request exclusions. */
export type PoolFilters = Omit<PickFilters, 'excludeIds' | 'sessionId'>

/** The candidate games: enabled and matching every filter given. */
function candidates<O> (query: GamesQuery<O>, filters: PoolFilters): GamesQuery<O> {
  query = query.where('enabled', '=', 1)
  if (filters.playerCount !== undefined) {
    query = query.where('min_players', '<=', filters.playerCount).where('max_players', '>=', filters.playerCount)
  }
  if (filters.drawing) query = query.where('drawing', '=', filters.drawing === 'only' ? 1 : 0)
  // A game of unknown length (null) matches no length filter.
  if (filters.length === 'short') query = query.where('length_minutes', '<=', 15)
  if (filters.length === 'medium') query = query.where('length_minutes', '>=', 16).where('length_minutes', '<=', 25)
  if (filters.length === 'long') query = query.where('length_minutes', '>', 25)
  if (filters.familyFriendly !== undefined) query = query.where('family_friendly', '=', filters.familyFriendly ? 1 : 0)
  if (filters.gameType !== undefined) query = query.where(sql`lower(game_type)`, '=', filters.gameType.toLowerCase())
  if (filters.packs?.length) query = query.where('pack_name', 'in', filters.packs)
  return query
}

/** The candidates for a pool (ids and favor_bias, in id order) and how many games are enabled. */
export async function listCandidates (db: Kysely<Database>, filters: PoolFilters) {
  const [rows, { n }] = await Promise.all([
    candidates(db.selectFrom('games'), filters).select(['id', 'favor_bias']).orderBy('id').execute(),
    db.selectFrom('games').select(sql<number>`count(*)::int`.as('n')).where('enabled', '=', 1).executeTakeFirstOrThrow()
  ])
  return { rows, totalEnabled: n }
}

/**
 * The catalog version (a trigger on games moves it whenever anything the picker reads changes) and, for a session,
 * whether it exists and the games of its two most recently added session games.
 */
export function findPickState (db: Kysely<Database>, sessionId: number | undefined) {
  return db.selectFrom('catalog_version')
    .select(sql<string>`version::text`.as('version'))
    .$if(sessionId !== undefined, (q) => q.select((eb) => [
      eb.exists(eb.selectFrom('sessions').select('id').where('id', '=', sessionId!).where('deleting_at', 'is', null)).as('session_exists'),
      sql<number[]>`array(${eb.selectFrom('session_games').select('game_id').where('session_id', '=', sessionId!)
        .orderBy('played_at', 'desc').orderBy('id', 'desc').limit(2)})`.as('recent_game_ids')
    ]))
    .executeTakeFirstOrThrow()
}

/** A game, provided the catalog is still at `version`; undefined otherwise. */
export function findGameAtVersion (db: Kysely<Database>, id: number, version: string): Promise<GameRow | undefined> {
  return db.selectFrom('games').selectAll('games')
    .innerJoin('catalog_version', (join) => join.onTrue())
    .where('games.id', '=', id)
    .where(sql<string>`catalog_version.version::text`, '=', version)
    .executeTakeFirst()
}
