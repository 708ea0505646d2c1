import t from 'tap'
import { coalesce } from '../../lib/coalesce.ts'

/** An operation whose runs are held until released one by one, recording when each starts and ends. */
function heldOp () {
  const log: string[] = []
  const releases: Array<(err?: Error) => void> = []
  let runs = 0
  let active = 0
  let maxActive = 0
  const op = () => new Promise<void>((resolve, reject) => {
    const n = ++runs
    active++
    maxActive = Math.max(maxActive, active)
    log.push(`start ${n}`)
    releases.push((err) => {
      active--
      log.push(`end ${n}`)
      if (err) reject(err)
      else resolve()
    })
  })
  const tick = () => new Promise((resolve) => setImmediate(resolve))
  return { op, log, releases, tick, get maxActive () { return maxActive } }
}

t.test('a call while nothing runs starts a run at once', async (t) => {
  const h = heldOp()
  const call = coalesce(h.op)
  const done = call()
  t.same(h.log, ['start 1'], 'started synchronously')
  h.releases[0]()
  await done
  t.same(h.log, ['start 1', 'end 1'])
})

t.test('calls during a run share one more run after it, and none settles before a run that began after it', async (t) => {
  const h = heldOp()
  const call = coalesce(h.op)
  const settled: string[] = []
  const first = call().then(() => settled.push('first'))
  const second = call().then(() => settled.push('second'))
  const third = call().then(() => settled.push('third'))
  await h.tick()
  t.same(h.log, ['start 1'], 'no second run while the first is in progress')
  h.releases[0]()
  await first
  await h.tick()
  t.same(h.log, ['start 1', 'end 1', 'start 2'], 'one more run, for both later calls')
  t.same(settled, ['first'], 'the later calls wait for the run that began after them')
  const fourth = call().then(() => settled.push('fourth'))
  h.releases[1]()
  await Promise.all([second, third])
  await h.tick()
  t.same(h.log, ['start 1', 'end 1', 'start 2', 'end 2', 'start 3'], 'a call during the second run gets a third')
  h.releases[2]()
  await fourth
  t.same(settled, ['first', 'second', 'third', 'fourth'])
  t.equal(h.maxActive, 1, 'runs never overlapped')
})

t.test('a failed run fails only its own calls; the run queued behind it still happens', async (t) => {
  const h = heldOp()
  const call = coalesce(h.op)
  const first = call()
  const second = call()
  h.releases[0](new Error('boom'))
  await t.rejects(first, { message: 'boom' })
  await h.tick()
  t.same(h.log, ['start 1', 'end 1', 'start 2'])
  h.releases[1]()
  await t.resolves(second)
  const third = call()
  t.same(h.log, ['start 1', 'end 1', 'start 2', 'end 2', 'start 3'], 'after a failure, the next call starts at once')
  h.releases[2]()
  await third
})

t.test('an operation that throws before its first await is a rejected call, not a thrown one', async (t) => {
  let calls = 0
  const call = coalesce(() => {
    calls++
    if (calls === 1) throw new Error('sync')
    return Promise.resolve()
  })
  await t.rejects(call(), { message: 'sync' })
  await t.resolves(call())
  t.equal(calls, 2)
})

t.test('each call settles with the value of the run it shares', async (t) => {
  let runs = 0
  let release = () => {}
  const call = coalesce(async () => {
    const n = ++runs
    if (n === 1) await new Promise<void>((resolve) => { release = resolve })
    return n
  })
  const first = call()
  const second = call()
  const third = call()
  t.equal(second, third, 'calls queued behind one run share its promise')
  release()
  t.same(await Promise.all([first, second, third]), [1, 2, 2])
  t.equal(await call(), 3)
})
