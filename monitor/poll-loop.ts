import type { WatchTimers } from './watch-types.ts'

export interface PollLoopOptions {
  periodMs: number
  timers: WatchTimers
  now: () => number
  /** One poll; never rejects. */
  step (): Promise<void>
  /** The delay before the next poll (the period, or a backoff after failures). */
  nextDelay (): number
  /** Whether the watch is over: nothing more is scheduled. */
  done (): boolean
}

/**
 * A room watch's schedule: one poll at a time, the next one set only after the previous one finished, and an early
 * poll when asked (`wake`), after the one in progress if any.
 */
export class PollLoop {
  readonly #o: PollLoopOptions
  #scheduling = false
  #timer: unknown = null
  #running: Promise<void> | null = null
  #wakeAgain = false
  /** When polling started (the wait for a room is timed from it). */
  startedAt: number

  constructor (options: PollLoopOptions) {
    this.#o = options
    this.startedAt = options.now()
  }

  get running (): boolean { return this.#running !== null }

  start (): void {
    if (this.#scheduling || this.#o.done()) return
    this.#scheduling = true
    this.startedAt = this.#o.now()
    this.#schedule(0)
  }

  /** Schedules nothing more; resolves once the poll in progress (if any) finished. */
  async stop (): Promise<void> {
    this.#scheduling = false
    this.#clearTimer()
    await this.#running
  }

  /** One poll now; a poll already running is joined, not repeated. */
  run (): Promise<void> {
    if (this.#running) return this.#running
    if (this.#o.done()) return Promise.resolve()
    this.#running = this.#o.step().finally(() => { this.#running = null })
    return this.#running
  }

  /** Poll now rather than at the next period (after the poll in progress, if any). */
  wake (): void {
    if (this.#running) {
      this.#wakeAgain = true
      return
    }
    if (this.#scheduling) this.#schedule(0)
  }

  #clearTimer (): void {
    if (this.#timer !== null) this.#o.timers.clear(this.#timer)
    this.#timer = null
  }

  #schedule (delay: number): void {
    if (!this.#scheduling || this.#o.done()) return
    this.#clearTimer()
    if (delay > 0) {
      // Polls of many watches land on a shared quarter-period grid, so the process wakes for batches of them rather
      // than once per poll: about a third less CPU with 200 rooms (bench/monitor.ts).
      const grid = Math.max(10, Math.floor(this.#o.periodMs / 4))
      const now = this.#o.now()
      delay = Math.max(0, Math.round((now + delay) / grid) * grid - now)
    }
    this.#timer = this.#o.timers.set(() => {
      this.#timer = null
      this.run().then(() => {
        const again = this.#wakeAgain
        this.#wakeAgain = false
        this.#schedule(again ? 0 : this.#o.nextDelay())
      })
    }, delay)
  }
}
