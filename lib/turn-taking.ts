import { setImmediate as nextTurn } from 'node:timers/promises'
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely'

/**
 * A Kysely plugin for the embedded database (PGlite), whose statements run on the main thread: a caller's next
 * statement starts in the same run of microtasks as the last one's result, so a loop of statements (pruning in batches,
 * paging through a log) would keep every other request from even being read until it ended. After a query, when the
 * event loop has not turned for `sliceMs`, the caller waits for its next turn. Callers need not remember to yield.
 */
export class TurnTaking implements KyselyPlugin {
  readonly #sliceMs: number
  /** When the first query since the event loop last turned returned; undefined once it has turned. */
  #since: number | undefined

  constructor (sliceMs = 10) {
    this.#sliceMs = sliceMs
  }

  transformQuery (args: PluginTransformQueryArgs): RootOperationNode {
    return args.node
  }

  async transformResult (args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const now = performance.now()
    if (this.#since === undefined) {
      this.#since = now
      // Runs at the loop's next check phase: from then on the loop has turned.
      setImmediate(() => { this.#since = undefined })
    } else if (now - this.#since >= this.#sliceMs) {
      await nextTurn()
    }
    return args.result
  }
}
