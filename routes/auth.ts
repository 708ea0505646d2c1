import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ApiError } from '../plugins/errors.ts'
import { ErrorBody } from '../schemas/common.ts'
import { LoginBody, LoginResult, VerifyResult } from '../schemas/auth.ts'

const MAX_FAILURES = 10
const WINDOW_MS = 60_000

/** Counts failed logins per client address in a sliding one-minute window. */
class FailedLogins {
  readonly #failures = new Map<string, number[]>()

  #recent (ip: string, now: number): number[] {
    const recent = (this.#failures.get(ip) ?? []).filter((t) => now - t < WINDOW_MS)
    if (recent.length) this.#failures.set(ip, recent)
    else this.#failures.delete(ip)
    return recent
  }

  /** Seconds until this address may try again, or 0 when it may try now. */
  retryAfter (ip: string, now = Date.now()): number {
    const recent = this.#recent(ip, now)
    return recent.length >= MAX_FAILURES ? Math.ceil((recent[0] + WINDOW_MS - now) / 1000) : 0
  }

  record (ip: string, now = Date.now()) {
    this.#failures.set(ip, [...this.#recent(ip, now), now])
  }
}

const auth: FastifyPluginAsyncTypebox = async (app) => {
  const failed = new FailedLogins()

  app.post('/login', {
    schema: {
      tags: ['auth'],
      operationId: 'login',
      summary: 'Trade the admin key for a token',
      description: `At most ${MAX_FAILURES} failed attempts per minute per client address; after that, 429.`,
      body: LoginBody,
      response: { 200: LoginResult, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody }
    }
  }, async (request, reply) => {
    const wait = failed.retryAfter(request.ip)
    if (wait > 0) {
      reply.header('retry-after', wait)
      throw new ApiError(429, `Too many failed login attempts. Try again in ${wait} seconds.`)
    }
    if (!app.checkAdminKey(request.body.key)) {
      failed.record(request.ip)
      throw new ApiError(401, 'Invalid admin key')
    }
    return { token: app.jwt.sign({ role: 'admin' }), expiresIn: app.config.JWT_EXPIRES_IN }
  })

  app.get('/verify', {
    onRequest: app.requireAuth,
    schema: {
      tags: ['auth'],
      operationId: 'verifyToken',
      summary: 'Check a token',
      description: 'Answers 200 with the token\'s role and expiry while the token is valid, 401 otherwise.',
      security: [{ bearer: [] }],
      response: { 200: VerifyResult, 401: ErrorBody }
    }
  }, async (request) => {
    return { valid: true as const, role: 'admin' as const, expiresAt: new Date(request.user.exp * 1000).toISOString() }
  })
}

export default auth
