import { sql, type Kysely, type SelectQueryBuilder } from 'kysely'
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

// favor_bias 1 / 0 / -1 weigh 3 / 1 / 0.2; scaled by 5 to stay integers, so the choice has no rounding to vary.
const WEIGHTS = [[1, 15], [0, 5], [-1, 1]] as const

type GamesQuery<O> = SelectQueryBuilder<Database, 'games', O>

/** The candidate games: enabled and matching every filter given. */
function candidates<O> (query: GamesQuery<O>, filters: PickFilters): GamesQuery<O> {
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
  if (filters.excludeIds?.length) query = query.where('id', 'not in', filters.excludeIds)
  if (filters.sessionId !== undefined) {
    // Repeat avoidance: the games of the session's two most recently added session games.
    query = query.where('games.id', 'not in', (eb) => eb.selectFrom('session_games').select('game_id')
      .where('session_id', '=', filters.sessionId!)
      .orderBy('played_at', 'desc').orderBy('id', 'desc')
      .limit(2))
  }
  return query
}

/**
 * Picks one enabled game matching the filters, weighted by favor_bias, in two small queries and without reading the
 * catalog into memory: count the candidates per favor_bias, let `r` in [0, 1) choose a favor_bias class by its total
 * weight and a position within it, then fetch the candidate at that position in id order. Every game thus has
 * probability weight / total weight, and one `r` on one catalog always gives the same game. Undefined when no game
 * matches; 404 for an unknown session.
 */
export async function pickGame (db: Kysely<Database>, filters: PickFilters, r: number): Promise<Pick | undefined> {
  if (filters.sessionId !== undefined) {
    const session = await db.selectFrom('sessions').select('id').where('id', '=', filters.sessionId).executeTakeFirst()
    if (!session) throw new NotFound('Session')
  }
  // The catalog may change between the two queries; the retry makes a vanished candidate a non-event.
  for (let attempt = 0; attempt < 3; attempt++) {
    const classes = await candidates(db.selectFrom('games'), filters)
      .select(['favor_bias', sql<number>`count(*)::int`.as('n')])
      .select((eb) => eb.selectFrom('games').select(sql<number>`count(*)::int`.as('n')).where('enabled', '=', 1).as('total_enabled'))
      .groupBy('favor_bias')
      .execute()
    if (!classes.length) return undefined
    const count = (bias: number) => classes.find((c) => c.favor_bias === bias)?.n ?? 0
    let ticket = Math.floor(r * WEIGHTS.reduce((sum, [bias, weight]) => sum + count(bias) * weight, 0))
    const [bias, weight] = WEIGHTS.find(([bias, weight]) => {
      if (ticket < count(bias) * weight) return true
      ticket -= count(bias) * weight
      return false
    })!
    const game = await db.selectFrom('games').selectAll()
      .where('id', '=', (eb) => candidates(eb.selectFrom('games'), filters)
        .select('games.id').where('favor_bias', '=', bias).orderBy('games.id').offset(Math.floor(ticket / weight)).limit(1))
      .executeTakeFirst()
    if (game) {
      return { game, poolSize: classes.reduce((sum, c) => sum + c.n, 0), totalEnabled: Number(classes[0].total_enabled) }
    }
  }
  return undefined
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
