import fp from 'fastify-plugin'
import type { Dispatcher } from 'undici'

export interface RoomMonitorOptions { dispatcher?: Dispatcher }

/** What the session routes need from the room monitor. */
export interface RoomMonitor {
  /** Starts watching a session game's room (restarting if its room code changed); its status becomes `checking`. */
  watch (sessionGameId: number): Promise<void>
  /** Stops a session game's watch if it has one; a `checking` status becomes `stopped`. */
  unwatch (sessionGameId: number): Promise<void>
  /** Whether a watch for this session game is running now. */
  isWatching (sessionGameId: number): boolean
}

// Placeholder until the room monitor issue (6): accepts the calls and does nothing.
export default fp<RoomMonitorOptions>(async function roomMonitor (app) {
  const monitor: RoomMonitor = { async watch () {}, async unwatch () {}, isWatching: () => false }
  app.decorate('roomMonitor', monitor)
}, { name: 'room-monitor', dependencies: ['db', 'events'] })

declare module 'fastify' {
  interface FastifyInstance {
    roomMonitor: RoomMonitor
  }
}
