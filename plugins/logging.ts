import type { FastifyRequest } from 'fastify'
import type { LoggerOptions } from 'pino'

/** Query parameters whose value is a credential, matched on the decoded name (`?%74oken=` is `token`). */
const SECRET_PARAM = /token|secret|key|password|passwd|auth|jwt|signature/i
// A JWT wherever it appears, whatever the parameter is called.
const JWT_SHAPE = /eyJ[\w-]*\.[\w-]+\.[\w-]*/g

const MAX_STRING = 512
const MAX_MESSAGE = 2048
const MAX_FIELDS_JSON = 4096

const clip = (s: string, max: number) => s.length > max ? `${s.slice(0, max)}…[${s.length - max} more]` : s

function decode (s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '))
  } catch {
    return undefined
  }
}

/**
 * The URL as it may be logged: every query value whose decoded name looks like a credential is `[redacted]`, and
 * so is a value whose name cannot be decoded (the router may still read it as a token); JWTs are cut out anywhere.
 */
export function redactUrl (url: string): string {
  const at = url.indexOf('?')
  let safe = url
  if (at !== -1) {
    const query = url.slice(at + 1).split('&').map((pair) => {
      const eq = pair.indexOf('=')
      if (eq === -1) return pair
      const name = decode(pair.slice(0, eq))
      return name === undefined || SECRET_PARAM.test(name) ? `${pair.slice(0, eq)}=[redacted]` : pair
    })
    safe = `${url.slice(0, at)}?${query.join('&')}`
  }
  return clip(safe.replace(JWT_SHAPE, '[redacted]'), 1024)
}

interface SerializedError {
  type: string
  message: string
  code?: string | number
  statusCode?: number
  routine?: string
  stack?: string
  cause?: SerializedError
}

/**
 * An error as it may be logged: type, message, code and stack, nothing else. Database errors carry the SQL, its
 * bound parameters (PGlite's `params`, pg's `detail`) and often a value quoted in the message; the message keeps its
 * wording with every quoted part blanked, and the rest of the object never reaches the log.
 */
export function serializeError (err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) return { type: typeof err, message: clip(String(err), MAX_STRING).replace(JWT_SHAPE, '[redacted]') }
  const e = err as Error & { code?: unknown, statusCode?: unknown, severity?: unknown, routine?: unknown }
  const fromDatabase = typeof e.severity === 'string' || 'params' in e || 'query' in e
  const blank = (s: string) => fromDatabase ? s.replace(/"[^"]*"|'[^']*'|\([^)]*\)=\([^)]*\)/g, '"…"') : s
  const out: SerializedError = {
    type: e.constructor?.name ?? 'Error',
    message: clip(blank(String(e.message)), 1024).replace(JWT_SHAPE, '[redacted]')
  }
  if (typeof e.code === 'string' || typeof e.code === 'number') out.code = e.code
  if (typeof e.statusCode === 'number') out.statusCode = e.statusCode
  if (typeof e.routine === 'string') out.routine = e.routine
  if (e.stack) {
    // The stack's first line repeats the message: blank it the same way.
    const [, ...frames] = e.stack.split('\n')
    out.stack = clip([`${out.type}: ${out.message}`, ...frames.slice(0, 15)].join('\n'), 3000)
  }
  if (e.cause !== undefined && depth < 2) out.cause = serializeError(e.cause, depth + 1)
  return out
}

/** Any other field of a log call: errors serialized as above, strings clipped, nesting and size bounded. */
function bound (value: unknown, depth: number): unknown {
  if (value instanceof Error) return serializeError(value)
  if (typeof value === 'string') return clip(value, MAX_STRING).replace(JWT_SHAPE, '[redacted]')
  if (value === null || typeof value !== 'object') return value
  if (value instanceof Date) return value
  if (depth >= 3) return '[object]'
  if (Array.isArray(value)) {
    const items = value.slice(0, 10).map((v) => bound(v, depth + 1))
    if (value.length > 10) items.push(`…[${value.length - 10} more]`)
    return items
  }
  return Object.fromEntries(Object.entries(value).slice(0, 20).map(([k, v]) => [k, bound(v, depth + 1)]))
}

// Fields whose serializer below already bounds them.
const SERIALIZED = new Set(['req', 'res', 'err'])

/** pino options for the service: every log line is bounded (well under 8 KB) and free of credentials and input. */
export const loggerOptions: LoggerOptions = {
  redact: ['req.headers.authorization', 'req.headers.cookie'],
  serializers: {
    req: (req: FastifyRequest) => ({ method: req.method, url: redactUrl(req.url), remoteAddress: req.ip }),
    err: serializeError
  },
  formatters: {
    log (object) {
      const out: Record<string, unknown> = {}
      for (const [key, value] of Object.entries(object)) out[key] = SERIALIZED.has(key) ? value : bound(value, 0)
      const size = JSON.stringify(out, (k, v) => SERIALIZED.has(k) ? undefined : v).length
      if (size > MAX_FIELDS_JSON) {
        for (const key of Object.keys(out)) if (!SERIALIZED.has(key)) out[key] = '[too large to log]'
      }
      return out
    }
  },
  hooks: {
    logMethod (args, method) {
      // With no message of its own, pino would take an error's raw message: give it the serialized one instead.
      const [first] = args as unknown[]
      const err = first instanceof Error ? first : (first as { err?: unknown } | null)?.err
      if (typeof args[1] !== 'string' && typeof first === 'object' && err instanceof Error) {
        args = [first, serializeError(err).message] as unknown as typeof args
      }
      method.apply(this, args.map((a) => typeof a === 'string' ? clip(a, MAX_MESSAGE).replace(JWT_SHAPE, '[redacted]') : a) as typeof args)
    }
  }
}
