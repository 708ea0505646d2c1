import { randomUUID } from 'node:crypto'
import { WebSocket } from 'ws'
import type { FastifyBaseLogger } from 'fastify'
import type { LiveClient, LiveHub } from '../live/index.ts'
import { REASONS, type ClientSession, type CommandOutcome } from '../../schemas/clients.ts'
import type { HelloMessage } from '../../schemas/live.ts'
import { MAX_WAITING_COMMANDS, NEVER_RESPONDED, type ClientRegistry, type CommandResult } from './registry.ts'

interface Announced {
  readonly id: string
  readonly client: LiveClient
  readonly createdAt: number
  name: string
  functions: string[]
  /** The commands sent and not yet answered, by command id: each settles its caller's promise once. */
  readonly waiting: Map<string, (outcome: CommandOutcome) => void>
}

/** The live clients of this process that said hello, and the commands waiting for their answers. */
export class LocalClientRegistry implements ClientRegistry {
  readonly #byId = new Map<string, Announced>()
  readonly #byClient = new Map<LiveClient, Announced>()
  readonly #hub: LiveHub
  readonly #log: FastifyBaseLogger
  readonly #timeoutMs: number

  readonly #onForget: (id: string) => void

  /** `onForget`: called once per client that leaves (closed, disconnected or dropped). */
  constructor (hub: LiveHub, log: FastifyBaseLogger, timeoutMs: number, onForget: (id: string) => void = () => {}) {
    this.#hub = hub
    this.#log = log
    this.#timeoutMs = timeoutMs
    this.#onForget = onForget
  }

  /**
   * Registers the client (or, on a second hello, replaces its name and functions) and returns its clientId; `first`
   * on its first hello.
   */
  announce (client: LiveClient, hello: Pick<HelloMessage, 'name' | 'functions'>): { id: string, first: boolean } {
    const functions = [...new Set(hello.functions)]
    const known = this.#byClient.get(client)
    if (known) {
      known.name = hello.name
      known.functions = functions
      return { id: known.id, first: false }
    }
    const entry: Announced = { id: randomUUID(), client, createdAt: Date.now(), name: hello.name, functions, waiting: new Map() }
    this.#byId.set(entry.id, entry)
    this.#byClient.set(client, entry)
    client.socket.once('close', () => this.#forget(entry))
    return { id: entry.id, first: true }
  }

  /** The clientId of a client that said hello. */
  idOf (client: LiveClient): string | undefined {
    return this.#byClient.get(client)?.id
  }

  /** Forgets a client without closing its socket (its hello could not be recorded). */
  drop (id: string): void {
    const entry = this.#byId.get(id)
    if (entry) this.#forget(entry)
  }

  /**
   * A command_result from the client: settles the command waiting under that id, if any (a late answer, after the
   * timeout, finds none and is dropped). Returns whether one was waiting.
   */
  settle (client: LiveClient, commandId: string, result: CommandResult): boolean {
    const finish = this.#byClient.get(client)?.waiting.get(commandId)
    if (!finish) return false
    if (result.ok === true && typeof result.response === 'object' && result.response !== null) {
      finish({ processed: true, response: result.response as Record<string, unknown> })
    } else if (result.ok === false && typeof result.error === 'string') {
      finish({ processed: false, reason: REASONS.errored(result.error) })
    } else {
      finish({ processed: false, reason: REASONS.invalid })
    }
    return true
  }

  async list (): Promise<ClientSession[]> {
    return [...this.#byId.values()].map(view)
  }

  async get (id: string): Promise<ClientSession | undefined> {
    const entry = this.#byId.get(id)
    return entry && view(entry)
  }

  async disconnect (id: string): Promise<boolean> {
    const entry = this.#byId.get(id)
    if (!entry) return false
    // Gone from the list now, not when the closing handshake ends.
    this.#forget(entry)
    entry.client.socket.close(1000, 'Disconnected')
    return true
  }

  async call (id: string, key: string, data: unknown): Promise<CommandOutcome | undefined> {
    const entry = this.#byId.get(id)
    if (!entry) return undefined
    if (!entry.functions.includes(key)) return { processed: false, reason: REASONS.noFunction }
    if (entry.client.socket.readyState !== WebSocket.OPEN) return NEVER_RESPONDED
    if (entry.waiting.size >= MAX_WAITING_COMMANDS) {
      this.#log.warn({ clientId: id, waiting: entry.waiting.size }, 'too many commands waiting for a connected client: answered "client never responded"')
      return NEVER_RESPONDED
    }
    const commandId = randomUUID()
    return new Promise((resolve, reject) => {
      const finish = (outcome: CommandOutcome) => {
        clearTimeout(timer)
        entry.waiting.delete(commandId)
        resolve(outcome)
      }
      const timer = setTimeout(() => finish(NEVER_RESPONDED), this.#timeoutMs)
      timer.unref()
      entry.waiting.set(commandId, finish)
      try {
        this.#hub.send(entry.client, { type: 'command', id: commandId, key, data })
      } catch (err) {
        // Not sent (data that cannot be serialized): it must not hold one of the client's slots until the timeout.
        clearTimeout(timer)
        entry.waiting.delete(commandId)
        reject(err)
      }
    })
  }

  /** Answers every waiting command "client never responded" (the service is shutting down). */
  close (): void {
    for (const entry of [...this.#byId.values()]) this.#forget(entry)
  }

  #forget (entry: Announced): void {
    if (this.#byId.get(entry.id) !== entry) return
    this.#byId.delete(entry.id)
    this.#byClient.delete(entry.client)
    for (const finish of [...entry.waiting.values()]) finish(NEVER_RESPONDED)
    this.#onForget(entry.id)
  }
}

function view (entry: Announced): ClientSession {
  return {
    id: entry.id,
    user_key: entry.client.tokenId,
    name: entry.name,
    functions: [...entry.functions],
    subscriptions: [...entry.client.sessions].sort((a, b) => a - b),
    created_at: entry.createdAt
  }
}
