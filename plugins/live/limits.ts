/** What one live socket may cost the process (routes/live.ts). */
export const LIVE_LIMITS = {
  /** Messages that read or write the database (auth, subscribe, hello): this many at once… */
  burst: 20,
  /** …and this many a second after that. */
  perSecond: 10,
  /** Sessions one socket may be subscribed to at once. */
  maxSubscriptions: 100
} as const

export const TOO_MANY_MESSAGES = `Too many messages: at most ${LIVE_LIMITS.perSecond} a second of auth, subscribe and hello; wait and send it again`
export const TOO_MANY_SUBSCRIPTIONS = `Too many subscriptions: at most ${LIVE_LIMITS.maxSubscriptions} sessions per socket; unsubscribe from one first`

/** A token bucket: `take()` is true while the socket stays within its burst and rate. */
export class TokenBucket {
  #tokens: number
  #at = performance.now()

  constructor (readonly burst: number = LIVE_LIMITS.burst, readonly perSecond: number = LIVE_LIMITS.perSecond) {
    this.#tokens = burst
  }

  take (): boolean {
    const now = performance.now()
    this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#at) * this.perSecond / 1000)
    this.#at = now
    if (this.#tokens < 1) return false
    this.#tokens--
    return true
  }
}
