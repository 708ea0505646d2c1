import { Type } from '@sinclair/typebox'
import { Id, Nullable } from './common.ts'
import { Game } from './games.ts'

export const Stats = Type.Object({
  games: Type.Integer({ description: 'Games in the catalog' }),
  gamesEnabled: Type.Integer({ description: 'Enabled games' }),
  packs: Type.Integer({ description: 'Distinct packs' }),
  sessions: Type.Integer({ description: 'Sessions, open or closed' }),
  activeSessionId: Nullable(Id),
  totalGamesPlayed: Type.Integer({ description: 'Session-game rows over all sessions' }),
  // A reference: the same $id'd schema inlined twice in one response cannot be compiled (register Game first).
  mostPlayed: Type.Array(Type.Ref(Game), { maxItems: 5, description: 'By play_count, highest first, then by title' }),
  topRated: Type.Array(Type.Ref(Game), { maxItems: 5, description: 'By popularity_score, highest first, then by title' })
}, {
  $id: 'Stats',
  description: 'Catalog and session totals, the most played and the top rated games',
  examples: [{
    games: 67,
    gamesEnabled: 64,
    packs: 19,
    sessions: 12,
    activeSessionId: 12,
    totalGamesPlayed: 58,
    mostPlayed: [],
    topRated: []
  }]
})
