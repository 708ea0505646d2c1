import { sql, type Kysely } from 'kysely'
import type { CatalogGame } from './catalog.ts'
import { catalogArrays, catalogRefs } from './games.ts'
import type { Database } from './types.ts'
import { expiry } from './expiry.ts'

// The rows of catalog_imports (one catalog CSV import at a time; see their migration) and the work on an import's rows
// of game_rows, invisible through the view `games` until the import commits. Every statement touches a bounded number
// of rows, so none holds the embedded database long.

export interface CatalogImportClaim {
  id: number
  after_id: number
}

/**
 * Opens a catalog import for `owner`, unless one is in progress. `after_id` is the largest game id now: every row the
 * import writes has a larger one. Undefined when another import is open.
 */
export async function insertCatalogImport (db: Kysely<Database>, owner: string, ttlMs: number): Promise<CatalogImportClaim | undefined> {
  const { rows } = await sql<CatalogImportClaim>`
    insert into catalog_imports (owner, after_id, expires_at)
    values (${owner}, (select coalesce(max(id), 0) from game_rows), ${expiry(ttlMs)})
    on conflict ((true)) where state = 'open' do nothing
    returning id, after_id`.execute(db)
  return rows[0]
}

/** Marks `abandoned` the open import whose owner stopped renewing it; its rows are still to be deleted. */
export function abandonExpiredCatalogImport (db: Kysely<Database>): Promise<CatalogImportClaim | undefined> {
  return db.updateTable('catalog_imports')
    .set({ state: 'abandoned' })
    .where('state', '=', 'open')
    .where('expires_at', '<', sql<Date>`now()`)
    .returning(['id', 'after_id'])
    .executeTakeFirst()
}

/** Extends an open import's lease. */
export async function renewCatalogImport (db: Kysely<Database>, id: number, owner: string, ttlMs: number): Promise<void> {
  await db.updateTable('catalog_imports').set({ expires_at: expiry(ttlMs) })
    .where('id', '=', id).where('owner', '=', owner).where('state', '=', 'open').execute()
}

/**
 * Ends an open import: its rows become visible (the commit) or, once deleted, were never there. False when `owner` no
 * longer holds it (it was abandoned).
 */
export async function deleteCatalogImport (db: Kysely<Database>, id: number, owner: string): Promise<boolean> {
  const result = await db.deleteFrom('catalog_imports')
    .where('id', '=', id).where('owner', '=', owner).where('state', '=', 'open').executeTakeFirst()
  return result.numDeletedRows > 0n
}

/**
 * Writes these games, in order (ids follow it), as rows of the open import `importId`; a game whose pack_name and title
 * exist is left out. Returns the keys (`pack_name\ttitle`) of the games written. Nothing is written once the import is
 * no longer open (abandoned), so an old owner never adds rows after its import was cleaned up.
 */
export async function insertImportedGames (db: Kysely<Database>, importId: number, games: CatalogGame[]): Promise<Set<string>> {
  const { rows } = await sql<{ key: string }>`
    insert into game_rows (${catalogRefs}, import_id)
    select ${catalogRefs}, ${importId}::int from unnest(${catalogArrays(games)}) with ordinality as v (${catalogRefs}, n)
    where exists (select 1 from catalog_imports where id = ${importId} and state = 'open')
    order by n
    on conflict (pack_name, title) do nothing
    returning pack_name || chr(9) || title as key`.execute(db)
  return new Set(rows.map((r) => r.key))
}

/** The largest game_rows id now (0 for none): the upper end of the id ranges an import's rows are deleted in. */
export async function findLastGameRowId (db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('game_rows').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst()
  return Number(row?.id ?? 0)
}

/** Deletes an import's rows with ids in (from, to]. */
export async function deleteImportedGames (db: Kysely<Database>, importId: number, from: number, to: number): Promise<void> {
  await db.deleteFrom('game_rows').where('id', '>', from).where('id', '<=', to).where('import_id', '=', importId).execute()
}

/**
 * Moves the catalog version (which the picker caches its pools by): an import's commit makes its games visible
 * without touching game_rows, so the trigger that moves it on every change of the catalog does not fire.
 */
export async function bumpCatalogVersion (trx: Kysely<Database>): Promise<void> {
  await sql`update catalog_version set version = version + 1`.execute(trx)
}
