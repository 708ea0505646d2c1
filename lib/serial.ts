/** Runs operations one after another. */
export type Serial = <T>(op: () => Promise<T>) => Promise<T>

/**
 * A queue of one lane: each operation starts once the one before it has settled, and a failure fails only its own
 * caller. For writes whose order matters (a status sent first must not commit last) and for lease changes that must
 * match what the last statement said.
 */
export function serial (): Serial {
  let tail: Promise<unknown> = Promise.resolve()
  return <T>(op: () => Promise<T>): Promise<T> => {
    const next = tail.then(op)
    tail = next.catch(() => {})
    return next
  }
}
