import { setImmediate as nextTurn } from 'node:timers/promises'
import { stringify } from 'csv-stringify/sync'
import type { Kysely } from 'kysely'
import { CsvHeaderMissing } from './errors.ts'
import { CATALOG_COLUMNS, type CatalogGame } from '../db/catalog.ts'
import { listCatalogGamesAfter } from '../db/games.ts'
import type { Database, Flag } from '../db/types.ts'
import { escapeCell, readCsv, unescapeCell } from './csv.ts'

export interface CsvLineError {
  line: number
  error: string
}

/** How many line errors an import lists; `errorCount` counts them all. */
export const CSV_ERROR_LIMIT = 100
// The reading gives the event loop a turn this often (checked every CHECK_EVERY records), so a 5 MB import never
// holds it for long.
const TURN_MS = 5
const CHECK_EVERY = 256

export interface ParsedCatalogCsv {
  /** Valid lines, in CSV order. */
  games: CatalogGame[]
  /** The first CSV_ERROR_LIMIT bad lines, in line order. */
  errors: CsvLineError[]
  errorCount: number
  /** `pack_name\ttitle` of every line that names a game, valid or not: `replace` keeps these. */
  listed: Set<string>
}

const REQUIRED_COLUMNS = ['pack_name', 'title', 'min_players', 'max_players'] as const

export const catalogKey = (packName: string, title: string) => `${packName}\t${title}`

// Validation returns its error sentence rather than throwing: an Error per bad line (its stack trace) costs more than
// reading the line.
function readFlag (value: string | undefined): Flag | undefined {
  const v = (value ?? '').toLowerCase()
  if (v === '' || v === '0' || v === 'false') return 0
  if (v === '1' || v === 'true') return 1
  return undefined
}

function readInteger (value: string | undefined, max: number): number | undefined {
  if (value === undefined || !/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) return undefined
  return Number(value)
}

/** The game on a line, or the sentence saying what is wrong with it. */
function readGame (field: (column: string) => string | undefined): CatalogGame | string {
  const packName = field('pack_name') ?? ''
  const title = field('title') ?? ''
  if (!packName) return 'pack_name is required'
  if (!title) return 'title is required'
  const minPlayers = readInteger(field('min_players'), 1000)
  if (minPlayers === undefined) return 'min_players must be a positive integer'
  const maxPlayers = readInteger(field('max_players'), 1000)
  if (maxPlayers === undefined) return 'max_players must be a positive integer'
  if (minPlayers > maxPlayers) return 'min_players cannot be greater than max_players'
  const length = field('length_minutes')
  const lengthMinutes = length ? readInteger(length, 1440) : null
  if (lengthMinutes === undefined) return 'length_minutes must be a positive integer'
  const flags = { has_audience: 0 as Flag, family_friendly: 0 as Flag, drawing: 0 as Flag }
  for (const column of ['has_audience', 'family_friendly', 'drawing'] as const) {
    const flag = readFlag(field(column))
    if (flag === undefined) return `${column} must be 0 or 1`
    flags[column] = flag
  }
  return {
    pack_name: packName,
    title,
    min_players: minPlayers,
    max_players: maxPlayers,
    length_minutes: lengthMinutes,
    has_audience: flags.has_audience,
    family_friendly: flags.family_friendly,
    game_type: field('game_type') || null,
    drawing: flags.drawing
  }
}

/**
 * Reads user CSV for an import: a header line naming at least pack_name, title, min_players and max_players, then one
 * game per line. Bad lines (a broken quote, a wrong field count, a bad value, a repeat of an earlier line) are
 * counted, the first ones reported with their line number, and left out; the rest is returned. Cells lose the `'`
 * the export puts before formula-like text. One pass, giving the event loop a turn every few milliseconds.
 * Throws only when the header is unusable.
 */
export async function parseImportCsv (text: string): Promise<ParsedCatalogCsv> {
  const errors: CsvLineError[] = []
  let errorCount = 0
  const report = (line: number, error: string) => {
    errorCount++
    if (errors.length < CSV_ERROR_LIMIT) errors.push({ line, error })
  }
  const records = readCsv(text)
  let header = records.next()
  // A header with a broken quote is no header; the next good record is read as one.
  while (!header.done && header.value.error !== undefined) header = records.next()
  const columns = header.done ? [] : header.value.fields!
  const missing = REQUIRED_COLUMNS.filter((c) => !columns.includes(c))
  if (missing.length) {
    throw new CsvHeaderMissing(REQUIRED_COLUMNS, missing)
  }
  const index = new Map(columns.map((column, i) => [column, i] as const).reverse()) // the first of repeated names
  const games: CatalogGame[] = []
  const listed = new Set<string>()
  const seen = new Map<string, number>()
  // One reader for every record (a closure per record costs more than the record).
  let fields: string[] = []
  const field = (column: string) => {
    const i = index.get(column)
    return i === undefined || i >= fields.length ? undefined : unescapeCell(fields[i])
  }
  let read = 0
  let turnStarted = performance.now()
  for (const record of records) {
    if (++read % CHECK_EVERY === 0 && performance.now() - turnStarted > TURN_MS) {
      await nextTurn()
      turnStarted = performance.now()
    }
    const { line } = record
    if (record.error !== undefined) {
      report(line, record.error)
      continue
    }
    fields = record.fields
    const packName = field('pack_name')
    const title = field('title')
    if (packName && title) listed.add(catalogKey(packName, title))
    if (fields.length !== columns.length) {
      report(line, `Expected ${columns.length} fields, found ${fields.length}`)
      continue
    }
    const game = readGame(field)
    if (typeof game === 'string') {
      report(line, game)
      continue
    }
    const key = catalogKey(game.pack_name, game.title)
    const first = seen.get(key)
    if (first !== undefined) {
      report(line, `Same pack_name and title as line ${first}`)
      continue
    }
    seen.set(key, line)
    games.push(game)
  }
  return { games, errors, errorCount, listed }
}

/** Catalog rows as CSV text with the bundled file's columns; cells a spreadsheet would run as formulas get a `'`. */
export function toCatalogCsv (games: CatalogGame[], header = true): string {
  return stringify(games, { header, columns: [...CATALOG_COLUMNS], cast: { string: escapeCell } })
}

// Games per page of the export: reading and writing a page takes milliseconds, and the whole catalog of a large
// import (20,000 games) read or written at once held the embedded database, or the event loop, for seconds.
const EXPORT_PAGE = 500

/**
 * The catalog as CSV, in id order, with the bundled file's columns: a page of games at a time (keyset on id), with a
 * turn of the event loop between pages, so other requests are answered while a large catalog is written out.
 */
export async function * exportCatalogCsv (db: Kysely<Database>): AsyncGenerator<string> {
  let afterId = 0
  for (let first = true; ; first = false) {
    const page = await listCatalogGamesAfter(db, afterId, EXPORT_PAGE)
    if (first || page.length) yield toCatalogCsv(page, first)
    if (page.length < EXPORT_PAGE) return
    afterId = page[page.length - 1].id
    await nextTurn()
  }
}
