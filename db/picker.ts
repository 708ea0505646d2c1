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
const WEIGHTS: Record<number, number> = { 1: 15, 0: 5, [-1]: 1 }

type GamesQuery<O> = SelectQueryBuilder<Database, 'games', O>

/** The filters that define a pool: everything but the per-request exclusions. */
type PoolFilters = Omit<PickFilters, 'excludeIds' | 'sessionId'>

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

interface Candidate { id: number, weight: number }
interface CandidatePool { candidates: Candidate[], totalEnabled: number }

/** Candidate pools in memory are this many filter combinations at most; the oldest goes first. */
const MAX_CACHED_POOLS = 100

/**
 * Candidate pools, cached per catalog version. Filtering runs in SQL, once per filter combination and catalog version
 * (a trigger on games moves the version when anything the picker reads changes); a pick then costs one small query for
 * the version (and the session's recent games) and one to read the chosen game. Only ids and weights are kept.
 */
export class CandidatePools {
  #version: string | undefined
  readonly #pools = new Map<string, Promise<CandidatePool>>()

  /** The pool for these filters at `version`, read from the database on a miss. */
  get (db: Kysely<Database>, version: string, filters: PoolFilters): Promise<CandidatePool> {
    if (version !== this.#version) {
      this.#pools.clear()
      this.#version = version
    }
    const key = JSON.stringify(Object.entries(filters).sort(([a], [b]) => a.localeCompare(b)))
    let pool = this.#pools.get(key)
    if (!pool) {
      pool = readPool(db, filters)
      pool.catch(() => this.#pools.delete(key))
      if (this.#pools.size >= MAX_CACHED_POOLS) this.#pools.delete(this.#pools.keys().next().value!)
      this.#pools.set(key, pool)
    }
    return pool
  }
}

async function readPool (db: Kysely<Database>, filters: PoolFilters): Promise<CandidatePool> {
  const [rows, { n }] = await Promise.all([
    candidates(db.selectFrom('games'), filters).select(['id', 'favor_bias']).orderBy('id').execute(),
    db.selectFrom('games').select(sql<number>`count(*)::int`.as('n')).where('enabled', '=', 1).executeTakeFirstOrThrow()
  ])
  return { candidates: rows.map((row) => ({ id: row.id, weight: WEIGHTS[row.favor_bias] })), totalEnabled: n }
}

/**
 * Picks one enabled game matching the filters, weighted by favor_bias: every candidate has probability
 * weight / total weight, and one `r` in [0, 1) on one catalog always gives the same game. Undefined when no game
 * matches; 404 for an unknown session.
 */
export async function pickGame (db: Kysely<Database>, pools: CandidatePools, filters: PickFilters, r: number): Promise<Pick | undefined> {
  const { sessionId, excludeIds = [], ...poolFilters } = filters
  // The catalog may change between reading the version and reading the game; then the next attempt sees the new one.
  for (let attempt = 0; attempt < 3; attempt++) {
    const state = await db.selectFrom('catalog_version')
      .select(sql<string>`version::text`.as('version'))
      .$if(sessionId !== undefined, (q) => q.select((eb) => [
        eb.exists(eb.selectFrom('sessions').select('id').where('id', '=', sessionId!)).as('session_exists'),
        // Repeat avoidance: the games of the session's two most recently added session games.
        sql<number[]>`array(${eb.selectFrom('session_games').select('game_id').where('session_id', '=', sessionId!)
          .orderBy('played_at', 'desc').orderBy('id', 'desc').limit(2)})`.as('recent_game_ids')
      ]))
      .executeTakeFirstOrThrow()
    if (sessionId !== undefined && !state.session_exists) throw new NotFound('Session')
    const pool = await pools.get(db, state.version, poolFilters)
    const excluded = new Set([...excludeIds, ...(state.recent_game_ids ?? [])])
    const eligible = excluded.size ? pool.candidates.filter((c) => !excluded.has(c.id)) : pool.candidates
    if (!eligible.length) return undefined
    let ticket = Math.floor(r * eligible.reduce((sum, c) => sum + c.weight, 0))
    const chosen = eligible.find((c) => (ticket -= c.weight) < 0)!
    const game = await db.selectFrom('games').selectAll('games')
      .innerJoin('catalog_version', (join) => join.onTrue())
      .where('games.id', '=', chosen.id)
      .where(sql<string>`catalog_version.version::text`, '=', state.version)
      .executeTakeFirst()
    if (game) return { game, poolSize: eligible.length, totalEnabled: pool.totalEnabled }
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
