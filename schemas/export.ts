import { Type, type Static } from '@sinclair/typebox'
import { Nullable } from './common.ts'

export const ExportQuery = Type.Object({
  format: Type.Unsafe<'json' | 'txt'>({
    type: 'string',
    enum: ['json', 'txt'],
    default: 'txt',
    errorMessage: 'format must be "json" or "txt"'
  })
})
export type ExportQuery = Static<typeof ExportQuery>

const IsoString = Type.String({ format: 'date-time' })

export const SessionExport = Type.Object({
  session: Type.Object({
    id: Type.Integer(),
    created_at: IsoString,
    closed_at: Nullable(IsoString),
    is_active: Type.Boolean(),
    notes: Nullable(Type.String()),
    games_played: Type.Integer({ minimum: 0 })
  }),
  games: Type.Array(Type.Object({
    title: Type.String(),
    pack: Type.String(),
    players: Type.String({ examples: ['3-8'] }),
    type: Nullable(Type.String()),
    played_at: IsoString,
    manually_added: Type.Boolean(),
    status: Type.String()
  })),
  chat_logs: Type.Array(Type.Object({
    username: Type.String(),
    message: Type.String(),
    timestamp: IsoString,
    vote: Nullable(Type.Union([Type.Literal('thisgame++'), Type.Literal('thisgame--')]))
  }))
}, { $id: 'SessionExport', description: 'A session with its games and chat log, with real booleans' })
export type SessionExport = Static<typeof SessionExport>
