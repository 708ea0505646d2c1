import Fastify from 'fastify'
import pg from 'pg'
import { Kysely, PostgresDialect } from 'kysely'
import type { Database } from '../db/types.ts'

// The pick benchmark's baseline: the least a catalog read can do on the same stack (Fastify, Kysely, pg, a pool of
// 10): select 10 games by id. Run as its own process by bench/pick.ts, on the same database as the service.

const db = new Kysely<Database>({
  dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 }) })
})
const maxId = Number(process.env.MAX_ID ?? 10_000)

const app = Fastify()
app.get('/games', async () => {
  const ids = Array.from({ length: 10 }, () => 1 + Math.floor(Math.random() * maxId))
  return db.selectFrom('games').selectAll().where('id', 'in', ids).execute()
})
app.get('/health', async () => ({ ok: true }))

await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
const stop = async () => { await app.close(); await db.destroy(); process.exit(0) }
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
