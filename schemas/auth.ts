import { Type, type Static } from '@sinclair/typebox'

export const LoginBody = Type.Object({
  key: Type.String({ minLength: 1, description: 'The admin key (ADMIN_KEY)' })
})
export type LoginBody = Static<typeof LoginBody>

export const LoginResult = Type.Object({
  token: Type.String({ description: 'Send as `Authorization: Bearer <token>`' }),
  expiresIn: Type.String({ examples: ['24h'] })
}, { description: 'A bearer token and its lifetime' })

export const VerifyResult = Type.Object({
  valid: Type.Literal(true),
  role: Type.Literal('admin'),
  expiresAt: Type.String({ format: 'date-time' })
}, { description: 'The token is valid: its role and when it expires' })
