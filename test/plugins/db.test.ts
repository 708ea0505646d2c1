import t from 'tap'
import { sql } from 'kysely'
import { build } from '../helper.ts'
import { PREPARED } from '../../db/prepared.ts'

t.test('a statement marked PREPARED runs as a named prepared statement on a PostgreSQL server, others do not', {
  skip: process.env.TEST_DATABASE_URL ? false : 'needs a PostgreSQL server (TEST_DATABASE_URL); PGlite ignores the marker'
}, async (t) => {
  const app = await build(t)
  // One transaction is one pooled connection: the statements it prepared are listed in pg_prepared_statements.
  const prepared = await app.db.transaction().execute(async (trx) => {
    const marked = await sql<{ n: number }>`${sql.raw(PREPARED)}select ${41}::int + 1 as n`.execute(trx)
    const again = await sql<{ n: number }>`${sql.raw(PREPARED)}select ${1}::int + 1 as n`.execute(trx)
    t.same([marked.rows, again.rows], [[{ n: 42 }], [{ n: 2 }]], 'the same text with other parameters reuses the statement')
    await sql`select ${'plain'}::text as unmarked`.execute(trx)
    return (await sql<{ statement: string }>`select statement from pg_prepared_statements where not from_sql`.execute(trx)).rows
  })
  t.same(prepared.map((row) => row.statement), [`${PREPARED}select $1::int + 1 as n`], 'only the marked text is kept prepared')
})

t.test('a marked statement answers like any other, on every database', async (t) => {
  const app = await build(t)
  const { rows } = await sql<{ n: number }>`${sql.raw(PREPARED)}select ${41}::int + 1 as n`.execute(app.db)
  t.same(rows, [{ n: 42 }])
})
