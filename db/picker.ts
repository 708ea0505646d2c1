import { sql, type Kysely } from 'kysely'
import { NotFound } from '../plugins/errors.ts'
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

export interface Pick {
  game: GameRow
  poolSize: number
  totalEnabled: number
}

// favor_bias 1 / 0 / -1 weigh 3 / 1 / 0.2; scaled by 5 to stay integers, so every database sums them alike.
const WEIGHT = sql<number>`case favor_bias when 1 then 15 when 0 then 5 else 1 end`

/**
 * Picks one enabled game matching the filters, weighted by favor_bias, entirely in SQL: the candidates are summed
 * cumulatively in id order and the first whose running weight passes `r` × the total weight wins. `r` in [0, 1)
 * decides the choice, so one `r` on one catalog always gives the same game. Undefined when no game matches;
 * 404 for an unknown session.
 */
export async function pickGame (db: Kysely<Database>, filters: PickFilters, r: number): Promise<Pick | undefined> {
  const { sessionId } = filters
  if (sessionId !== undefined) {
    const session = await db.selectFrom('sessions').select('id').where('id', '=', sessionId).executeTakeFirst()
    if (!session) throw new NotFound('Session')
  }
  let pool = db.selectFrom('games').select(['id', WEIGHT.as('w')]).where('enabled', '=', 1)
  if (filters.playerCount !== undefined) {
    pool = pool.where('min_players', '<=', filters.playerCount).where('max_players', '>=', filters.playerCount)
  }
  if (filters.drawing) pool = pool.where('drawing', '=', filters.drawing === 'only' ? 1 : 0)
  // A game of unknown length (null) matches no length filter.
  if (filters.length === 'short') pool = pool.where('length_minutes', '<=', 15)
  if (filters.length === 'medium') pool = pool.where('length_minutes', '>=', 16).where('length_minutes', '<=', 25)
  if (filters.length === 'long') pool = pool.where('length_minutes', '>', 25)
  if (filters.familyFriendly !== undefined) pool = pool.where('family_friendly', '=', filters.familyFriendly ? 1 : 0)
  if (filters.gameType !== undefined) pool = pool.where(sql`lower(game_type)`, '=', filters.gameType.toLowerCase())
  if (filters.packs?.length) pool = pool.where('pack_name', 'in', filters.packs)
  if (filters.excludeIds?.length) pool = pool.where('id', 'not in', filters.excludeIds)
  if (sessionId !== undefined) {
    // Repeat avoidance: the games of the session's two most recently added session games.
    pool = pool.where('id', 'not in', db.selectFrom('session_games').select('game_id')
      .where('session_id', '=', sessionId)
      .orderBy('played_at', 'desc').orderBy('id', 'desc')
      .limit(2))
  }
  const row = await db
    .with('pool', () => pool)
    .with('ranked', (qb) => qb.selectFrom('pool').select([
      'id',
      sql<number>`(sum(w) over (order by id))::int`.as('running'),
      sql<number>`(sum(w) over ())::int`.as('total'),
      sql<number>`(count(*) over ())::int`.as('pool_size')
    ]))
    .selectFrom('ranked')
    .innerJoin('games', 'games.id', 'ranked.id')
    .selectAll('games')
    .select([
      'ranked.pool_size',
      (eb) => eb.selectFrom('games').select(sql<number>`count(*)::int`.as('n')).where('enabled', '=', 1).as('total_enabled')
    ])
    .where('ranked.running', '>', sql<number>`floor(${r}::float8 * ranked.total)`)
    .orderBy('ranked.id')
    .limit(1)
    .executeTakeFirst()
  if (!row) return undefined
  const { pool_size: poolSize, total_enabled: totalEnabled, ...game } = row
  return { game, poolSize, totalEnabled: Number(totalEnabled) }
}

/** A small seeded PRNG (mulberry32): the same seed yields the same sequence on every platform. */
export function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
