import fp from 'fastify-plugin'
import type { FastifyBaseLogger } from 'fastify'
import type { EventType } from '../schemas/events.ts'

export interface DomainEvent {
  type: EventType
  /** ISO-8601 with milliseconds, set when the event is published. */
  timestamp: string
  /** The session the event belongs to: subscribers of this session receive it. Null only for session.started's audience. */
  sessionId: number
  data: unknown
}

export type EventListener = (event: DomainEvent) => void

/**
 * The in-process event bus. Services publish after their transaction commits; the live WebSocket and the
 * webhook dispatcher subscribe. A listener that throws is logged and never affects the publisher or others.
 */
export class EventBus {
  readonly #listeners = new Set<EventListener>()
  readonly #log: FastifyBaseLogger

  constructor (log: FastifyBaseLogger) {
    this.#log = log
  }

  publish (type: EventType, sessionId: number, data: unknown): DomainEvent {
    const event: DomainEvent = { type, timestamp: new Date().toISOString(), sessionId, data }
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch (err) {
        this.#log.error({ err, event: type }, 'event listener failed')
      }
    }
    return event
  }

  /** Returns the function that unsubscribes. */
  subscribe (listener: EventListener): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }
}

export default fp(async function events (app) {
  app.decorate('events', new EventBus(app.log.child({ plugin: 'events' })))
}, { name: 'events' })

declare module 'fastify' {
  interface FastifyInstance {
    events: EventBus
  }
}
