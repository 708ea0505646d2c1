import { readFile } from 'node:fs/promises'
import { parse } from 'csv-parse/sync'
import type { Kysely } from 'kysely'
import type { Database, Flag, GameRow, GameUpdate, NewGameRow } from '../db/types.ts'
import { BUNDLED_CATALOG, hasGames, insertNewGames, type CatalogGame } from '../db/catalog.ts'
import * as games from '../db/games.ts'
import { DuplicateGame, GameInUse, GameNotFound, InvalidPlayerRange, PackNotFound } from './errors.ts'

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
  if (await hasGames(db)) return 0
  return insertNewGames(db, await readBundledCatalog())
}

function checkPlayerRange (game: { min_players?: number, max_players?: number }) {
  if (game.min_players !== undefined && game.max_players !== undefined && game.min_players > game.max_players) {
    throw new InvalidPlayerRange()
  }
}

type OptionalFlags = 'has_audience' | 'family_friendly' | 'drawing'

/** Adds a game; optional flags default to 0. */
export async function addGame (db: Kysely<Database>, game: Omit<NewGameRow, OptionalFlags> & Partial<Pick<NewGameRow, OptionalFlags>>): Promise<GameRow> {
  checkPlayerRange(game)
  const { has_audience: audience = 0, family_friendly: family = 0, drawing = 0 } = game
  const added = await games.insertGame(db, { ...game, has_audience: audience, family_friendly: family, drawing })
  if (added === 'duplicate') throw new DuplicateGame()
  return added
}

/** Changes a game's facts (or its favor_bias). */
export async function updateGame (db: Kysely<Database>, id: number, changes: GameUpdate): Promise<GameRow> {
  checkPlayerRange(changes)
  const updated = await games.updateGame(db, id, changes)
  if (updated === 'duplicate') throw new DuplicateGame()
  if (!updated) throw new GameNotFound()
  return updated
}

export async function toggleGame (db: Kysely<Database>, id: number): Promise<GameRow> {
  const game = await games.toggleGame(db, id)
  if (!game) throw new GameNotFound()
  return game
}

/** Deletes a game no session or vote refers to (history is kept: disable it instead). */
export async function deleteGame (db: Kysely<Database>, id: number): Promise<void> {
  const outcome = await games.deleteGame(db, id)
  if (outcome === 'not-found') throw new GameNotFound()
  if (outcome === 'in-use') throw new GameInUse()
}

/** Enables or disables every game of a pack; returns how many games it has. */
export async function setPackEnabled (db: Kysely<Database>, pack: string, enabled: boolean): Promise<number> {
  const n = await games.updatePackEnabled(db, pack, enabled)
  if (!n) throw new PackNotFound()
  return n
}
