import { readFile } from 'node:fs/promises'
import { parse } from 'csv-parse/sync'
import { stringify } from 'csv-stringify/sync'
import type { Kysely } from 'kysely'
import { ApiError } from '../plugins/errors.ts'
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

export interface CsvLineError {
  line: number
  error: string
}

export interface ParsedCatalogCsv {
  /** Valid lines, in CSV order, with their 1-based line number (the header is line 1). */
  games: { line: number, game: CatalogGame }[]
  errors: CsvLineError[]
  /** `pack_name\ttitle` of every line that names a game, valid or not: `replace` keeps these. */
  listed: Set<string>
}

const REQUIRED_COLUMNS = ['pack_name', 'title', 'min_players', 'max_players'] as const

export const catalogKey = (packName: string, title: string) => `${packName}\t${title}`

const newlines = (text: string) => text.split('\n').length - 1

function readFlag (value: string | undefined, column: string): Flag {
  const v = (value ?? '').toLowerCase()
  if (v === '' || v === '0' || v === 'false') return 0
  if (v === '1' || v === 'true') return 1
  throw new Error(`${column} must be 0 or 1`)
}

function readInteger (value: string | undefined, column: string, max: number): number {
  if (!/^\d+$/.test(value ?? '') || Number(value) < 1 || Number(value) > max) {
    throw new Error(`${column} must be a positive integer`)
  }
  return Number(value)
}

function readGame (field: (column: string) => string | undefined): CatalogGame {
  const packName = field('pack_name') ?? ''
  const title = field('title') ?? ''
  if (!packName) throw new Error('pack_name is required')
  if (!title) throw new Error('title is required')
  const minPlayers = readInteger(field('min_players'), 'min_players', 1000)
  const maxPlayers = readInteger(field('max_players'), 'max_players', 1000)
  if (minPlayers > maxPlayers) throw new Error('min_players cannot be greater than max_players')
  const length = field('length_minutes')
  return {
    pack_name: packName,
    title,
    min_players: minPlayers,
    max_players: maxPlayers,
    length_minutes: length ? readInteger(length, 'length_minutes', 1440) : null,
    has_audience: readFlag(field('has_audience'), 'has_audience'),
    family_friendly: readFlag(field('family_friendly'), 'family_friendly'),
    game_type: field('game_type') || null,
    drawing: readFlag(field('drawing'), 'drawing')
  }
}

/**
 * Reads user CSV for an import: a header line naming at least pack_name, title, min_players and max_players, then one
 * game per line. Bad lines (a broken quote, a wrong field count, a bad value, a repeat of an earlier line) are
 * reported with their line number and left out; the rest is returned. Throws only when the header is unusable.
 */
export function parseImportCsv (text: string): ParsedCatalogCsv {
  const errors: CsvLineError[] = []
  const lineAt = (offset: number) => newlines(text.slice(0, offset)) + 1
  // With info and raw, each record comes wrapped; the declared return type does not know that.
  const records = parse(text, {
    bom: true,
    trim: true,
    info: true,
    raw: true,
    skip_empty_lines: true,
    relax_column_count: true,
    skip_records_with_error: true,
    // A broken quote skips the record; err.bytes is where that record began (before any blank lines).
    on_skip: (err, raw) => {
      if (!err) return
      const leading = /^[\r\n]*/.exec(raw ?? '')![0]
      errors.push({ line: lineAt(Number(err.bytes)) + newlines(leading), error: err.message.replace(/ at line \d+.*$/, '') })
    }
  }) as unknown as { record: string[], info: { lines: number }, raw: string }[]
  // The record's own line, not the last line of a quoted multi-line field.
  const lineOf = (r: typeof records[number]) => r.info.lines - newlines(r.raw.replace(/^[\r\n]+/, '').replace(/\r?\n$/, ''))

  const [header, ...rows] = records
  const columns = header?.record ?? []
  const missing = REQUIRED_COLUMNS.filter((c) => !columns.includes(c))
  if (missing.length) {
    throw new ApiError(400, `The CSV header must name the columns ${REQUIRED_COLUMNS.join(', ')} (missing: ${missing.join(', ')})`)
  }
  const games: ParsedCatalogCsv['games'] = []
  const listed = new Set<string>()
  const seen = new Map<string, number>()
  for (const row of rows) {
    const line = lineOf(row)
    const field = (column: string) => {
      const index = columns.indexOf(column)
      return index === -1 ? undefined : row.record[index]
    }
    const packName = field('pack_name')
    const title = field('title')
    if (packName && title) listed.add(catalogKey(packName, title))
    if (row.record.length !== columns.length) {
      errors.push({ line, error: `Expected ${columns.length} fields, found ${row.record.length}` })
      continue
    }
    try {
      const game = readGame(field)
      const key = catalogKey(game.pack_name, game.title)
      const first = seen.get(key)
      if (first !== undefined) throw new Error(`Same pack_name and title as line ${first}`)
      seen.set(key, line)
      games.push({ line, game })
    } catch (err) {
      errors.push({ line, error: (err as Error).message })
    }
  }
  const byLine = new Map<number, CsvLineError>()
  for (const e of errors) if (!byLine.has(e.line)) byLine.set(e.line, e)
  return { games, errors: [...byLine.values()].sort((a, b) => a.line - b.line), listed }
}

/** Catalog rows as CSV text with the bundled file's columns; csv-stringify quotes fields that need it. */
export function toCatalogCsv (games: CatalogGame[]): string {
  return stringify(games, { header: true, columns: [...CATALOG_COLUMNS] })
}
