import { Migrator, type Kysely } from 'kysely'
import { migrationProvider } from './migrations/index.ts'
import type { Database } from './types.ts'

export async function migrateToLatest (db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider })
  const { error, results } = await migrator.migrateToLatest()
  const failed = results?.find((r) => r.status === 'Error')
  if (error) {
    const what = failed ? `migration ${failed.migrationName}` : 'migrations'
    throw new Error(`${what} failed: ${(error as Error).message ?? error}`, { cause: error })
  }
}
