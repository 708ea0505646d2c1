import t from 'tap'
import { Kysely, sql } from 'kysely'
import { PGliteDialect } from 'kysely-pglite-dialect'
import { PGlite } from '@electric-sql/pglite'
import { TurnTaking } from '../../lib/turn-taking.ts'

// PGlite answers on this thread: without turns, a timer due during a loop of statements waits for the whole loop.
const pglite = new PGlite('memory://')
t.teardown(() => pglite.close())
await pglite.query('select 1') // its first open is slow and turns the loop: not part of what is measured

/** Runs statements one after another for `ms`; returns how far into the loop a timer due at once had to wait. */
async function timerWaitDuringLoop (db: Kysely<unknown>, ms: number): Promise<{ waited: number, loop: number }> {
  const started = performance.now()
  let fired = -1
  setTimeout(() => { fired = performance.now() - started }, 0)
  while (performance.now() - started < ms) await sql`select count(*) from generate_series(1, 2000)`.execute(db)
  const loop = performance.now() - started
  await new Promise((resolve) => setImmediate(resolve))
  return { waited: fired, loop }
}

t.test('a loop of statements on PGlite gives the event loop a turn every few milliseconds', async (t) => {
  const db = new Kysely<unknown>({ dialect: new PGliteDialect(pglite), plugins: [new TurnTaking(10)] })
  const { waited, loop } = await timerWaitDuringLoop(db, 300)
  t.ok(waited >= 0 && waited < loop / 3, `the timer ran ${waited.toFixed(1)} ms into a ${loop.toFixed(0)} ms loop`)
})

t.test('without it, the same loop keeps the timer waiting to its end (what the plugin is for)', async (t) => {
  const db = new Kysely<unknown>({ dialect: new PGliteDialect(pglite) })
  const { waited, loop } = await timerWaitDuringLoop(db, 300)
  t.ok(waited >= loop, `the timer ran ${waited.toFixed(1)} ms into a ${loop.toFixed(0)} ms loop`)
})
