import t from 'tap'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { PGlite } from '@electric-sql/pglite'
import { unpackDataDir } from '../../plugins/data-dir-template.ts'
import { EMBEDDED_SETTINGS } from '../../plugins/db.ts'

const root = mkdtempSync(join(tmpdir(), 'test-template-'))
t.teardown(() => rmSync(root, { recursive: true, force: true }))

// A data directory with one row in it, dumped as db/pglite-template.ts dumps the build's template.
const source = new PGlite()
await source.exec('create table kept (x int); insert into kept values (42)')
const tar = Buffer.from(await (await source.dumpDataDir('none')).arrayBuffer())
await source.close()
const archive = join(root, 'template.tar.gz')
writeFileSync(archive, gzipSync(tar))

t.test('an archive cut short fails and leaves no PG_VERSION, so the next boot unpacks it again', async (t) => {
  // Cut just after the data directory's own PG_VERSION, which comes near the end (postgresql.conf and others follow).
  let at = 0
  while (tar.subarray(at, at + 12).toString('latin1') !== '/PG_VERSION\0') at += 512
  const cut = join(root, 'cut.tar.gz')
  writeFileSync(cut, gzipSync(tar.subarray(0, at + 1024 + 100)))
  const dir = join(root, 'cut')
  await t.rejects(unpackDataDir(cut, dir), { message: `data directory template ${cut} is truncated` })
  t.ok(readdirSync(dir).length > 0, 'it had started writing')
  t.notOk(existsSync(join(dir, 'PG_VERSION')), 'no PG_VERSION: the directory does not count as a database')
  await unpackDataDir(archive, dir)
  t.ok(existsSync(join(dir, 'PG_VERSION')))
  t.notOk(existsSync(join(dir, 'PG_VERSION.unpacking')))
})

t.test('the unpacked directory opens as the database it was, with the embedded settings', async (t) => {
  const dir = join(root, 'data')
  await unpackDataDir(archive, dir)
  const db = new PGlite(dir, { startParams: [...PGlite.defaultStartParams, ...EMBEDDED_SETTINGS] })
  t.teardown(() => db.close())
  t.same((await db.query('select x from kept')).rows, [{ x: 42 }])
  const setting = async (name: string) => (await db.query<{ setting: string }>('select current_setting($1) as setting', [name])).rows[0].setting
  t.equal(await setting('shared_buffers'), '8MB')
  t.equal(await setting('max_connections'), '5')
  t.equal(await setting('maintenance_work_mem'), '16MB')
})
