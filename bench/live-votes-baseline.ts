import Fastify from 'fastify'
import pg from 'pg'

// The live-votes benchmark's baseline: the least a vote endpoint can do on the same stack (Fastify, pg, a pool of
// 10): insert one row and bump one counter in a transaction. Run as its own process by bench/live-votes.ts.

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 })
await pool.query(`create table if not exists baseline_votes (id serial primary key, username text not null,
  vote_type text not null, "timestamp" timestamptz(3) not null)`)
await pool.query('create table if not exists baseline_counters (id int primary key, upvotes int not null default 0, downvotes int not null default 0)')
await pool.query('insert into baseline_counters (id) values (1) on conflict do nothing')

const app = Fastify()
app.post<{ Body: { username: string, vote: 'up' | 'down', timestamp: string } }>('/vote', async (request) => {
  const { username, vote, timestamp } = request.body
  const client = await pool.connect()
  try {
    await client.query('begin')
    await client.query('insert into baseline_votes (username, vote_type, "timestamp") values ($1, $2, $3)', [username, vote, timestamp])
    const { rows } = await client.query(vote === 'up'
      ? 'update baseline_counters set upvotes = upvotes + 1 where id = 1 returning upvotes, downvotes'
      : 'update baseline_counters set downvotes = downvotes + 1 where id = 1 returning upvotes, downvotes')
    await client.query('commit')
    return { success: true, counters: rows[0] }
  } catch (err) {
    await client.query('rollback')
    throw err
  } finally {
    client.release()
  }
})
app.get('/health', async () => ({ ok: true }))

await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
const stop = async () => { await app.close(); await pool.end(); process.exit(0) }
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
