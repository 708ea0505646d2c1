import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'

export class DataDirLocked extends Error {}

function alive (pid: number): boolean {
  if (pid === process.pid) return false // a lock left by an earlier run that had our pid (a container's pid 1)
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM' // exists, owned by someone else
  }
}

/**
 * Takes the embedded database directory for this process alone: a lock file created with O_EXCL holding our pid.
 * A lock whose process is gone is taken over. Returns the release function; throws DataDirLocked (one clear
 * sentence) when another live process holds it.
 */
export function lockDataDir (dir: string): () => void {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, 'service.lock')
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx')
      writeSync(fd, `${process.pid}\n`)
      closeSync(fd)
      return () => {
        try {
          if (Number(readFileSync(path, 'utf8')) === process.pid) unlinkSync(path)
        } catch {}
      }
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST' || attempt > 0) throw err
    }
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10)
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
      throw new DataDirLocked(`DATA_DIR ${dir} is in use by another process (pid ${pid}); stop it or choose another DATA_DIR`)
    }
    unlinkSync(path) // stale: its process is gone
  }
}
