import type { Migration, MigrationProvider } from 'kysely'
import * as initial from './2026_11_22_001_initial.ts'

// Listed by hand: a static list survives bundling and compiling, a directory scan does not.
const migrations: Record<string, Migration> = {
  '2026_11_22_001_initial': initial
}

export const migrationProvider: MigrationProvider = {
  async getMigrations () { return migrations }
}
