import fp from 'fastify-plugin'
import jwt from '@fastify/jwt'
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'

export interface TokenClaims { role: 'admin' }

const sha256 = (s: string) => createHash('sha256').update(s).digest()

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

  await app.register(jwt, { secret, sign: { expiresIn: JWT_EXPIRES_IN } })

  // Hashing both sides first gives equal-length buffers, so the comparison time says nothing about the key.
  app.decorate('checkAdminKey', (candidate: string) => timingSafeEqual(sha256(candidate), adminKeyDigest))

  app.decorate('requireAuth', async function requireAuth (request: FastifyRequest, _reply: FastifyReply) {
    await request.jwtVerify()
  })
}, { name: 'auth', dependencies: ['errors'] })

declare module 'fastify' {
  interface FastifyInstance {
    checkAdminKey: (candidate: string) => boolean
    requireAuth: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: TokenClaims
    user: TokenClaims & { iat: number, exp: number }
  }
}
