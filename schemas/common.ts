import { Type, type Static } from '@sinclair/typebox'

// The upper bound is Postgres' integer: a larger id can never exist, and must be a 400 rather than a database error.
export const Id = Type.Integer({ minimum: 1, maximum: 2147483647, description: 'A positive integer id' })

// Event ids are bigints read as JS numbers: none can be larger, so a larger `since` is a 400, not a database error.
export const MAX_EVENT_ID = Number.MAX_SAFE_INTEGER

export const IdParams = Type.Object({ id: Id })
export type IdParams = Static<typeof IdParams>

export const SessionGameParams = Type.Object({
  sessionId: Id,
  sessionGameId: { ...Id, description: 'session_games.id, not games.id' }
})
export type SessionGameParams = Static<typeof SessionGameParams>

// Flags are stored as smallint 0/1 and travel that way, as the original API did.
export const Flag = Type.Union([Type.Literal(0), Type.Literal(1)])
export type Flag = Static<typeof Flag>

/**
 * A flag as a client writes it: 0/1 or true/false. The body validator stores it
 * back as 0/1 (`x-flag`, plugins/validation.ts), so handlers and the database only see 0/1 integers.
 */
export const FlagInput = (field: string, description?: string) => Type.Unsafe<Flag>({
  enum: [0, 1, false, true],
  'x-flag': true,
  errorMessage: `${field} must be 0, 1, true or false`,
  ...(description === undefined ? {} : { description })
})

// A Date in the row, ISO-8601 with milliseconds on the wire (fast-json-stringify calls toISOString).
export const Timestamp = Type.Unsafe<Date>({ type: 'string', format: 'date-time', examples: ['2026-03-15T19:00:00.000Z'] })

export const Nullable = <T extends import('@sinclair/typebox').TSchema>(schema: T) => Type.Union([schema, Type.Null()])

export const ErrorBody = Type.Object({
  error: Type.String({ description: 'A human sentence naming the problem' })
}, { $id: 'Error', additionalProperties: true, description: 'Every error: one sentence, plus the extra fields a route names (activeSessionId)' })
export type ErrorBody = Static<typeof ErrorBody>

export const RoomCode = Type.String({
  pattern: '^[A-Z0-9]{4}$',
  errorMessage: 'room_code must be exactly 4 alphanumeric characters (A-Z, 0-9)',
  examples: ['ABCD']
})
