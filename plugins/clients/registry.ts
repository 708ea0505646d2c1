import { REASONS, type ClientSession, type CommandOutcome } from '../../schemas/clients.ts'

/**
 * What the admin routes need from the connected clients. Every method is async and takes only ids, so a client held
 * by another process is reached behind this interface, with no change to the routes.
 */
export interface ClientRegistry {
  list (): Promise<ClientSession[]>
  get (id: string): Promise<ClientSession | undefined>
  /** Closes the client's socket with 1000; false when there is no such client. */
  disconnect (id: string): Promise<boolean>
  /** Runs one of the client's announced functions and waits for its answer; undefined when there is no such client. */
  call (id: string, key: string, data: unknown): Promise<CommandOutcome | undefined>
}

/** A client's answer to a command, as it arrived (checked by `settle`). */
export interface CommandResult { ok?: unknown, response?: unknown, error?: unknown }

/** Beyond this many commands waiting for one client, another is answered "client never responded" at once. */
export const MAX_WAITING_COMMANDS = 16

export const NEVER_RESPONDED: CommandOutcome = { processed: false, reason: REASONS.noResponse }
