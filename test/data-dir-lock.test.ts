import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { failedBoot, startServer } from './server-process.ts'
import { lockDataDir } from '../plugins/data-dir-lock.ts'

const tempDir = (t: Test) => {
  const dir = mkdtempSync(join(tmpdir(), 'test-lock-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'data')
}

t.test('a second process on the same DATA_DIR exits at once with one line; the first keeps serving', async (t) => {
  const dataDir = tempDir(t)
  // DATABASE_URL emptied: this is about the embedded database even when the suite runs on PostgreSQL.
  const first = await startServer(t, { DATA_DIR: dataDir, DATABASE_URL: '' })
  t.equal(readFileSync(join(dataDir, 'service.lock'), 'utf8'), `${first.pid}\n`)

  const { code, output } = await failedBoot(t, { DATA_DIR: dataDir, JWT_SECRET: 'x'.repeat(32) })
  t.equal(code, 1, 'the second process exits with 1')
  const lines = output.trim().split('\n')
  t.equal(lines.length, 1, `one line: ${output}`)
  t.match(JSON.parse(lines[0]), { level: 60, msg: `DATA_DIR ${dataDir} is in use by another process (pid ${first.pid}); stop it or choose another DATA_DIR` })
  t.notMatch(output, /generated admin key|catalog/, 'it never opened the database')

  t.equal((await fetch(`${first.url}/api/health`)).status, 200, 'the first keeps serving')
  process.kill(first.pid, 'SIGTERM')
  t.same(await first.exited, { code: 0, signal: null })
  t.notOk(existsSync(join(dataDir, 'service.lock')), 'a clean shutdown releases the lock')
})

t.test('a lock left by a process that is gone is taken over; a live one is refused', async (t) => {
  const dir = tempDir(t)
  const gone = spawnSync(process.execPath, ['-e', '']).pid
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'service.lock'), `${gone}\n`)
  const release = lockDataDir(dir)
  t.equal(readFileSync(join(dir, 'service.lock'), 'utf8'), `${process.pid}\n`)
  release()
  t.notOk(existsSync(join(dir, 'service.lock')))

  writeFileSync(join(dir, 'service.lock'), `${process.ppid}\n`)
  t.throws(() => lockDataDir(dir), { message: `DATA_DIR ${dir} is in use by another process (pid ${process.ppid}); stop it or choose another DATA_DIR` })
})
