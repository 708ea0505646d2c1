import type { Kysely } from 'kysely'
import type { Database, GameRow } from './types.ts'

// The columns of data/jackbox-games.csv, in order: the bundled catalog, the CSV export and the CSV import share them.
export const CATALOG_COLUMNS = ['pack_name', 'title', 'min_players', 'max_players', 'length_minutes',
  'has_audience', 'family_friendly', 'game_type', 'drawing'] as const

/** The bundled catalog (read and parsed by domain/catalog.ts). */
export const BUNDLED_CATALOG = new URL('./catalog/jackbox-games.csv', import.meta.url)

/** A game's catalog facts, every one of them given (the import and the bundled file fill in what a row leaves empty). */
export type CatalogGame = Pick<GameRow, typeof CATALOG_COLUMNS[number]>

export async function hasGames (db: Kysely<Database>): Promise<boolean> {
  return (await db.selectFrom('games').select('id').limit(1).executeTakeFirst()) !== undefined
}

/** Inserts games, skipping any whose (pack_name, title) exists; returns how many were inserted. */
export async function insertNewGames (db: Kysely<Database>, games: CatalogGame[]): Promise<number> {
  // ON CONFLICT: two processes booting on one empty database at once must not fail.
  const result = await db.insertInto('games').values(games)
    .onConflict((oc) => oc.columns(['pack_name', 'title']).doNothing())
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0)
}
