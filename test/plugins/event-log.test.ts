import { test } from 'tap'
import { sql } from 'kysely'
import { build } from '../helper.ts'
import { insertEvent } from '../../db/events.ts'
import type { LoggedEvent } from '../../plugins/event-log.ts'

test('the event log', async (t) => {
  // A poll period far longer than any test: only NOTIFY (or an explicit poll) can deliver an event.
  const app = await build(t, {}, { eventLogPollMs: 600_000 })
  const seen: LoggedEvent[] = []
  const waiters: Array<() => void> = []
  t.teardown(app.eventLog.subscribe((event) => {
    seen.push(event)
    waiters.splice(0).forEach((wake) => wake())
  }))
  const until = async (count: number) => {
    const deadline = Date.now() + 5000
    while (seen.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${seen.length} of ${count} events arrived`)
      await new Promise<void>((resolve) => { waiters.push(resolve); setTimeout(resolve, 100) })
    }
  }

  t.test('events committed in a transaction arrive after the commit, in id order, once each', async (t) => {
    const before = seen.length
    await app.db.transaction().execute(async (trx) => {
      await insertEvent(trx, 'session.started', 1, { session: { id: 1 } })
      await insertEvent(trx, 'game.added', 1, { n: 2 })
    })
    await insertEvent(app.db, 'vote.received', 1, { n: 3 })
    await until(before + 3)
    const got = seen.slice(before)
    t.same(got.map((e) => [e.type, e.sessionId, e.data]), [
      ['session.started', 1, { session: { id: 1 } }],
      ['game.added', 1, { n: 2 }],
      ['vote.received', 1, { n: 3 }]
    ])
    t.ok(got[0].id < got[1].id && got[1].id < got[2].id, 'ids increase')
    t.match(got[0].timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    await app.eventLog.poll()
    t.equal(seen.length, before + 3, 'nothing is delivered twice')
  })

  t.test('a rolled-back transaction records no event', async (t) => {
    const before = seen.length
    await t.rejects(app.db.transaction().execute(async (trx) => {
      await insertEvent(trx, 'game.added', 1, {})
      throw new Error('rollback')
    }))
    await app.eventLog.poll()
    t.equal(seen.length, before)
  })

  t.test('an event inserted by plain SQL is read like any other', async (t) => {
    const before = seen.length
    await sql`insert into events (session_id, type, data) values (7, 'session.ended', '{"x": 1}')`.execute(app.db)
    await until(before + 1)
    t.same(seen.slice(before).map((e) => [e.type, e.sessionId, e.data]), [['session.ended', 7, { x: 1 }]])
  })

  t.test('a listener that throws does not stop the others or the reader', async (t) => {
    const off = app.eventLog.subscribe(() => { throw new Error('listener bug') })
    t.teardown(off)
    const before = seen.length
    await insertEvent(app.db, 'game.added', 2, {})
    await insertEvent(app.db, 'game.added', 3, {})
    await until(before + 2)
    t.same(seen.slice(before).map((e) => e.sessionId), [2, 3])
  })
})

test('ids follow commit order when transactions overlap', { skip: !process.env.TEST_DATABASE_URL && 'needs a PostgreSQL server (two connections)' }, async (t) => {
  const app = await build(t, {}, { eventLogPollMs: 600_000 })
  const order: string[] = []
  t.teardown(app.eventLog.subscribe((event) => { order.push((event.data as { name: string }).name) }))
  let releaseFirst!: () => void
  const firstMayCommit = new Promise<void>((resolve) => { releaseFirst = resolve })
  let firstInserted!: () => void
  const firstHasInserted = new Promise<void>((resolve) => { firstInserted = resolve })
  const first = app.db.transaction().execute(async (trx) => {
    await insertEvent(trx, 'game.added', 1, { name: 'first' })
    firstInserted()
    await firstMayCommit
  })
  await firstHasInserted
  // The second insert waits for the first transaction's commit, so it cannot take a smaller id or commit before it.
  const second = insertEvent(app.db, 'game.added', 1, { name: 'second' })
  const raced = await Promise.race([second.then(() => 'second committed'), new Promise((resolve) => setTimeout(resolve, 300, 'second waits'))])
  t.equal(raced, 'second waits')
  releaseFirst()
  await first
  const secondRow = await second
  const firstRow = await app.db.selectFrom('events').select('id').where(sql`data->>'name'`, '=', 'first').executeTakeFirstOrThrow()
  t.ok(Number(firstRow.id) < Number(secondRow.id))
  await app.eventLog.poll()
  t.same(order, ['first', 'second'])
})
