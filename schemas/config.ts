import { Type, type Static } from '@sinclair/typebox'

const LogLevel = Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)))

export const Env = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 5000 }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  ADMIN_KEY: Type.Optional(Type.String({ minLength: 1 })),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  JWT_EXPIRES_IN: Type.String({ pattern: '^\\d+(ms|s|m|h|d)?$', default: '24h' }),
  ECAST_BASE_URL: Type.String({ pattern: '^https?://[^/]+', default: 'https://ecast.jackboxgames.com' }),
  ECAST_POLL_INTERVAL_MS: Type.Integer({ minimum: 10, default: 5000 }),
  ECAST_ROOM_WAIT_MS: Type.Integer({ minimum: 0, default: 120000 }),
  LOG_LEVEL: Type.Union(LogLevel.anyOf, { default: 'info' }),
  WEBHOOK_ALLOW_LOOPBACK: Type.Boolean({ default: false }),
  CLIENT_COMMAND_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 600_000, default: 60_000 })
})
export type Config = Static<typeof Env>
