// Array parameters in PostgreSQL's binary format, for node-postgres (which sends a Buffer parameter as binary). A text
// array costs the client a quoted, escaped copy of every element joined into one big string, and the server a parse of
// it (and of every timestamp); the binary form is the elements' bytes behind a length each, written into one buffer.
// PGlite takes arrays as text: these are for a PostgreSQL server only.

const INT4 = 23
const TEXT = 25
const TIMESTAMPTZ = 1184
const TWO_32 = 2 ** 32
// 2000-01-01T00:00:00Z, PostgreSQL's epoch for timestamps (microseconds since it, as an int64).
const PG_EPOCH_MS = Date.UTC(2000, 0, 1)

/** A one-dimensional array's header: dimensions, has-nulls (ignored by the server), element type, length, lower bound. */
function header (buf: Buffer, elementType: number, length: number): number {
  buf.writeInt32BE(1, 0)
  buf.writeInt32BE(0, 4)
  buf.writeInt32BE(elementType, 8)
  buf.writeInt32BE(length, 12)
  buf.writeInt32BE(1, 16)
  return 20
}

export function int4Array (values: readonly (number | null)[]): Buffer {
  const buf = Buffer.allocUnsafe(20 + values.length * 8)
  let at = header(buf, INT4, values.length)
  for (const value of values) {
    if (value === null) {
      at = buf.writeInt32BE(-1, at)
      continue
    }
    at = buf.writeInt32BE(4, at)
    at = buf.writeInt32BE(value, at)
  }
  return buf.subarray(0, at)
}

export function textArray (values: readonly (string | null)[]): Buffer {
  // The exact size: a batch's buffers wait for its write, and reserving the worst case (3 bytes per UTF-16 unit) held
  // about twice as much memory, outside the heap, as the columns need.
  let size = 20 + values.length * 4
  for (const value of values) if (value !== null) size += Buffer.byteLength(value, 'utf8')
  const buf = Buffer.allocUnsafe(size)
  let at = header(buf, TEXT, values.length)
  for (const value of values) {
    if (value === null) {
      at = buf.writeInt32BE(-1, at)
      continue
    }
    const length = buf.write(value, at + 4, 'utf8')
    buf.writeInt32BE(length, at)
    at += 4 + length
  }
  return buf
}

/** Instants given in ms since 1970 (Date.getTime()). */
export function timestamptzArray (values: ArrayLike<number>): Buffer {
  const buf = Buffer.allocUnsafe(20 + values.length * 12)
  let at = header(buf, TIMESTAMPTZ, values.length)
  for (let i = 0; i < values.length; i++) {
    // Microseconds since PostgreSQL's epoch as two 32-bit halves, computed exactly: the product itself can pass 2^53.
    const ms = values[i] - PG_EPOCH_MS
    const high = Math.floor(ms / TWO_32)
    const low = (ms - high * TWO_32) * 1000
    const carry = Math.floor(low / TWO_32)
    at = buf.writeInt32BE(8, at)
    at = buf.writeInt32BE(high * 1000 + carry, at)
    at = buf.writeUInt32BE(low - carry * TWO_32, at)
  }
  return buf.subarray(0, at)
}
