import t from 'tap'
import { sql } from 'kysely'
import { build } from '../helper.ts'
import { PREPARED } from '../../db/prepared.ts'
import { until } from '../fixtures/event-log.ts'

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

t.test('a process LISTENs on one connection for every channel, and re-opens just one after losing it', {
  skip: process.env.TEST_DATABASE_URL ? false : 'needs a PostgreSQL server (TEST_DATABASE_URL); PGlite listens without a connection'
}, async (t) => {
  const app = await build(t)
  // The connections of this test's database whose last statement was a LISTEN (or UNLISTEN): the listener's.
  const listeners = async () => (await sql<{ pid: number, query: string }>`select pid, query from pg_stat_activity
    where datname = current_database() and query ~* '^\s*(un)?listen'`.execute(app.db)).rows
  const booted = await listeners()
  t.equal(booted.length, 1, `one listener connection once ready (event log, clients, webhooks, leases, chat sources): ${JSON.stringify(booted)}`)

  const heard: string[] = []
  const stop = await app.dbListen('test_channel', () => { heard.push('test_channel') })
  t.teardown(stop)
  await sql`select pg_notify('test_channel', '')`.execute(app.db)
  await until('the notification', () => heard.length === 1)
  t.same((await listeners()).map((row) => row.pid), [booted[0].pid], 'a new channel is LISTENed on the same connection')

  await sql`select pg_terminate_backend(${booted[0].pid})`.execute(app.db)
  // The one reconnect loop LISTENs again on every channel at once, then calls each listener to catch up.
  await until('the listener to be back', async () => (await listeners()).some((row) => row.pid !== booted[0].pid))
  await until('the catch-up call', () => heard.length === 2)
  const back = await listeners()
  t.equal(back.length, 1, 'still one listener connection')
  for (const channel of ['events', 'client_commands', 'client_command_results', 'webhook_deliveries', 'room_leases', 'chat_sources', 'test_channel']) {
    t.match(back[0].query, `listen "${channel}"`, `it listens on ${channel} again`)
  }
  await sql`select pg_notify('test_channel', '')`.execute(app.db)
  await until('a notification after the reconnect', () => heard.length === 3)
})
