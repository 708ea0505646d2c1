import t from 'tap'
import { freePort } from '../bench/lib/server.ts'
import { failedBoot } from './server-process.ts'

t.test('a database server that does not answer at boot: one line naming the connection and the retry, exit 1', async (t) => {
  const [port, dbPort] = [await freePort(), await freePort()] // nothing listens on dbPort: connection refused
  const { code, output } = await failedBoot(t, {
    PORT: String(port),
    JWT_SECRET: 'x'.repeat(32),
    DATABASE_URL: `postgres://jackbox:secret-pw@127.0.0.1:${dbPort}/jackbox`
  })
  t.equal(code, 1)
  const lines = output.trim().split('\n')
  t.equal(lines.length, 1, `one line: ${output}`)
  const line = JSON.parse(lines[0])
  t.equal(line.level, 60)
  t.match(line.msg, new RegExp(`^database connection failed \\(127\\.0\\.0\\.1:${dbPort}\\): .*ECONNREFUSED.*restart policy`))
  t.notMatch(output, /migration/, 'not reported as a migration failing')
  t.notMatch(output, /secret-pw/, 'the password stays out of the log')
})
