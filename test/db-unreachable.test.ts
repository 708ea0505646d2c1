import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { freePort } from '../bench/lib/server.ts'

t.test('a database server that does not answer at boot: one line naming the connection and the retry, exit 1', async (t) => {
  const [port, dbPort] = [await freePort(), await freePort()] // nothing listens on dbPort: connection refused
  const child = spawn(process.execPath, ['--import', 'tsx', 'server.ts'], {
    cwd: new URL('..', import.meta.url).pathname,
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: String(port),
      JWT_SECRET: 'x'.repeat(32),
      DATABASE_URL: `postgres://jackbox:secret-pw@127.0.0.1:${dbPort}/jackbox`
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let output = ''
  child.stdout.on('data', (chunk) => { output += chunk })
  child.stderr.on('data', (chunk) => { output += chunk })
  const [code] = await once(child, 'exit')
  t.equal(code, 1)
  const lines = output.trim().split('\n')
  t.equal(lines.length, 1, `one line: ${output}`)
  const line = JSON.parse(lines[0])
  t.equal(line.level, 60)
  t.match(line.msg, new RegExp(`^database connection failed \\(127\\.0\\.0\\.1:${dbPort}\\): .*ECONNREFUSED.*restart policy`))
  t.notMatch(output, /migration/, 'not reported as a migration failing')
  t.notMatch(output, /secret-pw/, 'the password stays out of the log')
})
