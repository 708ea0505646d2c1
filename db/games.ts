import { sql, type Kysely } from 'kysely'
import { CATALOG_COLUMNS, type CatalogGame } from './catalog.ts'
import type { Database, Flag, GameRow, GameUpdate, NewGameRow } from './types.ts'
import type { GameFilters } from '../schemas/games.ts'

const flag = (value: boolean): Flag => (value ? 1 : 0)
const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505'
const isForeignKeyViolation = (err: unknown) => (err as { code?: string }).code === '23503'

export function listGames (db: Kysely<Database>, filters: GameFilters): Promise<GameRow[]> {
  let query = db.selectFrom('games').selectAll()
  if (filters.enabled !== undefined) query = query.where('enabled', '=', flag(filters.enabled))
  if (filters.playerCount !== undefined) {
    query = query.where('min_players', '<=', filters.playerCount).where('max_players', '>=', filters.playerCount)
  }
  if (filters.pack !== undefined) query = query.where('pack_name', '=', filters.pack)
  if (filters.gameType !== undefined) query = query.where(sql`lower(game_type)`, '=', filters.gameType.toLowerCase())
  if (filters.familyFriendly !== undefined) query = query.where('family_friendly', '=', flag(filters.familyFriendly))
  if (filters.drawing !== undefined) query = query.where('drawing', '=', flag(filters.drawing))
  // strpos rather than ILIKE: a search for "100%" or "a_b" means those characters, not patterns.
  if (filters.q) query = query.where(sql`strpos(lower(title), ${filters.q.toLowerCase()})`, '>', 0)
  return query.orderBy('pack_name').orderBy('title').orderBy('id').execute()
}

export function findGame (db: Kysely<Database>, id: number): Promise<GameRow | undefined> {
  return db.selectFrom('games').selectAll().where('id', '=', id).executeTakeFirst()
}

/** Inserts a game; 'duplicate' when its (pack_name, title) is taken. */
export async function insertGame (db: Kysely<Database>, game: NewGameRow): Promise<GameRow | 'duplicate'> {
  try {
    return await db.insertInto('games').values(game).returningAll().executeTakeFirstOrThrow()
  } catch (err) {
    if (isUniqueViolation(err)) return 'duplicate'
    throw err
  }
}

/** Updates a game's facts; undefined when there is no such game, 'duplicate' when the new (pack_name, title) is taken. */
export async function updateGame (db: Kysely<Database>, id: number, changes: GameUpdate): Promise<GameRow | 'duplicate' | undefined> {
  try {
    return await db.updateTable('games').set(changes).where('id', '=', id).returningAll().executeTakeFirst()
  } catch (err) {
    if (isUniqueViolation(err)) return 'duplicate'
    throw err
  }
}

export function toggleGame (db: Kysely<Database>, id: number): Promise<GameRow | undefined> {
  return db.updateTable('games')
    .set({ enabled: sql<Flag>`1 - enabled` })
    .where('id', '=', id)
    .returningAll().executeTakeFirst()
}

/** Deletes a game no session or vote refers to. */
export async function deleteGame (db: Kysely<Database>, id: number): Promise<'deleted' | 'not-found' | 'in-use'> {
  const used = await db.selectFrom('games')
    .select((eb) => [
      eb.exists(eb.selectFrom('session_games').select('id').where('game_id', '=', id)).as('in_session'),
      eb.exists(eb.selectFrom('live_votes').select('id').where('game_id', '=', id)).as('voted')
    ])
    .where('id', '=', id)
    .executeTakeFirst()
  if (!used) return 'not-found'
  if (used.in_session || used.voted) return 'in-use'
  try {
    const deleted = await db.deleteFrom('games').where('id', '=', id).executeTakeFirst()
    return deleted.numDeletedRows > 0n ? 'deleted' : 'not-found'
  } catch (err) {
    // A session added the game between the check and the delete: the foreign key refuses it.
    if (isForeignKeyViolation(err)) return 'in-use'
    throw err
  }
}

export interface PackSummary {
  name: string
  total: number
  enabled: number
}

export function listPacks (db: Kysely<Database>): Promise<PackSummary[]> {
  return db.selectFrom('games')
    .select([
      'pack_name as name',
      sql<number>`count(*)::int`.as('total'),
      sql<number>`sum(enabled)::int`.as('enabled')
    ])
    .groupBy('pack_name')
    .orderBy('pack_name')
    .execute()
}

/** Enables or disables every game of a pack; returns how many games the pack has (0: no such pack). */
export async function updatePackEnabled (db: Kysely<Database>, pack: string, enabled: boolean): Promise<number> {
  const result = await db.updateTable('games').set({ enabled: flag(enabled) }).where('pack_name', '=', pack).executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/** The catalog's CSV columns (and id) of the `limit` games after id `afterId`, in id order: one page of the catalog. */
export function listCatalogGamesAfter (db: Kysely<Database>, afterId: number, limit: number): Promise<Array<CatalogGame & { id: number }>> {
  return db.selectFrom('games').select(['id', ...CATALOG_COLUMNS]).where('id', '>', afterId).orderBy('id').limit(limit).execute()
}

const CHUNK = 500
// Games per statement of an import: each column travels as one array parameter (a VALUES list of thousands of
// parameters took PGlite ~60 ms per 500 games; arrays take a fraction of that).
const IMPORT_CHUNK = 1000

/** The games as one array per catalog column, in order, for `unnest`. */
export function catalogArrays (games: CatalogGame[]) {
  return sql.join([
    sql`${games.map((g) => g.pack_name)}::text[]`,
    sql`${games.map((g) => g.title)}::text[]`,
    sql`${games.map((g) => g.min_players)}::int[]`,
    sql`${games.map((g) => g.max_players)}::int[]`,
    sql`${games.map((g) => g.length_minutes)}::int[]`,
    sql`${games.map((g) => g.has_audience)}::smallint[]`,
    sql`${games.map((g) => g.family_friendly)}::smallint[]`,
    sql`${games.map((g) => g.game_type)}::text[]`,
    sql`${games.map((g) => g.drawing)}::smallint[]`
  ])
}

export const catalogRefs = sql.join(CATALOG_COLUMNS.map((c) => sql.ref(c)))

/** Updates the catalog facts of the games with the same (pack_name, title). */
export async function updateGamesByKey (db: Kysely<Database>, games: CatalogGame[]): Promise<void> {
  // Updated rather than upserted: ON CONFLICT would burn an id from the sequence per row.
  for (let i = 0; i < games.length; i += IMPORT_CHUNK) {
    await sql`update games as g set min_players = v.min_players, max_players = v.max_players,
        length_minutes = v.length_minutes, has_audience = v.has_audience, family_friendly = v.family_friendly,
        game_type = v.game_type, drawing = v.drawing
      from unnest(${catalogArrays(games.slice(i, i + IMPORT_CHUNK))}) as v (${catalogRefs})
      where g.pack_name = v.pack_name and g.title = v.title`.execute(db)
  }
}

/** Deletes these games, except those a session or a vote refers to. */
export async function deleteUnusedGames (db: Kysely<Database>, ids: number[]): Promise<void> {
  for (let i = 0; i < ids.length; i += CHUNK) {
    await db.deleteFrom('games')
      .where('id', 'in', ids.slice(i, i + CHUNK))
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('session_games').select('id').whereRef('session_games.game_id', '=', 'games.id'))))
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('live_votes').select('id').whereRef('live_votes.game_id', '=', 'games.id'))))
      .execute()
  }
}
