import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { sql } from 'kysely'
import type { Test } from 'tap'
import { buildApp, type App, type AppOptions } from '../app.ts'
import { loadConfig } from '../plugins/config.ts'
import { seedCatalogIfEmpty } from '../domain/catalog.ts'

export const TEST_SECRET = 'test-secret-that-is-at-least-32-characters-long'
export const ADMIN_KEY = 'test-admin-key-0f3a9c'

/**
 * A throwaway database for one test file. With TEST_DATABASE_URL (a Postgres server, as .ci/run sets) each file
 * gets its own database on that server, so files can run in parallel; otherwise PGlite, in memory or (`onDisk`) in a
 * temporary directory.
 */
export async function testDatabase (t: Test, { onDisk = false } = {}): Promise<Record<string, string>> {
  const serverUrl = process.env.TEST_DATABASE_URL
  if (!serverUrl) {
    if (!onDisk) return { DATA_DIR: 'memory://' }
    // On disk, so that a second app or process can open the same embedded database.
    const dir = mkdtempSync(join(tmpdir(), 'test-pglite-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    return { DATA_DIR: join(dir, 'data') }
  }
  const name = `test_${process.pid}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  await admin.query(`create database ${name}`)
  await admin.end()
  t.teardown(async () => {
    const cleanup = new pg.Client({ connectionString: serverUrl })
    await cleanup.connect()
    await cleanup.query(`drop database if exists ${name} with (force)`)
    await cleanup.end()
  })
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return { DATABASE_URL: url.toString() }
}

/** The real app on a fresh database, closed when the test ends. One per test file: a fresh PGlite takes seconds. */
export async function build (t: Test, env: Record<string, string> = {}, options: AppOptions = {}): Promise<App> {
  const dbEnv = await testDatabase(t)
  const app = buildApp(loadConfig({ LOG_LEVEL: 'silent', JWT_SECRET: TEST_SECRET, ADMIN_KEY, ...dbEnv, ...env }), options)
  t.teardown(() => app.close())
  await app.ready()
  return app
}

const TABLES = ['chat_sources', 'tokens', 'login_failures', 'webhook_logs', 'webhooks', 'live_votes', 'chat_logs', 'session_games', 'sessions', 'game_rows', 'catalog_imports']

/** Empties every table and restarts ids (event ids excepted); `catalog: true` (the default) reloads the bundled catalog, so game ids 1..67 exist. */
export async function resetDb (app: App, { catalog = true } = {}): Promise<void> {
  await sql`truncate ${sql.join(TABLES.map((table) => sql.table(table)))} restart identity cascade`.execute(app.db)
  // The event log is emptied but keeps its ids running: every process's reader follows it from its last id.
  await sql`delete from events`.execute(app.db)
  if (catalog) await seedCatalogIfEmpty(app.db)
}

/** Headers with a valid admin bearer token. */
export function authHeaders (app: App): Record<string, string> {
  return { authorization: `Bearer ${app.jwt.sign({ role: 'admin' })}` }
}
