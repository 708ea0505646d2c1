import type { Kysely } from 'kysely'
import type { Database, GameRow } from '../db/types.ts'
import { findGameAtVersion, findPickState, listCandidates, type PickFilters, type PoolFilters } from '../db/picker.ts'
import { NoGamesMatch, SessionNotFound } from './errors.ts'

export interface Pick {
  game: GameRow
  poolSize: number
  totalEnabled: number
}

// favor_bias 1 / 0 / -1 weigh 3 / 1 / 0.2; scaled by 5 to stay integers, so the choice has no rounding to vary.
const WEIGHTS: Record<number, number> = { 1: 15, 0: 5, [-1]: 1 }

interface Candidate { id: number, weight: number }
interface CandidatePool { candidates: Candidate[], totalEnabled: number }

/** Candidate pools in memory are this many filter combinations at most; the oldest goes first. */
const MAX_CACHED_POOLS = 100

/**
 * Candidate pools, cached per catalog version. Filtering runs in SQL, once per filter combination and catalog version;
 * a pick then costs one small query for the version (and the session's recent games) and one to read the chosen game.
 * Only ids and weights are kept. The version lives in the database, so every process drops its pools when any changes the catalog.
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
      pool = listCandidates(db, filters).then(({ rows, totalEnabled }) =>
        ({ candidates: rows.map((row) => ({ id: row.id, weight: WEIGHTS[row.favor_bias] })), totalEnabled }))
      pool.catch(() => this.#pools.delete(key))
      if (this.#pools.size >= MAX_CACHED_POOLS) this.#pools.delete(this.#pools.keys().next().value!)
      this.#pools.set(key, pool)
    }
    return pool
  }
}

/** The candidate `r` (in [0, 1)) falls on, each with probability weight / total weight. */
export function weightedChoice<T extends { weight: number }> (items: readonly T[], r: number): T {
  let ticket = Math.floor(r * items.reduce((sum, c) => sum + c.weight, 0))
  return items.find((c) => (ticket -= c.weight) < 0)!
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

/** The picker of one process: its candidate pools cache. */
export class Picker {
  readonly #pools = new CandidatePools()

  constructor (readonly db: Kysely<Database>) {}

  /**
   * Picks one enabled game matching the filters, weighted by favor_bias; the same `seed` on one catalog always gives
   * the same game. With a session, its two most recent games are left out.
   */
  async pick (filters: PickFilters & { seed?: number }): Promise<Pick> {
    const { seed, sessionId, excludeIds = [], ...poolFilters } = filters
    const r = seed === undefined ? Math.random() : mulberry32(seed)()
    // The catalog may change between reading the version and reading the game; then the next attempt sees the new one.
    for (let attempt = 0; attempt < 3; attempt++) {
      const state = await findPickState(this.db, sessionId)
      if (sessionId !== undefined && !state.session_exists) throw new SessionNotFound()
      const pool = await this.#pools.get(this.db, state.version, poolFilters)
      const excluded = new Set([...excludeIds, ...(state.recent_game_ids ?? [])])
      const eligible = excluded.size ? pool.candidates.filter((c) => !excluded.has(c.id)) : pool.candidates
      if (!eligible.length) break
      const game = await findGameAtVersion(this.db, weightedChoice(eligible, r).id, state.version)
      if (game) return { game, poolSize: eligible.length, totalEnabled: pool.totalEnabled }
    }
    throw new NoGamesMatch()
  }
}
