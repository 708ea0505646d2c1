import fp from 'fastify-plugin'
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import * as domain from '../domain/errors.ts'

/** An error the client caused or must know about; its message and extra fields reach the response body as they are. */
export class ApiError extends Error {
  readonly statusCode: number
  readonly extra: Record<string, unknown>
  constructor (statusCode: number, message: string, extra: Record<string, unknown> = {}) {
    super(message)
    this.statusCode = statusCode
    this.extra = extra
  }
}

export class NotFound extends ApiError {
  constructor (what: string) { super(404, `${what} not found`) }
}

/** No usable token: missing, malformed, forged, expired, revoked or of another algorithm. Sent with `WWW-Authenticate`. */
export class Unauthorized extends ApiError {
  constructor (message: string) { super(401, message) }
}

/** A valid token whose role does not allow the route. */
export class Forbidden extends ApiError {
  constructor (message: string) { super(403, message) }
}

type Reply = [status: number, error: string, extra?: Record<string, unknown>]
type DomainErrorClass = abstract new (...args: never[]) => domain.DomainError

// Each domain error's status and sentence (the original API's words where clients depend on them).
const DOMAIN_REPLIES = new Map<DomainErrorClass, (err: never) => Reply>([
  [domain.SessionNotFound, () => [404, 'Session not found']],
  [domain.GameNotFound, () => [404, 'Game not found']],
  [domain.SessionGameNotFound, () => [404, 'Session game not found']],
  [domain.PackNotFound, () => [404, 'Pack not found']],
  [domain.ActiveSessionExists, (err: domain.ActiveSessionExists) =>
    [400, 'An active session already exists. Please close it before creating a new one.', { activeSessionId: err.activeSessionId }]],
  [domain.SessionAlreadyClosed, () => [400, 'Session is already closed']],
  [domain.SessionClosed, () => [400, 'Cannot add games to a closed session']],
  [domain.SessionStillActive, () => [400, 'Cannot delete an active session. Please close it first.']],
  [domain.DuplicateGame, () => [409, 'A game with this title already exists in this pack']],
  [domain.GameInUse, () => [409, 'Game has been played in a session and cannot be deleted. Disable it instead.']],
  [domain.InvalidPlayerRange, () => [400, 'min_players cannot be greater than max_players']],
  [domain.CsvHeaderMissing, (err: domain.CsvHeaderMissing) =>
    [400, `The CSV header must name the columns ${err.required.join(', ')} (missing: ${err.missing.join(', ')})`]],
  [domain.NoGamesMatch, () => [404, 'No games match the current filters']],
  [domain.NoActiveSession, () => [404, 'No active session']],
  [domain.NoGameAtTime, () => [404, 'No game is being played at that time']],
  [domain.DuplicateVote, () => [409, 'Duplicate vote: this username already voted within the last second']],
  [domain.NoRoomCode, () => [400, 'Game does not have a room code']],
  [domain.ChatLogInvalid, (err: domain.ChatLogInvalid) => [400, err.problem]],
  [domain.NoGamesPlayed, () => [400, 'No games played in this session to match votes against']],
  [domain.TokenNotFound, () => [404, 'Token not found']],
  [domain.TokenLifetimeOutOfRange, (err: domain.TokenLifetimeOutOfRange) =>
    [400, err.bound === 'long' ? 'expiresIn must be at most 30 days' : 'expiresIn must be at least 1 second']],
  [domain.ChatSourceNotFound, () => [404, 'Chat source not found']],
  [domain.ChatSourceExists, () => [409, 'A chat source for this platform and channel already exists']],
  [domain.VoteAlreadyCounted, () => [409, 'This chat message was counted already']]
])

/** The status and body a domain error is answered with. */
export function domainErrorReply (err: domain.DomainError): Reply {
  for (let proto = Object.getPrototypeOf(err); proto && proto !== domain.DomainError.prototype; proto = Object.getPrototypeOf(proto)) {
    const reply = DOMAIN_REPLIES.get(proto.constructor as DomainErrorClass)
    if (reply) return reply(err as never)
  }
  return [500, 'Internal Server Error']
}

// Errors that mean "cannot reach the database", from pg (socket errors, admin shutdown, connection failures).
const DB_DOWN_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN',
  '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006'])

export function isDatabaseDown (err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const code = (err as { code?: string }).code
  if (code && DB_DOWN_CODES.has(code)) return true
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(err.message)
}

// Postgres constraint errors that only bad input can cause; routes catch the ones they expect with a
// friendlier sentence, this is the net for the rest.
const PG_INPUT_ERRORS: Record<string, [number, string]> = {
  23505: [409, 'That would duplicate an existing record'],
  23503: [409, 'That record is referenced by, or refers to, another record'],
  23514: [400, 'A value is out of its allowed range'],
  '22P02': [400, 'A value has the wrong format'],
  22003: [400, 'A number is out of range'],
  22007: [400, 'A date or time has the wrong format'],
  22008: [400, 'A date or time is out of range']
}

interface AjvError {
  keyword: string
  instancePath: string
  message?: string
  params: Record<string, unknown>
  parentSchema?: { errorMessage?: string | { required?: Record<string, string> } }
}

function fieldName (path: string): string {
  return path.replace(/^\//, '').replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.')
}

/**
 * One sentence for a schema failure: the failing schema's `errorMessage` (the documented sentences), the
 * parent's `errorMessage.required[field]` for a missing field, else "<field> is required" / "<field> <ajv message>".
 */
export function validationMessage (errors: AjvError[], context: string | undefined): string {
  const err = errors[0]
  const custom = err.parentSchema?.errorMessage
  if (err.keyword === 'required') {
    const missing = String(err.params.missingProperty)
    const field = fieldName(`${err.instancePath}/${missing}`)
    const message = typeof custom === 'object' ? custom.required?.[missing] : undefined
    return message ?? `${field} is required`
  }
  if (typeof custom === 'string') return custom
  const field = fieldName(err.instancePath) || (context === 'body' ? 'body' : context ?? 'input')
  if (err.keyword === 'additionalProperties') {
    const unknown = fieldName(`${err.instancePath}/${String(err.params.additionalProperty)}`)
    return `Unknown field '${unknown}' in the ${context === 'body' ? 'request body' : context ?? 'input'}`
  }
  return `${field} ${err.message ?? 'is invalid'}`
}

export default fp(async function errors (app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError & { extra?: Record<string, unknown> }, request, reply) => {
    if (error instanceof ApiError) {
      if (error instanceof Unauthorized) reply.header('www-authenticate', 'Bearer')
      if (error.statusCode >= 500) request.log.warn({ err: error.cause ?? error }, error.message)
      return reply.code(error.statusCode).send({ error: error.message, ...error.extra })
    }
    if (error instanceof domain.DomainError) {
      const [status, message, extra] = domainErrorReply(error)
      if (status >= 500) request.log.error({ err: error }, 'unmapped domain error')
      return reply.code(status).send({ error: message, ...extra })
    }
    if (error.validation) {
      return reply.code(400).send({ error: validationMessage(error.validation as AjvError[], error.validationContext) })
    }
    if (isDatabaseDown(error)) {
      request.log.warn({ err: error }, 'database unavailable')
      return reply.code(503).send({ error: 'Database unavailable' })
    }
    const pgCode = (error as { code?: string }).code
    const mapped = pgCode !== undefined ? PG_INPUT_ERRORS[pgCode] : undefined
    if (mapped && typeof (error as { severity?: unknown }).severity === 'string') {
      request.log.info({ err: error }, 'constraint rejected input')
      return reply.code(mapped[0]).send({ error: mapped[1] })
    }
    // Fastify's own 4xx (bad JSON, body too large, unsupported media type) and jwt's 401s keep status and message.
    const status = error.statusCode ?? 500
    if (status >= 400 && status < 500) return reply.code(status).send({ error: error.message })
    request.log.error({ err: error }, 'request failed')
    return reply.code(500).send({ error: 'Internal Server Error' })
  })

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: `Route ${request.method} ${request.url.split('?')[0]} not found` })
  })
}, { name: 'errors' })

/** Fastify's `frameworkErrors`: a bad URL (400) or a too long path parameter (414), in the error shape. */
export function frameworkErrors (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  const status = error.statusCode ?? 400
  const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is too long' : 'The URL is not valid'
  reply.code(status).send({ error: message })
}

/**
 * An error on a live socket: a frame the client got wrong (too large, bad UTF-8, a bad opcode: ws's `WS_ERR_*`, after
 * which ws closes the socket with the fitting code) or a connection it dropped is the client's doing, logged as such
 * without a stack; anything else is ours. The socket is terminated either way.
 */
export function websocketErrorHandler (error: Error & { code?: string }, socket: { terminate (): void }, request: FastifyRequest) {
  if (error.code?.startsWith('WS_ERR_')) request.log.warn({ code: error.code }, `live client sent a bad frame: ${error.message}`)
  else if (error.code === 'ECONNRESET' || error.code === 'EPIPE') request.log.info({ code: error.code }, 'live client connection lost')
  else request.log.error({ err: error }, 'live socket failed')
  socket.terminate()
}

/**
 * Node's `clientError` (a request timeout, headers too large, a malformed request): answered on the raw socket in the
 * error shape, as Fastify's default handler does in its own.
 */
export function clientErrorHandler (error: Error & { code?: string }, socket: Socket) {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    ? 408
    : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400
  const sentence = status === 408
    ? 'The request did not arrive in time'
    : status === 431 ? 'The request headers are too large' : 'The request is malformed'
  const body = JSON.stringify({ error: sentence })
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}
