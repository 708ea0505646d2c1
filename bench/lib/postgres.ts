import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

const SCRIPT = new URL('../../.ci/postgres.sh', import.meta.url).pathname

export interface ThrowawayPostgres {
  /** The server's admin URL (database `postgres`). */
  url: string
  /** Its data directory; the server logs to `server.log` in it. */
  dir: string
  /** Creates an empty database on the server and returns its URL. */
  createDatabase (name: string): Promise<string>
  /** CPU seconds the server has used so far: the postmaster, its live backends and the ones that exited. */
  cpuSeconds (): number
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
    dir,
    async createDatabase (name) {
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      await client.query(`create database ${name}`)
      await client.end()
      const dbUrl = new URL(url)
      dbUrl.pathname = `/${name}`
      return dbUrl.toString()
    },
    cpuSeconds: () => serverCpuSeconds(dir),
    stop
  }
}

/** utime + stime (+ cutime + cstime with `children`) of a process in seconds (clock ticks of 1/100 s), and its parent. */
export function processCpu (pid: number, children = false): { ppid: number, seconds: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  const ticks = Number(fields[11]) + Number(fields[12]) + (children ? Number(fields[13]) + Number(fields[14]) : 0)
  return { ppid: Number(fields[1]), seconds: ticks / 100 }
}

function serverCpuSeconds (dir: string): number {
  const postmaster = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0])
  let total = processCpu(postmaster, true).seconds
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const { ppid, seconds } = processCpu(Number(entry), false)
      if (ppid === postmaster) total += seconds
    } catch {} // it exited meanwhile
  }
  return total
}
