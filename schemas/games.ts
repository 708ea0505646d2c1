import { Type, type Static } from '@sinclair/typebox'
import { Flag, FlagInput, Id, Nullable, Timestamp } from './common.ts'

/** One of a few values, as a plain `enum` so a failure yields one error, which `errorMessage` can name. */
export const Enum = <T extends string | number>(values: readonly T[], options: Record<string, unknown>) =>
  Type.Unsafe<T>({ type: typeof values[0] === 'number' ? 'integer' : 'string', enum: values, ...options })

export const FavorBias = Enum([-1, 0, 1] as const, {
  description: 'Picker weight: 1 favored (×3), 0 neutral (×1), -1 disfavored (×0.2)',
  errorMessage: 'favor_bias must be -1, 0 or 1'
})

const PlayerCount = Type.Integer({ minimum: 1, maximum: 1000 })

/** The catalog facts of one game, for the examples of a game and of a new one. */
const QUIPLASH_2 = {
  pack_name: 'The Jackbox Party Pack 3',
  title: 'Quiplash 2',
  min_players: 3,
  max_players: 8,
  length_minutes: 15,
  has_audience: 1,
  family_friendly: 0,
  game_type: 'Writing',
  drawing: 0
}

export const Game = Type.Object({
  id: Id,
  pack_name: Type.String({ examples: ['The Jackbox Party Pack 3'] }),
  title: Type.String({ examples: ['Quiplash 2'] }),
  min_players: Type.Integer({ examples: [3] }),
  max_players: Type.Integer({ examples: [8] }),
  length_minutes: Nullable(Type.Integer({ examples: [15] })),
  has_audience: Flag,
  family_friendly: Flag,
  game_type: Nullable(Type.String({ examples: ['Writing'] })),
  drawing: Flag,
  play_count: Type.Integer({ description: 'How many times the game was added to a session' }),
  popularity_score: Type.Integer({ description: 'upvotes - downvotes' }),
  upvotes: Type.Integer(),
  downvotes: Type.Integer(),
  enabled: Flag,
  favor_bias: FavorBias,
  created_at: Timestamp
}, {
  $id: 'Game',
  description: 'A game of the catalog, with its play and vote counters',
  examples: [{
    id: 12,
    ...QUIPLASH_2,
    play_count: 4,
    popularity_score: 6,
    upvotes: 7,
    downvotes: 1,
    enabled: 1,
    favor_bias: 0,
    created_at: '2026-03-15T19:00:00.000Z'
  }]
})
export type Game = Static<typeof Game>

export const GameList = Type.Array(Game, { description: 'The games matching every filter, by pack_name then title' })

export const NewGame = Type.Object({
  pack_name: Type.String({ minLength: 1, maxLength: 200, examples: ['The Jackbox Party Pack 3'] }),
  title: Type.String({ minLength: 1, maxLength: 200, examples: ['Quiplash 2'] }),
  min_players: PlayerCount,
  max_players: PlayerCount,
  length_minutes: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 1440, description: 'null when unknown' }))),
  has_audience: Type.Optional(FlagInput('has_audience')),
  family_friendly: Type.Optional(FlagInput('family_friendly')),
  game_type: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 100, examples: ['Writing'] }))),
  drawing: Type.Optional(FlagInput('drawing')),
  enabled: Type.Optional(FlagInput('enabled')),
  favor_bias: Type.Optional(FavorBias)
}, {
  additionalProperties: false,
  description: 'Catalog facts. Counters (play_count, upvotes, downvotes, popularity_score) are never written here.',
  examples: [QUIPLASH_2]
})
export type NewGame = Static<typeof NewGame>

export const GameFilters = Type.Object({
  enabled: Type.Optional(Type.Boolean({ description: '`true`: only enabled games; `false`: only disabled ones' })),
  playerCount: Type.Optional({ ...PlayerCount, description: 'Keeps games with min_players ≤ playerCount ≤ max_players' }),
  pack: Type.Optional(Type.String({ description: 'Exact pack name' })),
  gameType: Type.Optional(Type.String({ description: 'Game type, case-insensitive' })),
  familyFriendly: Type.Optional(Type.Boolean({ description: '`true`: only family-friendly games; `false`: only the others' })),
  drawing: Type.Optional(Type.Boolean({ description: '`true`: only drawing games; `false`: no drawing games' })),
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Case-insensitive substring of the title' }))
})
export type GameFilters = Static<typeof GameFilters>

export const FavorBody = Type.Object({ favor_bias: FavorBias }, { examples: [{ favor_bias: 1 }] })
export type FavorBody = Static<typeof FavorBody>

export const DeletedGame = Type.Object({
  message: Type.Literal('Game deleted successfully'),
  gameId: Id
}, { description: 'The game was deleted' })

export const Pack = Type.Object({
  name: Type.String({ examples: ['The Jackbox Party Pack 3'] }),
  total: Type.Integer({ description: 'Games in the pack' }),
  enabled: Type.Integer({ description: 'Enabled games in the pack' })
}, { $id: 'Pack', description: 'A pack of the catalog and how many of its games are enabled' })
export const PackList = Type.Array(Pack, { description: 'Every pack, by name' })

export const PackParams = Type.Object({
  name: Type.String({ minLength: 1, description: 'The pack name, URL-encoded', examples: ['The Jackbox Party Pack 3'] })
})
export type PackParams = Static<typeof PackParams>

export const PackToggleBody = Type.Object({
  enabled: FlagInput('enabled', '1 (or true) enables every game of the pack, 0 (or false) disables them all')
}, { examples: [{ enabled: false }] })

export const PackToggleResult = Type.Object({
  pack: Type.String(),
  enabled: Type.Boolean(),
  gamesAffected: Type.Integer({ description: 'Games in the pack, all of which now have this state' })
}, { description: 'Every game of the pack now has this state', examples: [{ pack: 'The Jackbox Party Pack 3', enabled: false, gamesAffected: 5 }] })

export const CsvImportBody = Type.Object({
  csv: Type.String({
    minLength: 1,
    maxLength: 5_000_000,
    description: 'CSV text with a header line. Columns: pack_name, title, min_players, max_players (required), ' +
      'length_minutes, has_audience, family_friendly, game_type, drawing (optional; flags 0/1 or true/false). ' +
      'Unknown columns are ignored.',
    examples: ['pack_name,title,min_players,max_players,length_minutes,has_audience,family_friendly,game_type,drawing\n' +
      'The Jackbox Party Pack 3,Quiplash 2,3,8,15,1,0,Writing,0\n']
  }),
  mode: Enum(['append', 'replace'] as const, {
    description: '`append` adds new games and updates existing ones (same pack_name and title); `replace` also ' +
      'deletes the games the CSV does not list, except games a session has used',
    errorMessage: "mode must be 'append' or 'replace'"
  })
})
export type CsvImportBody = Static<typeof CsvImportBody>

export const CsvImportResult = Type.Object({
  imported: Type.Integer({ description: 'New games added' }),
  updated: Type.Integer({ description: 'Existing games whose facts were replaced by a CSV line' }),
  errors: Type.Array(Type.Object({
    line: Type.Integer({ description: 'Line of the CSV text, the header being line 1' }),
    error: Type.String()
  }), { description: 'The first 100 lines that were skipped, and why, in line order' }),
  errorCount: Type.Integer({ minimum: 0, description: 'How many lines were skipped in all' })
}, {
  $id: 'CsvImportResult',
  description: 'What a CSV import added, updated and skipped',
  examples: [{ imported: 3, updated: 1, errors: [{ line: 5, error: 'min_players must be a positive integer' }], errorCount: 1 }]
})
export type CsvImportResult = Static<typeof CsvImportResult>
