import { Type, type Static } from '@sinclair/typebox'
import { Duration } from './config.ts'
import { Id, Nullable, Timestamp } from './common.ts'

export const LoginBody = Type.Object({
  key: Type.String({ minLength: 1, description: 'The admin key (ADMIN_KEY)' })
})
export type LoginBody = Static<typeof LoginBody>

export const LoginResult = Type.Object({
  token: Type.String({ description: 'Send as `Authorization: Bearer <token>`' }),
  expiresIn: Type.String({ examples: ['24h'] })
}, { description: 'A bearer token and its lifetime' })

export const Role = Type.Union([Type.Literal('admin'), Type.Literal('bot'), Type.Literal('overlay')], {
  description: '`admin` may do everything; `bot` may read, record live votes, import chat logs and use the live ' +
    'socket; `overlay` may read and use the live socket'
})

export const VerifyResult = Type.Object({
  valid: Type.Literal(true),
  role: Role,
  expiresAt: Type.String({ format: 'date-time' })
}, { description: 'The token is valid: its role and when it expires' })

export const NewToken = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100, description: 'What holds the token, e.g. "chat bot"' }),
  role: Role,
  expiresIn: Type.Optional({ ...Duration, description: 'Lifetime: seconds, or a number with ms, s, m, h or d; at most 30 days. Default JWT_EXPIRES_IN', examples: ['30d'] })
}, { additionalProperties: false })
export type NewToken = Static<typeof NewToken>

const TokenFields = {
  id: Id,
  name: Type.String(),
  role: Role,
  expiresAt: Type.String({ format: 'date-time' }),
  created_at: Timestamp
}

export const CreatedToken = Type.Object({
  ...TokenFields,
  token: Type.String({ description: 'The JWT, shown this once' })
}, { description: 'The new token, with its JWT (shown this once)' })

export const TokenInfo = Type.Object({
  ...TokenFields,
  last_used_at: Nullable(Timestamp)
})

export const TokenList = Type.Array(TokenInfo, { description: 'The scoped tokens not revoked, newest first' })

export const TokenRevoked = Type.Object({
  message: Type.Literal('Token revoked'),
  tokenId: Id
}, { description: 'The token is revoked: every process refuses it within a second' })
