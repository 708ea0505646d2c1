import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { KeyedLock } from '../../db/votes.ts'

t.test('tasks under one key run one at a time, in arrival order', async (t) => {
  const lock = new KeyedLock()
  const log: string[] = []
  const task = (name: string, ms: number) => async () => {
    log.push(`start ${name}`)
    await sleep(ms)
    log.push(`end ${name}`)
    return name
  }
  const results = await Promise.all([lock.run('a', task('a1', 20)), lock.run('a', task('a2', 1)), lock.run('a', task('a3', 1))])
  t.same(results, ['a1', 'a2', 'a3'])
  t.same(log, ['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3'])
})

t.test('other keys do not wait', async (t) => {
  const lock = new KeyedLock()
  const log: string[] = []
  let release!: () => void
  const slow = lock.run('a', () => new Promise<void>((resolve) => { release = resolve }))
  await lock.run('b', async () => { log.push('b ran while a was held') })
  release()
  await slow
  t.same(log, ['b ran while a was held'])
})

t.test('a failed task passes its error on and does not block the next', async (t) => {
  const lock = new KeyedLock()
  const failed = lock.run('a', async () => { throw new Error('boom') })
  const next = lock.run('a', async () => 'next ran')
  await t.rejects(failed, { message: 'boom' })
  t.equal(await next, 'next ran')
})
