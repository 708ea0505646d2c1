import { randomUUID } from 'node:crypto'
import { WebSocket } from 'ws'
import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import {
  claimClientCommands, deleteClientCommand, deleteLiveClient, findLiveClient, finishClientCommand, insertClientCommand,
  insertLiveClient, listLiveClients, listStoredClientCommands, takeClientCommandResults, updateLiveClient
} from '../../db/live-clients.ts'
import type { Database, LiveClientRow } from '../../db/types.ts'
import { REASONS, type ClientSession, type CommandOutcome } from '../../schemas/clients.ts'
import type { HelloMessage } from '../../schemas/live.ts'
import type { Listen } from '../db.ts'
import type { LiveClient, LiveHub } from '../live/index.ts'
import type { ProcessHeartbeat } from '../process-heartbeat.ts'
import { coalesce } from '../../lib/coalesce.ts'
import { LocalClientRegistry } from './local.ts'
import { NEVER_RESPONDED, type ClientRegistry, type CommandResult } from './registry.ts'

// Connected clients across the processes sharing the database (a command reaches a client whichever process holds it).
// Each process keeps its own clients' sockets and waiting commands (LocalClientRegistry) and mirrors what the admin
// routes show of them in `live_clients`. A command or disconnect for a client held by another process is a row in
// `client_commands`: its insert NOTIFYs the owner, which claims it, runs it on the socket like a local one (same
// bound, same timeout, same "client never responded" when the client leaves) and stores the outcome, whose NOTIFY
// wakes the caller. A poll every `pollMs` stands in for a lost notification. Clients and commands hang off their
// process's `live_processes` row (plugins/process-heartbeat.ts): a process that stops (SIGKILL) is pruned by the others,
// which deletes its clients and the commands sent to it, so a caller waiting on it answers "client never responded"
// then instead of at its timeout.

export interface SharedClientRegistryOptions {
  db: Kysely<Database>
  listen: Listen
  hub: LiveHub
  /** This process's row among those sharing the database. */
  heartbeat: ProcessHeartbeat
  log: FastifyBaseLogger
  /** How long a command waits for its client's answer. */
  timeoutMs: number
  /** How often commands and outcomes are read without a notification. */
  pollMs: number
}

const rowView = (row: LiveClientRow): ClientSession => ({
  id: row.id,
  user_key: row.user_key,
  name: row.name,
  functions: row.functions,
  subscriptions: row.subscriptions,
  created_at: row.announced_at.getTime()
})

/** The connected clients of every process sharing the database, and the commands routed between them. */
export class SharedClientRegistry implements ClientRegistry {
  readonly local: LocalClientRegistry
  readonly #o: SharedClientRegistryOptions
  readonly #instance: string
  /** Per client, its row writes in order (insert, updates, delete). */
  readonly #writes = new Map<string, Promise<void>>()
  readonly #queuedUpdates = new Map<string, number>()
  /** Commands this process sent to clients of other processes, by command row id; `stored` once the insert is done. */
  readonly #waiting = new Map<string, { finish: (outcome: CommandOutcome) => void, stored: boolean }>()
  readonly #unlisten: Array<() => Promise<void>> = []
  readonly #claim = coalesce(() => this.#claimCommands())
  readonly #collect = coalesce(() => this.#collectResults())
  readonly #unwatch: Array<() => void> = []
  #timer: NodeJS.Timeout | undefined
  #failing = false
  #stopped = false

  constructor (options: SharedClientRegistryOptions) {
    this.#o = options
    this.#instance = options.heartbeat.instance
    this.local = new LocalClientRegistry(options.hub, options.log, options.timeoutMs,
      (id) => { this.#write(id, async () => { await deleteLiveClient(this.#o.db, id) }) })
  }

  /** Call once this process's row exists (after the heartbeat's first beat). */
  async start (): Promise<void> {
    const { hub, heartbeat } = this.#o
    this.#watch(hub, 'subscriptions', (client: LiveClient) => {
      const id = this.local.idOf(client)
      if (id !== undefined && client.socket.readyState === WebSocket.OPEN) this.#queueUpdate(id)
    })
    // A client whose token expired or was revoked leaves the list, and its commands are refused, at once.
    this.#watch(hub, 'signed-out', (client: LiveClient) => {
      const id = this.local.idOf(client)
      if (id !== undefined) this.local.drop(id)
    })
    this.#watch(heartbeat, 'recreated', () => { this.#relist().catch(() => {}) })
    // A pruned process took its clients' commands with it: their callers are answered now.
    this.#watch(heartbeat, 'pruned', () => { this.#collect().catch(() => {}) })
    this.#unlisten.push(await this.#o.listen('client_commands', () => { this.#claim().catch(() => {}) }))
    this.#unlisten.push(await this.#o.listen('client_command_results', () => { this.#collect().catch(() => {}) }))
    this.#schedule()
  }

  /** A hello: registers the client here and records it for every process before its clientId is given out. */
  async announce (client: LiveClient, hello: Pick<HelloMessage, 'name' | 'functions'>): Promise<string> {
    const { id, first } = this.local.announce(client, hello)
    try {
      await this.#write(id, async () => {
        const view = await this.local.get(id)
        if (!view) return // it left meanwhile
        if (first) await insertLiveClient(this.#o.db, this.#row(view))
        else await updateLiveClient(this.#o.db, id, this.#fields(view))
      })
    } catch (err) {
      if (first) this.local.drop(id)
      throw err
    }
    return id
  }

  settle (client: LiveClient, commandId: string, result: CommandResult): boolean {
    return this.local.settle(client, commandId, result)
  }

  async list (): Promise<ClientSession[]> {
    const rows = await listLiveClients(this.#o.db)
    const sessions: ClientSession[] = []
    for (const row of rows) {
      // This process's own clients as they are now (a subscription change may not be written yet).
      const session = row.owner === this.#instance ? await this.local.get(row.id) : rowView(row)
      if (session) sessions.push(session)
    }
    return sessions
  }

  async get (id: string): Promise<ClientSession | undefined> {
    const session = await this.local.get(id)
    if (session) return session
    const row = await findLiveClient(this.#o.db, id)
    return row && row.owner !== this.#instance ? rowView(row) : undefined
  }

  async disconnect (id: string): Promise<boolean> {
    if (await this.local.disconnect(id)) {
      // Gone from every process's list once its row is deleted.
      await this.#writes.get(id)
      return true
    }
    const row = await findLiveClient(this.#o.db, id)
    if (!row || row.owner === this.#instance) return false
    try {
      await this.#o.db.transaction().execute(async (trx) => {
        const owner = await deleteLiveClient(trx, id)
        if (owner === undefined) return
        await insertClientCommand(trx, { id: randomUUID(), client_id: id, owner, caller: null, kind: 'disconnect', key: null, data: null })
      })
    } catch (err) {
      if (isForeignKeyViolation(err)) return false // its process died meanwhile: so did the socket
      throw err
    }
    return true
  }

  async call (id: string, key: string, data: unknown): Promise<CommandOutcome | undefined> {
    const local = await this.local.call(id, key, data)
    if (local) return local
    const row = await findLiveClient(this.#o.db, id)
    if (!row) return undefined
    if (row.owner === this.#instance) return NEVER_RESPONDED // it left this process a moment ago
    if (!row.functions.includes(key)) return { processed: false, reason: REASONS.noFunction }
    const commandId = randomUUID()
    // Waiting before the insert: the outcome may come back before the insert's own promise resolves.
    const outcome = new Promise<CommandOutcome>((resolve) => {
      const timer = setTimeout(() => {
        finish(NEVER_RESPONDED)
        deleteClientCommand(this.#o.db, commandId).catch(() => {})
      }, this.#o.timeoutMs)
      timer.unref()
      const finish = (outcome: CommandOutcome) => {
        clearTimeout(timer)
        this.#waiting.delete(commandId)
        resolve(outcome)
      }
      this.#waiting.set(commandId, { finish, stored: false })
    })
    try {
      await insertClientCommand(this.#o.db, {
        id: commandId, client_id: id, owner: row.owner, caller: this.#instance, kind: 'call', key, data: JSON.stringify(data)
      })
    } catch (err) {
      this.#waiting.get(commandId)?.finish(NEVER_RESPONDED)
      if (isForeignKeyViolation(err)) return NEVER_RESPONDED // the owner (or this process's row) was pruned meanwhile
      throw err
    }
    const waiting = this.#waiting.get(commandId)
    if (waiting) waiting.stored = true
    return outcome
  }

  /**
   * Answers what waits "client never responded" and finishes this process's row writes; the clients' rows go with the
   * process's row when its heartbeat stops.
   */
  async close (): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    for (const unlisten of this.#unlisten.splice(0)) await unlisten().catch(() => {})
    this.local.close()
    for (const { finish } of [...this.#waiting.values()]) finish(NEVER_RESPONDED)
    await Promise.all(this.#writes.values())
  }

  #row (view: ClientSession) {
    return { id: view.id, owner: this.#instance, user_key: view.user_key, announced_at: new Date(view.created_at), ...this.#fields(view) }
  }

  #fields (view: ClientSession) {
    return { name: view.name, functions: JSON.stringify(view.functions), subscriptions: JSON.stringify(view.subscriptions) }
  }

  /** Queues a write of a client's row after its earlier ones; a failure is logged (and rejects the returned promise). */
  #write (id: string, op: () => Promise<void>): Promise<void> {
    const next = (this.#writes.get(id) ?? Promise.resolve()).then(op)
    const settled = next.catch((err) => this.#o.log.warn({ clientId: id }, `could not record a connected client: ${(err as Error).message}`))
    this.#writes.set(id, settled)
    settled.finally(() => { if (this.#writes.get(id) === settled) this.#writes.delete(id) }).catch(() => {})
    return next
  }

  /** Writes a client's subscriptions; of several queued at once, only the last runs (it writes the latest state). */
  #queueUpdate (id: string): void {
    this.#queuedUpdates.set(id, (this.#queuedUpdates.get(id) ?? 0) + 1)
    this.#write(id, async () => {
      const left = this.#queuedUpdates.get(id)! - 1
      if (left) this.#queuedUpdates.set(id, left)
      else this.#queuedUpdates.delete(id)
      if (left) return
      const view = await this.local.get(id)
      if (view) await updateLiveClient(this.#o.db, id, this.#fields(view))
    }).catch(() => {})
  }

  /** This process was taken for dead while cut off (its clients' rows went with its row): they are listed again. */
  async #relist (): Promise<void> {
    for (const view of await this.local.list()) {
      this.#write(view.id, async () => {
        const current = await this.local.get(view.id)
        if (current) await insertLiveClient(this.#o.db, this.#row(current), { ifMissing: true })
      }).catch(() => {})
    }
  }

  /** Reads the commands and outcomes a lost notification would have announced. */
  async #poll (): Promise<void> {
    try {
      await this.#claim()
      await this.#collect()
      if (this.#failing) this.#o.log.info('connected clients: database reachable again')
      this.#failing = false
    } catch (err) {
      if (!this.#failing && !this.#stopped) this.#o.log.warn(`connected clients poll failed: ${(err as Error).message}`)
      this.#failing = true
    }
  }

  #schedule (): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => { this.#poll().finally(() => this.#schedule()) }, this.#o.pollMs).unref()
  }

  #watch<E extends string, A extends unknown[]> (emitter: { on (event: E, fn: (...args: A) => void): unknown, off (event: E, fn: (...args: A) => void): unknown },
    event: E, fn: (...args: A) => void): void {
    emitter.on(event, fn)
    this.#unwatch.push(() => { emitter.off(event, fn) })
  }

  /** Runs the commands other processes sent to this process's clients; each outcome is stored for its caller. */
  async #claimCommands (): Promise<void> {
    if (this.#stopped) return
    const commands = await claimClientCommands(this.#o.db, this.#instance)
    for (const command of commands) {
      if (command.kind === 'disconnect') {
        await this.local.disconnect(command.client_id)
        await deleteClientCommand(this.#o.db, command.id)
        continue
      }
      // Not awaited: a command waits for its client's answer, the next ones must not wait behind it.
      this.local.call(command.client_id, command.key ?? '', command.data ?? [])
        .then((outcome) => finishClientCommand(this.#o.db, command.id, JSON.stringify(outcome ?? NEVER_RESPONDED)))
        .catch((err) => this.#o.log.warn({ commandId: command.id }, `could not store a command's outcome: ${(err as Error).message}`))
    }
  }

  /** Hands each answered command's outcome to its caller; one whose row is gone was deleted with its owner's process. */
  async #collectResults (): Promise<void> {
    if (!this.#waiting.size) return
    for (const { id, outcome } of await takeClientCommandResults(this.#o.db, this.#instance)) {
      this.#waiting.get(id)?.finish(outcome as CommandOutcome)
    }
    const stored = [...this.#waiting].filter(([, waiting]) => waiting.stored).map(([id]) => id)
    const left = new Set(await listStoredClientCommands(this.#o.db, stored))
    for (const id of stored) if (!left.has(id)) this.#waiting.get(id)?.finish(NEVER_RESPONDED)
  }
}

const isForeignKeyViolation = (err: unknown) => (err as { code?: unknown } | null)?.code === '23503'
