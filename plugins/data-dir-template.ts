import { closeSync, createReadStream, existsSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs'
import { join, normalize, sep } from 'node:path'
import { createGunzip } from 'node:zlib'

// The initialised embedded database directory that `npm run build` writes (db/pglite-template.ts): a gzipped tar.
export const DATA_DIR_TEMPLATE = new URL('../db/pglite-template.tar.gz', import.meta.url).pathname

/**
 * true when `dir` holds no embedded database yet and the build's template is there to start it from. Without a build
 * (`npm start` from the sources) there is none, and PGlite runs initdb.
 */
export function wantsTemplate (dir: string): boolean {
  return !dir.includes('://') && !existsSync(join(dir, 'PG_VERSION')) && existsSync(DATA_DIR_TEMPLATE)
}

const text = (block: Buffer, at: number, length: number) => {
  const field = block.subarray(at, at + length)
  const end = field.indexOf(0)
  return field.subarray(0, end === -1 ? length : end).toString('utf8')
}

/**
 * Unpacks a gzipped tar of a data directory into `dir`, streaming: each file is written as its bytes arrive, so memory
 * stays at a few buffers. (Handing the tarball to PGlite's `loadDataDir` gunzips and untars all 39 MB in memory, which
 * left ~55 MB of freed but unreturned native heap for the life of the process.) PG_VERSION, which marks a data
 * directory as initialised, is put in place last, once the whole archive was read: an unpack cut short is redone at
 * the next boot.
 */
export async function unpackDataDir (archive: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true })
  let pending: Buffer = Buffer.alloc(0)
  let fd: number | undefined // the file being written
  let left = 0 // its bytes still to come
  let skip = 0 // padding to the next 512-byte block
  let version: string | undefined
  let ended = false // the end-of-archive blocks were read
  try {
    for await (const chunk of createReadStream(archive).pipe(createGunzip()) as AsyncIterable<Buffer>) {
      const buf = pending.length ? Buffer.concat([pending, chunk]) : chunk
      let at = 0
      while (at < buf.length) {
        if (left > 0) {
          const n = Math.min(left, buf.length - at)
          writeSync(fd!, buf, at, n)
          at += n
          left -= n
          if (left === 0) { closeSync(fd!); fd = undefined }
        } else if (skip > 0) {
          const n = Math.min(skip, buf.length - at)
          at += n
          skip -= n
        } else if (buf.length - at < 512) {
          break
        } else {
          const header = buf.subarray(at, at + 512)
          at += 512
          if (header.every((b) => b === 0)) { ended = true; continue }
          const prefix = text(header, 257, 5) === 'ustar' ? text(header, 345, 155) : ''
          const name = normalize((prefix ? prefix + '/' : '') + text(header, 0, 100)).replace(/^\/+/, '')
          if (name.split(sep).includes('..')) throw new Error(`data directory template: unsafe path ${name}`)
          const size = Number.parseInt(text(header, 124, 12).trim() || '0', 8)
          const type = String.fromCharCode(header[156])
          const path = join(dir, name)
          if (type === '5') {
            mkdirSync(path, { recursive: true })
          } else if (type === '0' || type === '\0') {
            if (name === 'PG_VERSION') version = path
            fd = openSync(name === 'PG_VERSION' ? path + '.unpacking' : path, 'w', 0o600)
            left = size
            if (left === 0) { closeSync(fd); fd = undefined }
          } else {
            throw new Error(`data directory template: unexpected entry type ${JSON.stringify(type)} for ${name}`)
          }
          skip = (512 - (size % 512)) % 512 // after the file's bytes
        }
      }
      pending = buf.subarray(at)
    }
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
  if (!ended || left > 0 || !version) throw new Error(`data directory template ${archive} is truncated`)
  renameSync(version + '.unpacking', version)
}
