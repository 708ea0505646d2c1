import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

const SCRIPT = new URL('../../.ci/postgres.sh', import.meta.url).pathname

export interface ThrowawayPostgres {
  /** The server's admin URL (database `postgres`). */
  url: string
  /** Creates an empty database on the server and returns its URL. */
  createDatabase (name: string): Promise<string>
  stop (): void
}

/** Starts a throwaway PostgreSQL 15 on loopback exactly as .ci/run does (it installs it from Debian if missing). */
export function startPostgres (): ThrowawayPostgres {
  let dir = ''
  let url = ''
  // A random loopback port can be taken (ports in this range are also handed out to outgoing connections): try another.
  for (let attempt = 1; !url; attempt++) {
    const port = 54500 + Math.floor(Math.random() * 400)
    dir = mkdtempSync(join(tmpdir(), 'bench-pg-'))
    try {
      url = execFileSync('bash', [SCRIPT, 'start', dir, String(port)], { encoding: 'utf8' }).trim()
    } catch (err) {
      rmSync(dir, { recursive: true, force: true })
      if (attempt === 5) throw err
    }
  }
  let stopped = false
  const stop = () => {
    if (stopped) return
    stopped = true
    execFileSync('bash', [SCRIPT, 'stop', dir])
    rmSync(dir, { recursive: true, force: true })
  }
  process.once('exit', stop)
  return {
    url,
    async createDatabase (name) {
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      await client.query(`create database ${name}`)
      await client.end()
      const dbUrl = new URL(url)
      dbUrl.pathname = `/${name}`
      return dbUrl.toString()
    },
    stop
  }
}
