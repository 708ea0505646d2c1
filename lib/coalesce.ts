interface Deferred<T> { promise: Promise<T>, resolve: (value: T) => void, reject: (err: unknown) => void }

/**
 * Wraps `op` so that its runs never overlap and a burst of calls costs at most one more run: a call while a run is in
 * progress schedules one run after it, which every call until then shares. Each call's promise settles with a run
 * that began after the call (so "read what is new now" holds for every caller), and a failed run fails only the calls
 * that share it; the run queued behind it still happens.
 */
export function coalesce<T = void> (op: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined
  let queued: Deferred<T> | undefined

  const start = (): Promise<T> => {
    const run = (async () => op())()
    running = run
    // The queued run starts in the same step that ends this one, so no call can start a run of its own in between.
    const next = () => {
      running = undefined
      if (!queued) return
      const { resolve, reject } = queued
      queued = undefined
      start().then(resolve, reject)
    }
    run.then(next, next)
    return run
  }

  return () => {
    if (!running) return start()
    if (!queued) {
      const next: Partial<Deferred<T>> = {}
      next.promise = new Promise<T>((resolve, reject) => Object.assign(next, { resolve, reject }))
      queued = next as Deferred<T>
    }
    return queued.promise
  }
}
