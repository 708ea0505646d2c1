import fp from 'fastify-plugin'
import { createHash } from 'node:crypto'
import { Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient } from 'kysely'
import { PGliteDialect } from 'kysely-pglite-dialect'
import { PGlite } from '@electric-sql/pglite'
import { btree_gist as btreeGist } from '@electric-sql/pglite/contrib/btree_gist'
import pg from 'pg'
import { migrateToLatest } from '../db/migrate.ts'
import type { Database } from '../db/types.ts'
import { isDatabaseDown } from './errors.ts'
import { DbListener, type Listen } from './db-listener.ts'
import { lockDataDir } from './data-dir-lock.ts'
import { DATA_DIR_TEMPLATE, unpackDataDir, wantsTemplate } from './data-dir-template.ts'
import { PREPARED } from '../db/prepared.ts'
import { TurnTaking } from '../lib/turn-taking.ts'

// TCP keepalive on every PostgreSQL connection (pool and listener): a half-open connection (the server's host gone,
// a NAT or proxy that dropped it) is noticed within about a minute instead of hanging until the OS gives up on it.
const KEEPALIVE = { keepAlive: true, keepAliveInitialDelayMillis: 10_000 }

export type { Listen }

// timestamptz arrives as Date, bigint counts (count(*)) as numbers: they never exceed 2^53 here.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value))

// PostgreSQL's settings for the embedded database, sized for one process on a home server. PGlite's memory is a
// WebAssembly memory that never shrinks, and shared memory in it is zeroed (so resident) at start: every MB here is
// resident for the life of the process (bench/footprint).
export const EMBEDDED_SETTINGS = [
  '-c', 'shared_buffers=8MB', // default 128 MB; the pages a night uses fit, and a miss reads through the OS's page cache
  '-c', 'max_connections=5', // one connection in single-user mode; each allowed one costs shared memory (~2 MB for the default 100)
  '-c', 'maintenance_work_mem=16MB', // bounds what a migration's CREATE INDEX on a big table leaves resident (default 64 MB)
  // Each new 16 MB WAL segment was filled with zeros at once, inside whichever statement crossed into it: that statement
  // held the embedded database (main thread) 1-2 s every 16 MB of writes, however short it was otherwise.
  '-c', 'wal_init_zero=off'
]

export interface DbOptions {
  /** Pool size on a Postgres server. */
  poolSize?: number
}

export default fp<DbOptions>(async function db (app, opts) {
  const { DATABASE_URL, DATA_DIR } = app.config
  let dialect
  let listen: Listen
  let listener: DbListener | undefined
  let release = () => {}
  if (DATABASE_URL) {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: opts.poolSize ?? 10, connectionTimeoutMillis: 5000, ...KEEPALIVE })
    // A client losing its server emits 'error': the pool listens only while the client is idle, so one that dies
    // mid-query (checked out by Kysely) would crash the process. Its query fails on its own and answers 503.
    pool.on('connect', (client) => client.on('error', (err) => app.log.warn(`database connection lost: ${err.message}`)))
    pool.on('error', () => {}) // idle clients: already logged by the listener above
    dialect = new PostgresDialect({ pool: preparingPool(pool) })
    // Every LISTEN of the process (event log, connected clients, webhooks, leases, chat sources) on one connection.
    listener = new DbListener({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5000, ...KEEPALIVE }, app.log)
    listen = listener.listen
  } else {
    // Two processes on one PGlite directory corrupt it: take it for this process before PGlite opens it.
    if (!DATA_DIR.includes('://')) release = lockDataDir(DATA_DIR)
    // A first boot starts from the initialised directory the build made instead of running initdb (which peaked at
    // ~1.1 GB): unpacked on disk before PGlite opens it, so a first boot then costs what a reopen does.
    if (wantsTemplate(DATA_DIR)) await unpackDataDir(DATA_DIR_TEMPLATE, DATA_DIR)
    const pglite = new PGlite(DATA_DIR, { // tests use 'memory://'
      extensions: { btree_gist: btreeGist },
      startParams: [...PGlite.defaultStartParams, ...EMBEDDED_SETTINGS]
    })
    dialect = new PGliteDialect(pglite)
    listen = async (channel, onNotify) => {
      const unlisten = await pglite.listen(channel, () => onNotify())
      return async () => { if (!pglite.closed) await unlisten() }
    }
  }
  // On PGlite a run of statements gives the event loop a turn every few milliseconds (see TurnTaking).
  const kysely = new Kysely<Database>({ dialect, plugins: DATABASE_URL ? [] : [new TurnTaking()] })
  app.addHook('onClose', async () => {
    await listener?.close()
    await kysely.destroy()
    release()
  })
  if (DATABASE_URL) await connectOrExplain(kysely, DATABASE_URL)
  await migrateToLatest(kysely)

  app.decorate('db', kysely)
  app.decorate('dbEmbedded', !DATABASE_URL)
  app.decorate('dbListen', listen)
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

/** The server in DATABASE_URL did not answer at boot: one sentence that says so, logged alone by server.ts. */
export class DatabaseUnreachable extends Error {}

// Without this, a server that is not up yet (or a wrong host name) surfaces as the first migration failing.
async function connectOrExplain (kysely: Kysely<Database>, url: string): Promise<void> {
  try {
    await sql`select 1`.execute(kysely)
  } catch (err) {
    let where = 'DATABASE_URL'
    try {
      const { hostname, port } = new URL(url) // never the password
      where = `${hostname}:${port || 5432}`
    } catch {}
    throw new DatabaseUnreachable(`database connection failed (${where}): ${(err as Error).message}. ` +
      'Exiting; the restart policy (Compose: restart: unless-stopped) starts the service again, which retries.', { cause: err })
  }
}

/**
 * The pool as Kysely sees it, with one difference: a statement marked PREPARED (db/prepared.ts) runs as a named
 * prepared statement, named after a hash of its text, so each connection parses and plans it once.
 */
export function preparingPool (pool: pg.Pool): PostgresPool {
  const names = new Map<string, string>()
  const nameOf = (text: string) => {
    let name = names.get(text)
    if (!name) names.set(text, name = 'p_' + createHash('sha1').update(text).digest('hex').slice(0, 20))
    return name
  }
  return {
    async connect () {
      const client = await pool.connect()
      // Kysely calls query(sql, parameters) only (it streams through a cursor only when configured with one).
      const query = (text: string, parameters: ReadonlyArray<unknown>) => text.startsWith(PREPARED)
        ? client.query({ name: nameOf(text), text, values: [...parameters] })
        : client.query(text, [...parameters])
      return { query: query as unknown as PostgresPoolClient['query'], release: () => client.release() }
    },
    end: () => pool.end()
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
    /**
     * true on the embedded database (PGlite): one connection on the main thread, so a long statement stalls every
     * request; long work there runs in smaller statements.
     */
    dbEmbedded: boolean
    /** LISTEN on a Postgres channel (the process's one listener connection on a server, the embedded instance's own on PGlite). */
    dbListen: Listen
    /** true when the database answers a trivial query; false when it cannot be reached. */
    pingDb: () => Promise<boolean>
  }
}
