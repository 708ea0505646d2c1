import { hash } from 'node:crypto'
import type { VoteType } from '../db/types.ts'
import type { TimelineEntry } from '../db/timeline.ts'

// What a chat import counts: which messages are votes, the key that dedupes a message, and the tally of the votes an
// import newly stored, per game, with the first few echoed back.

/** Newly stored votes counted per game by one import. */
export interface GameVoteCount {
  game_id: number
  title: string
  upvotes: number
  downvotes: number
}

export interface VoteMatch {
  username: string
  message: string
  timestamp: string
  vote_type: VoteType
  session_game_id: number
  game_id: number
  title: string
}

/** How many counted votes an import echoes back in debug.voteMatches. */
export const VOTE_MATCH_LIMIT = 100
const VOTE = /thisgame(\+\+|--)/i

/** thisgame++ is up, thisgame-- is down, case-insensitive; when a message has both, the first one wins. */
export function voteTypeOf (message: string): VoteType | null {
  // The leftmost match of either; no lower-cased copy of every message.
  const match = VOTE.exec(message)
  return match === null ? null : match[1] === '++' ? 'up' : 'down'
}

/** The dedupe key: SHA-256 of username:message:timestamp, with the timestamp as ISO-8601 (ms, UTC). */
export function messageHash (username: string, message: string, timestamp: Date): string {
  return hashOf(username, message, timestamp.toISOString())
}

// crypto.hash, one call per message: a Hash object per message (createHash) costs more than the hashing.
export const hashOf = (username: string, message: string, iso: string) => hash('sha256', `${username}:${message}:${iso}`, 'hex')

/** The new votes of an import, counted per session game, and the first few echoed back. */
export class ImportTally {
  messages = 0
  inserted = 0
  voteMatches: VoteMatch[] = []
  /** The counts are not to be trusted: the timeline changed after rows were mapped (see recount). */
  stale = false
  private readonly bySessionGame = new Map<number, { up: number, down: number }>()

  constructor (public timeline: TimelineEntry[]) {}

  /** One newly stored vote that fell into session game `sessionGameId`, in log order. */
  count (sessionGameId: number, voteType: VoteType, username: string, message: string, iso: string) {
    const count = this.bySessionGame.get(sessionGameId) ?? { up: 0, down: 0 }
    if (voteType === 'up') count.up++
    else count.down++
    this.bySessionGame.set(sessionGameId, count)
    if (this.voteMatches.length === VOTE_MATCH_LIMIT) return
    const entry = this.timeline.find((e) => e.id === sessionGameId)!
    this.voteMatches.push({ username, message, timestamp: iso, vote_type: voteType, session_game_id: entry.id, game_id: entry.game_id, title: entry.title })
  }

  /** The counted votes per game, in game id order. */
  byGame (): GameVoteCount[] {
    const byGame = new Map<number, GameVoteCount>()
    for (const entry of this.timeline) {
      const count = this.bySessionGame.get(entry.id)
      if (!count) continue
      let game = byGame.get(entry.game_id)
      if (!game) byGame.set(entry.game_id, game = { game_id: entry.game_id, title: entry.title, upvotes: 0, downvotes: 0 })
      game.upvotes += count.up
      game.downvotes += count.down
    }
    return [...byGame.values()].sort((a, b) => a.game_id - b.game_id)
  }
}
