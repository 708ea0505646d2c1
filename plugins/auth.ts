import fp from 'fastify-plugin'
import jwt from '@fastify/jwt'
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Role } from '../db/types.ts'
import { findToken, touchToken } from '../db/tokens.ts'
import { durationMs } from '../domain/token-lifetime.ts'
import { Forbidden, Unauthorized } from './errors.ts'
import { ErrorBody } from '../schemas/common.ts'

export type { Role }
export const ROLES: readonly Role[] = ['admin', 'bot', 'overlay']

/** A login token carries only `role: 'admin'`; a scoped token also its row id as `jti`. */
export interface TokenClaims { role: Role, jti?: string }

/** Who a valid token speaks for. `tokenId` is the scoped token's id, null for a login token. */
export interface Identity {
  role: Role
  tokenId: number | null
  /** ms since the epoch */
  expiresAt: number
}

/** An onRequest hook that admits the listed roles; `roles` lets the OpenAPI description name them. */
export type RoleHook = ((request: FastifyRequest, reply: FastifyReply) => Promise<void>) & { roles: readonly Role[] }

// Revocation must reach every process within a second: a scoped token's row is re-read at most this long after.
const TOKEN_CACHE_MS = 500
const TOUCH_EVERY_MS = 60_000
const MAX_EXP = 8_640_000_000_000

const sha256 = (s: string) => createHash('sha256').update(s).digest()
const BEARER = /^Bearer ([A-Za-z0-9_=.+/-]+)$/

export default fp(async function auth (app) {
  const { JWT_SECRET, JWT_EXPIRES_IN } = app.config
  let secret = JWT_SECRET
  if (!secret) {
    secret = randomBytes(32).toString('hex')
    app.log.warn('JWT_SECRET is not set: using a random secret, so tokens stop working when the service restarts')
  }
  let adminKey = app.config.ADMIN_KEY
  if (!adminKey) {
    adminKey = randomBytes(18).toString('base64url')
    // Printed once, on purpose: it is the only way to learn a generated key. Set ADMIN_KEY to keep one.
    app.log.warn(`ADMIN_KEY is not set; generated admin key for this run: ${adminKey}`)
  }
  const adminKeyDigest = sha256(adminKey)

  // HS256 only, both ways: a token naming any other algorithm (or none) is refused before its signature is read.
  await app.register(jwt, {
    secret,
    sign: { algorithm: 'HS256', expiresIn: durationMs(JWT_EXPIRES_IN) / 1000 },
    verify: { algorithms: ['HS256'], requiredClaims: ['exp', 'role'] }
  })

  // Hashing both sides first gives equal-length buffers, so the comparison time says nothing about the key.
  app.decorate('checkAdminKey', (candidate: string) => timingSafeEqual(sha256(candidate), adminKeyDigest))

  const rows = new Map<number, { row: Awaited<ReturnType<typeof findToken>>, readAt: number }>()
  const touched = new Map<string, number>()

  // Only a correctly signed token gets here, so a refused one may bypass the cache (`fresh`) without inviting load.
  async function scopedToken (id: number, fresh = false) {
    const now = Date.now()
    const cached = rows.get(id)
    if (!fresh && cached && now - cached.readAt < TOKEN_CACHE_MS) return cached.row
    if (rows.size > 10_000) {
      for (const [key, entry] of rows) if (now - entry.readAt >= TOKEN_CACHE_MS) rows.delete(key)
    }
    const row = await findToken(app.db, id)
    rows.set(id, { row, readAt: now })
    return row
  }

  async function authenticate (token: string): Promise<Identity> {
    let claims: TokenClaims & { exp: number }
    try {
      claims = app.jwt.verify<TokenClaims & { exp: number }>(token)
    } catch (err) {
      const code = (err as { code?: string }).code
      throw new Unauthorized(code === 'FAST_JWT_EXPIRED' ? 'Token expired' : 'Invalid token')
    }
    // An exp past the last moment a Date can hold (year 275760) is no expiry this service could have signed.
    if (!ROLES.includes(claims.role) || !Number.isInteger(claims.exp) || claims.exp > MAX_EXP) throw new Unauthorized('Invalid token')
    if (claims.jti === undefined) return { role: claims.role, tokenId: null, expiresAt: claims.exp * 1000 }

    const id = Number(claims.jti)
    if (!Number.isSafeInteger(id) || id < 1 || id > 2147483647) throw new Unauthorized('Invalid token')
    let row = await scopedToken(id)
    if (!row || row.role !== claims.role) row = await scopedToken(id, true)
    if (!row || row.role !== claims.role) throw new Unauthorized('Invalid token')
    if (row.revoked_at) throw new Unauthorized('Token revoked')
    if (row.expires_at.getTime() <= Date.now()) throw new Unauthorized('Token expired')
    const now = Date.now()
    const key = `${id}@${row.created_at.getTime()}`
    if (now - (touched.get(key) ?? 0) >= TOUCH_EVERY_MS) {
      if (touched.size > 10_000) touched.clear()
      touched.set(key, now)
      await touchToken(app.db, id)
    }
    return { role: row.role, tokenId: id, expiresAt: row.expires_at.getTime() }
  }
  app.decorate('authenticate', authenticate)
  app.decorate('forgetToken', (id: number) => { rows.delete(id) })

  function requireRole (...roles: Role[]): RoleHook {
    const allowed: readonly Role[] = roles.includes('admin') ? roles : ['admin', ...roles]
    const hook = async function requireRole (request: FastifyRequest) {
      const header = request.headers.authorization
      if (!header) throw new Unauthorized('Authorization: Bearer <token> is required')
      const match = BEARER.exec(header)
      if (!match) throw new Unauthorized('Authorization must be "Bearer <token>"')
      const identity = await authenticate(match[1])
      request.identity = identity
      request.user = { role: identity.role, exp: Math.floor(identity.expiresAt / 1000), iat: 0 }
      if (!allowed.includes(identity.role)) {
        const article = identity.role === 'overlay' || identity.role === 'admin' ? 'An' : 'A'
        throw new Forbidden(`${article} ${identity.role} token may not do this (allowed roles: ${allowed.join(', ')})`)
      }
    }
    return Object.assign(hook, { roles: allowed })
  }
  app.decorate('requireRole', requireRole)
  // The admin-only hook: what every secured route gets unless it names other roles.
  app.decorate('requireAuth', requireRole('admin'))
  app.decorateRequest('identity', null)

  // Each secured operation's OpenAPI description names the roles it allows.
  app.addHook('onRoute', (route) => {
    const hooks = [route.onRequest ?? []].flat() as Partial<RoleHook>[]
    const roles = hooks.find((h) => h.roles)?.roles ??
      (route.schema?.security?.length ? ['admin'] : undefined) // a plugin-wide app.requireAuth
    if (!roles || !route.schema) return
    const line = `Roles: ${roles.join(', ')}.`
    const schema = route.schema as { description?: string }
    if (!schema.description?.includes('Roles:')) schema.description = schema.description ? `${schema.description}\n\n${line}` : line
    const response = route.schema.response as Record<string, unknown> | undefined
    if (response) {
      response[401] ??= ErrorBody
      if (roles.length < ROLES.length) response[403] ??= ErrorBody
    }
  })
}, { name: 'auth', dependencies: ['errors'] }) // app.db is read per request, so a test may mount auth alone

declare module 'fastify' {
  interface FastifyInstance {
    checkAdminKey: (candidate: string) => boolean
    /** Checks a token (signature, HS256, exp, role, and a scoped token's row); throws Unauthorized. */
    authenticate: (token: string) => Promise<Identity>
    /** Drops this process's cached row of a scoped token (after revoking it). */
    forgetToken: (id: number) => void
    /** An onRequest hook admitting admin plus the given roles: 401 without a valid token, 403 for another role. */
    requireRole: (...roles: Role[]) => RoleHook
    /** requireRole('admin'). */
    requireAuth: RoleHook
  }
  interface FastifyRequest {
    /** Set by requireRole on secured routes. */
    identity: Identity | null
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: TokenClaims
    user: { role: Role, iat: number, exp: number }
  }
}
