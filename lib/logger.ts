/**
 * The part of a pino logger that the background pieces (a room watch and its audience link, the room leases, a chat
 * connection) write with: they know nothing of Fastify, and tests pass a plain object.
 */
export interface BackgroundLogger {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
}
