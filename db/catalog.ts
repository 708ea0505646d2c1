import { readFile } from 'node:fs/promises'
import { parse } from 'csv-parse/sync'
import type { Kysely } from 'kysely'
import type { Database, Flag, NewGameRow } from './types.ts'

// The columns of data/jackbox-games.csv, in order: the bundled catalog, the CSV export and the CSV import share them.
export const CATALOG_COLUMNS = ['pack_name', 'title', 'min_players', 'max_players', 'length_minutes',
  'has_audience', 'family_friendly', 'game_type', 'drawing'] as const

const BUNDLED_CATALOG = new URL('./catalog/jackbox-games.csv', import.meta.url)

export type CatalogGame = Pick<NewGameRow, typeof CATALOG_COLUMNS[number]>

/** Parses catalog CSV text into records keyed by header; throws on malformed CSV structure. */
export function parseCatalogCsv (text: string): Record<string, string>[] {
  return parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true })
}

const asFlag = (value: string): Flag => (value === '1' || value.toLowerCase() === 'true' ? 1 : 0)

/** The bundled catalog as rows ready to insert. Its facts are trusted; user CSV goes through validation instead. */
export async function readBundledCatalog (): Promise<CatalogGame[]> {
  const records = parseCatalogCsv(await readFile(BUNDLED_CATALOG, 'utf8'))
  return records.map((r) => ({
    pack_name: r.pack_name,
    title: r.title,
    min_players: Number(r.min_players),
    max_players: Number(r.max_players),
    length_minutes: r.length_minutes ? Number(r.length_minutes) : null,
    has_audience: asFlag(r.has_audience),
    family_friendly: asFlag(r.family_friendly),
    game_type: r.game_type || null,
    drawing: asFlag(r.drawing)
  }))
}

/** Loads the bundled catalog when the games table is empty (first boot). Returns how many games were inserted. */
export async function seedCatalogIfEmpty (db: Kysely<Database>): Promise<number> {
  const any = await db.selectFrom('games').select('id').limit(1).executeTakeFirst()
  if (any) return 0
  const games = await readBundledCatalog()
  // ON CONFLICT: two processes booting on one empty database at once must not fail.
  const result = await db.insertInto('games').values(games)
    .onConflict((oc) => oc.columns(['pack_name', 'title']).doNothing())
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0)
}
