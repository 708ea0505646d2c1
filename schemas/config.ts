import { Type, type Static } from '@sinclair/typebox'

const LogLevel = Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)))

/** A duration as @fastify/jwt's `expiresIn` reads it: a number of seconds, or a number with ms, s, m, h or d. */
export const Duration = Type.String({ pattern: '^\\d+(ms|s|m|h|d)?$' })

export const Env = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 5000 }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  ADMIN_KEY: Type.Optional(Type.String({ minLength: 16 })),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  JWT_EXPIRES_IN: Type.String({ ...Duration, default: '24h' }),
  ECAST_BASE_URL: Type.String({ pattern: '^https?://[^/]+', default: 'https://ecast.jackboxgames.com' }),
  // At least 200 ms: when the process watching a room dies, another takes the room over within two poll periods
  // (monitor/leases.ts: a lease of three quarters of a period, checked every quarter, and the new owner's first poll);
  // below that, the database round trips and ecast's own answers take a period's share by themselves.
  ECAST_POLL_INTERVAL_MS: Type.Integer({ minimum: 200, default: 5000, expected: 'an integer of at least 200 (ms): a dead process\'s rooms are taken over within two poll periods, which a shorter period cannot guarantee' }),
  ECAST_ROOM_WAIT_MS: Type.Integer({ minimum: 0, default: 120000 }),
  LOG_LEVEL: Type.Union(LogLevel.anyOf, { default: 'info' }),
  // true/false, a hop count, or a comma-separated list of addresses and CIDR ranges, as Fastify's trustProxy.
  TRUST_PROXY: Type.Optional(Type.String({ pattern: '^(true|false|\\d+|[0-9A-Fa-f]*[.:][0-9A-Fa-f.:]*(/\\d+)?(\\s*,\\s*[0-9A-Fa-f]*[.:][0-9A-Fa-f.:]*(/\\d+)?)*)$', expected: 'true, false, a hop count, or a comma-separated list of addresses or CIDR ranges' })),
  WEBHOOK_ALLOW_LOOPBACK: Type.Boolean({ default: false }),
  LIVE_MAX_CLIENTS: Type.Integer({ minimum: 1, default: 5000 }),
  CLIENT_COMMAND_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 600_000, default: 60_000 }),
  EVENT_RETENTION_DAYS: Type.Integer({ minimum: 1, default: 30 }),
  // A WebSocket URL with no path: the chat library connects to a host and port (see chat/twitch-url.ts).
  TWITCH_CHAT_URL: Type.String({ pattern: '^wss?://([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\])(:\\d{1,5})?/?$', expected: 'a ws:// or wss:// URL with a host and an optional port, no path', default: 'wss://irc-ws.chat.twitch.tv:443' })
})
export type Config = Static<typeof Env>
