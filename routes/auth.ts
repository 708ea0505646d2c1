import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ApiError } from '../plugins/errors.ts'
import { ErrorBody, IdParams } from '../schemas/common.ts'
import { CreatedToken, LoginBody, LoginResult, NewToken, TokenList, TokenRevoked, VerifyResult } from '../schemas/auth.ts'
import { countLoginFailures, recordLoginFailure } from '../db/tokens.ts'
import { createToken, listTokens, revokeToken } from '../domain/tokens.ts'

const MAX_FAILURES = 10
const WINDOW_MS = 60_000

const auth: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/login', {
    schema: {
      tags: ['auth'],
      operationId: 'login',
      summary: 'Trade the admin key for a token',
      description: `Returns an admin token. At most ${MAX_FAILURES} failed attempts per minute per client address ` +
        '(across every process of the service; behind a reverse proxy set TRUST_PROXY so the address is the client\'s); ' +
        'after that, 429 with Retry-After.',
      body: LoginBody,
      response: { 200: LoginResult, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody }
    }
  }, async (request, reply) => {
    // The failures live in the database, so the limit holds across every process sharing it.
    const { count, clearsInMs } = await countLoginFailures(app.db, request.ip, WINDOW_MS)
    if (count >= MAX_FAILURES) {
      const wait = Math.max(1, Math.ceil(clearsInMs / 1000))
      reply.header('retry-after', wait)
      throw new ApiError(429, `Too many failed login attempts. Try again in ${wait} seconds.`)
    }
    if (!app.checkAdminKey(request.body.key)) {
      await recordLoginFailure(app.db, request.ip, WINDOW_MS)
      throw new ApiError(401, 'Invalid admin key')
    }
    return { token: app.jwt.sign({ role: 'admin' }), expiresIn: app.config.JWT_EXPIRES_IN }
  })

  app.get('/verify', {
    onRequest: app.requireRole('admin', 'bot', 'overlay'),
    schema: {
      tags: ['auth'],
      operationId: 'verifyToken',
      summary: 'Check a token',
      description: 'Answers 200 with the token\'s role and expiry while the token is valid; 401 (with `WWW-Authenticate: Bearer`) for a missing, malformed, forged, expired or revoked token.',
      security: [{ bearer: [] }],
      response: { 200: VerifyResult, 401: ErrorBody }
    }
  }, async (request) => {
    const { role, expiresAt } = request.identity!
    return { valid: true as const, role, expiresAt: new Date(expiresAt).toISOString() }
  })

  app.post('/tokens', {
    onRequest: app.requireAuth,
    schema: {
      tags: ['auth'],
      operationId: 'createToken',
      summary: 'Create a scoped token',
      description: 'A token for one bot or overlay, with only the power its role needs, revocable on its own. The JWT is ' +
        'in this response only; the service keeps no copy.',
      security: [{ bearer: [] }],
      body: NewToken,
      response: { 201: CreatedToken, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody }
    }
  }, async (request, reply) => {
    const { name, role, expiresIn = app.config.JWT_EXPIRES_IN } = request.body
    const created = await createToken(app.db, (payload, options) => app.jwt.sign(payload, options), { name, role, expiresIn })
    reply.code(201)
    return created
  })

  app.get('/tokens', {
    onRequest: app.requireAuth,
    schema: {
      tags: ['auth'],
      operationId: 'listTokens',
      summary: 'List the scoped tokens',
      description: 'Every scoped token not revoked (expired ones included), newest first. Login tokens are not listed.',
      security: [{ bearer: [] }],
      response: { 200: TokenList, 401: ErrorBody, 403: ErrorBody }
    }
  }, async () => listTokens(app.db))

  app.delete('/tokens/:id', {
    onRequest: app.requireAuth,
    schema: {
      tags: ['auth'],
      operationId: 'revokeToken',
      summary: 'Revoke a scoped token',
      description: 'The token is refused (401) from then on, by every process of the service within a second.',
      security: [{ bearer: [] }],
      params: IdParams,
      response: { 200: TokenRevoked, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    const revoked = await revokeToken(app.db, request.params.id)
    app.forgetToken(request.params.id) // this process refuses it at once; the others within their cache's 500 ms
    return revoked
  })
}

export default auth
