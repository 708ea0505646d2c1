import { Type, type Static } from '@sinclair/typebox'
import { Id } from './common.ts'
import { Enum, Game } from './games.ts'

export const PickBody = Type.Object({
  playerCount: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Keeps games with min_players ≤ playerCount ≤ max_players' })),
  drawing: Type.Optional(Enum(['only', 'exclude'] as const, {
    description: '`only`: drawing games only; `exclude`: no drawing games',
    errorMessage: "drawing must be 'only' or 'exclude'"
  })),
  length: Type.Optional(Enum(['short', 'medium', 'long'] as const, {
    description: '`short` ≤ 15 min, `medium` 16–25 min, `long` > 25 min; games of unknown length match none',
    errorMessage: "length must be 'short', 'medium' or 'long'"
  })),
  familyFriendly: Type.Optional(Type.Boolean({ description: '`true`: only family-friendly games; `false`: only the others' })),
  gameType: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Game type, case-insensitive', examples: ['Writing'] })),
  packs: Type.Optional(Type.Array(Type.String({ minLength: 1 }), {
    maxItems: 100,
    description: 'Only games of these packs (exact names); an empty list does not restrict'
  })),
  excludeIds: Type.Optional(Type.Array(Id, { maxItems: 10_000, description: 'Game ids never to pick' })),
  sessionId: Type.Optional({ ...Id, description: 'Avoid repeats: leaves out the games of this session\'s two most recently added session games' }),
  seed: Type.Optional(Type.Integer({
    minimum: -2147483648,
    maximum: 4294967295,
    description: 'Makes the choice reproducible: the same seed on the same catalog picks the same game'
  }))
}, {
  additionalProperties: false,
  examples: [{ playerCount: 6, length: 'short', drawing: 'exclude', sessionId: 5 }, { seed: 42 }]
})
export type PickBody = Static<typeof PickBody>

export const PickResult = Type.Object({
  game: Game,
  poolSize: Type.Integer({ description: 'How many games matched the filters' }),
  totalEnabled: Type.Integer({ description: 'How many games are enabled in the catalog' })
}, { $id: 'PickResult', description: 'The picked game and the size of the pool it was drawn from' })
