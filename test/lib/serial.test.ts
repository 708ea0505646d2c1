import t from 'tap'
import { serial } from '../../lib/serial.ts'

const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

t.test('each operation starts once the one before it has settled, in the order they were given', async (t) => {
  const run = serial()
  const log: string[] = []
  let releaseFirst!: () => void
  const first = run(async () => {
    log.push('first started')
    await new Promise<void>((resolve) => { releaseFirst = resolve })
    log.push('first ended')
    return 1
  })
  const second = run(async () => { log.push('second started'); return 2 })
  await tick()
  await tick()
  t.same(log, ['first started'], 'the second waits while the first is running')
  releaseFirst()
  t.same(await Promise.all([first, second]), [1, 2], 'each caller gets its own result')
  t.same(log, ['first started', 'first ended', 'second started'])
})

t.test('a failure fails only its own caller, and the next operation still runs', async (t) => {
  const run = serial()
  const failed = run(async () => { throw new Error('the write failed') })
  const after = run(async () => 'ran')
  await t.rejects(failed, { message: 'the write failed' })
  t.equal(await after, 'ran')
})

t.test('separate queues do not wait for each other', async (t) => {
  const a = serial()
  const b = serial()
  let releaseA!: () => void
  const blocked = a(() => new Promise<void>((resolve) => { releaseA = resolve }))
  t.equal(await b(async () => 'b ran'), 'b ran', 'b ran while a was still busy')
  releaseA()
  await blocked
})
