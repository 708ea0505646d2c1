import fp from 'fastify-plugin'
import { EventEmitter } from 'node:events'
import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import { beatLiveProcess, deleteLiveProcess } from '../db/live-processes.ts'
import type { Database } from '../db/types.ts'

export interface ProcessHeartbeatOptions {
  /** How long a process counts as alive after its last renewal; it renews every quarter of it. */
  ttlMs?: number
}

interface HeartbeatEvents {
  /** A beat found this process's row missing: the first beat, or one after being taken for dead while cut off. */
  recreated: []
  /** A beat deleted the rows of processes that stopped renewing, and what hangs off them. */
  pruned: []
  /** A beat saw a room lease free for the taking (see `holdLeases`). */
  leasesFree: []
}

/**
 * This process's row in `live_processes`, which says it is alive to the others sharing the database. Every quarter of
 * `ttlMs` it is renewed, and the rows of processes that stopped renewing (SIGKILL, a frozen host) are deleted, with
 * what hangs off them (their connected clients, the commands addressed to them). The row is deleted on stop.
 * The room leases of the process hang off the row too (`holdLeases`): the same one statement per beat keeps them all.
 */
export class ProcessHeartbeat extends EventEmitter<HeartbeatEvents> {
  readonly #db: Kysely<Database>
  readonly #log: FastifyBaseLogger
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #failing = false
  #stopped = false
  #leaseTtlMs: number | undefined
  #beatMs: number

  constructor (db: Kysely<Database>, readonly instance: string, readonly ttlMs: number, log: FastifyBaseLogger) {
    super()
    this.#db = db
    this.#log = log
    this.#beatMs = ttlMs / 4
  }

  /**
   * This process holds room leases, which last `leaseTtlMs` past a beat (they are free for others to take once it
   * passes): the beat quickens to a third of it, so a lease outlives two late beats, and each beat also says
   * (`leasesFree`) whether a lease is free, the dead owners' included. Called before `start`.
   */
  holdLeases (leaseTtlMs: number): void {
    this.#leaseTtlMs = leaseTtlMs
    this.#beatMs = Math.min(this.ttlMs / 4, leaseTtlMs / 3)
  }

  /** The first beat (it throws when the database cannot be written), then one every beat period. */
  async start (): Promise<void> {
    await this.#beat()
    this.#schedule()
  }

  /** Stops beating and deletes this process's row. */
  async stop (): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running?.catch(() => {})
    await deleteLiveProcess(this.#db, this.instance)
      .catch((err) => this.#log.warn(`could not remove this process's row: ${(err as Error).message}`))
  }

  async #beat (): Promise<void> {
    const { recreated, pruned, freeLeases } = await beatLiveProcess(this.#db, this.instance, this.ttlMs, this.#leaseTtlMs)
    if (recreated) this.emit('recreated')
    if (pruned) this.emit('pruned')
    if (freeLeases) this.emit('leasesFree')
  }

  #schedule (): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#running = this.#beat().then(() => {
        if (this.#failing) this.#log.info('process heartbeat: database reachable again')
        this.#failing = false
      }, (err) => {
        if (!this.#failing && !this.#stopped) this.#log.warn(`process heartbeat failed: ${(err as Error).message}`)
        this.#failing = true
      }).finally(() => this.#schedule())
    }, this.#beatMs).unref()
  }
}

export default fp<ProcessHeartbeatOptions>(async function processHeartbeat (app, opts) {
  const heartbeat = new ProcessHeartbeat(app.db, app.instance, opts.ttlMs ?? 10_000, app.log.child({ plugin: 'process-heartbeat' }))
  app.decorate('processHeartbeat', heartbeat)
  app.addHook('onReady', async () => heartbeat.start())
  app.addHook('onClose', async () => heartbeat.stop())
}, { name: 'process-heartbeat', dependencies: ['db'] })

declare module 'fastify' {
  interface FastifyInstance {
    /** This process's row among the processes sharing the database (its connected clients hang off it). */
    processHeartbeat: ProcessHeartbeat
  }
}
