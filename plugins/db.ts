import fp from 'fastify-plugin'
import { Kysely, PostgresDialect, sql } from 'kysely'
import { PGliteDialect } from 'kysely-pglite-dialect'
import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import { migrateToLatest } from '../db/migrate.ts'
import { seedCatalogIfEmpty } from '../db/catalog.ts'
import type { Database } from '../db/types.ts'
import { isDatabaseDown } from './errors.ts'

// timestamptz arrives as Date, bigint counts (count(*)) as numbers: they never exceed 2^53 here.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value))

export interface DbOptions {
  /** Pool size on a Postgres server. */
  poolSize?: number
}

export default fp<DbOptions>(async function db (app, opts) {
  const { DATABASE_URL, DATA_DIR } = app.config
  let dialect
  if (DATABASE_URL) {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: opts.poolSize ?? 10, connectionTimeoutMillis: 5000 })
    // A client losing its server emits 'error': the pool listens only while the client is idle, so one that dies
    // mid-query (checked out by Kysely) would crash the process. Its query fails on its own and answers 503.
    pool.on('connect', (client) => client.on('error', (err) => app.log.warn(`database connection lost: ${err.message}`)))
    pool.on('error', () => {}) // idle clients: already logged by the listener above
    dialect = new PostgresDialect({ pool })
  } else {
    dialect = new PGliteDialect(new PGlite(DATA_DIR)) // tests use 'memory://'
  }
  const kysely = new Kysely<Database>({ dialect })
  app.addHook('onClose', () => kysely.destroy())
  await migrateToLatest(kysely)
  const seeded = await seedCatalogIfEmpty(kysely)
  if (seeded) app.log.info({ games: seeded }, 'loaded the bundled game catalog')

  app.decorate('db', kysely)
  app.decorate('pingDb', async () => {
    try {
      await sql`select 1`.execute(kysely)
      return true
    } catch (err) {
      if (isDatabaseDown(err)) return false
      throw err
    }
  })
}, { name: 'db', dependencies: ['errors'] })

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
    /** true when the database answers a trivial query; false when it cannot be reached. */
    pingDb: () => Promise<boolean>
  }
}
