import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'
import type { Kysely } from 'kysely'
import * as imports from '../db/catalog-imports.ts'
import { CATALOG_COLUMNS, type CatalogGame } from '../db/catalog.ts'
import { deleteUnusedGames, listCatalogGamesAfter, updateGamesByKey } from '../db/games.ts'
import type { Database } from '../db/types.ts'
import type { CsvImportResult } from '../schemas/games.ts'
import { catalogKey, parseImportCsv } from './catalog-csv.ts'

// A catalog CSV import never holds the database long, and nobody sees half of it. The text is read first, outside any
// transaction. The import then takes its turn (a catalog_imports row: one import at a time, across processes) and
// writes its new games in short statements as rows marked with its id, which the view `games` (what everything else
// reads) leaves out while that row exists. One short transaction then updates the games it names that exist, deletes
// (replace) the ones it does not name, and deletes its row, which makes its new games visible: the import is atomic.
// A failed import deletes its rows in bounded steps before it answers; one whose process died is cleaned up by the next.

// How long an import's row stays claimed without renewal: its process renews it every third of this.
const LEASE_MS = 30_000
// Rows per statement: on the embedded database 500 new games take ~20 ms to write, 2,000 games ~20 ms to read.
const ROWS = 500
const KEY_PAGE = 2000

/** Opens an import for `owner`, waiting while another import runs. */
async function takeTurn (db: Kysely<Database>, owner: string): Promise<imports.CatalogImportClaim> {
  for (let delay = 10; ; delay = Math.min(delay * 2, 250)) {
    const claim = await imports.insertCatalogImport(db, owner, LEASE_MS)
    if (claim) return claim
    // An import whose process stopped renewing it (it died) is abandoned: its rows stay invisible, and are deleted.
    const stale = await imports.abandonExpiredCatalogImport(db)
    if (stale) {
      await deleteRows(db, stale)
      continue
    }
    await sleep(delay)
  }
}

async function deleteRows (db: Kysely<Database>, claim: imports.CatalogImportClaim): Promise<void> {
  const last = await imports.findLastGameRowId(db)
  for (let from = claim.after_id; from < last; from += ROWS) {
    await nextTurn() // other requests' statements get in between (on the embedded database, all run on this thread)
    await imports.deleteImportedGames(db, claim.id, from, Math.min(from + ROWS, last))
  }
}

type KnownGame = CatalogGame & { id: number }

/** Every game's catalog facts and id by catalog key, a page at a time. */
async function readGames (db: Kysely<Database>): Promise<Map<string, KnownGame>> {
  const known = new Map<string, KnownGame>()
  for (let afterId = 0; ;) {
    await nextTurn()
    const page = await listCatalogGamesAfter(db, afterId, KEY_PAGE)
    for (const g of page) known.set(catalogKey(g.pack_name, g.title), g)
    if (page.length < KEY_PAGE) return known
    afterId = page[page.length - 1].id
  }
}

const sameFacts = (a: CatalogGame, b: CatalogGame) => CATALOG_COLUMNS.every((c) => a[c] === b[c])

/**
 * Imports catalog CSV. Good lines are inserted, or update the game with the same pack_name and title; bad lines are
 * reported and skipped. `replace` then deletes the games the CSV does not name, except those a session or a vote refers
 * to. A game named on a bad line is kept: a typo must not delete a game. All of it shows at once, or none of it.
 * `owner` is this process, as it names itself to the others sharing the database.
 */
export async function importCatalogCsv (db: Kysely<Database>, text: string, mode: 'append' | 'replace', owner: string): Promise<CsvImportResult> {
  const { games, errors, errorCount, listed } = await parseImportCsv(text)
  const claim = await takeTurn(db, owner)
  const renewal = setInterval(() => { imports.renewCatalogImport(db, claim.id, owner, LEASE_MS).catch(() => {}) }, LEASE_MS / 3).unref()
  try {
    const known = await readGames(db)
    const fresh: CatalogGame[] = []
    // The lines naming a game there is (`updated` counts them all) and, of those, the ones that change its facts: only
    // these are written in the commit, so re-importing an export with a few edits costs a few rows.
    let updated = 0
    const changed: CatalogGame[] = []
    for (const game of games) {
      const was = known.get(catalogKey(game.pack_name, game.title))
      if (!was) {
        fresh.push(game)
        continue
      }
      updated++
      if (!sameFacts(was, game)) changed.push(game)
    }
    let imported = 0
    for (let i = 0; i < fresh.length; i += ROWS) {
      await nextTurn()
      const chunk = fresh.slice(i, i + ROWS)
      const written = await imports.insertImportedGames(db, claim.id, chunk)
      imported += written.size
      // Added by someone else since the keys were read: updated at the commit, as the others.
      for (const game of chunk) {
        if (written.has(catalogKey(game.pack_name, game.title))) continue
        updated++
        changed.push(game)
      }
    }
    const unlisted = mode === 'replace' ? [...known].filter(([key]) => !listed.has(key)).map(([, game]) => game.id) : []
    await nextTurn()
    await db.transaction().execute(async (trx) => {
      await updateGamesByKey(trx, changed)
      await deleteUnusedGames(trx, unlisted)
      // Abandoned by another process (this one stopped renewing for a lease's length): its rows never show.
      if (!await imports.deleteCatalogImport(trx, claim.id, owner)) throw new Error('the catalog import was abandoned before its commit')
      await imports.bumpCatalogVersion(trx)
    })
    return { imported, updated, errors, errorCount }
  } catch (err) {
    try {
      await deleteRows(db, claim)
      await imports.deleteCatalogImport(db, claim.id, owner)
    } catch {
      // The database is away: the import's rows stay invisible, and the next import deletes them.
    }
    throw err
  } finally {
    clearInterval(renewal)
  }
}
