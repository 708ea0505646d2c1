// The domain events of API.md's "Live events" table (their data shapes are the contract's). The live WebSocket and
// webhooks deliver them as {"type"|"event", "timestamp", "data"}; services publish them on app.events after commit.

export const EVENT_TYPES = ['session.started', 'game.added', 'session.ended', 'player-count.updated', 'vote.received',
  'room.connected', 'lobby.player-joined', 'lobby.updated', 'game.started', 'game.ended', 'room.disconnected'] as const
export type EventType = typeof EVENT_TYPES[number]

/** The events a webhook may subscribe to (API.md "Webhooks"). */
export const WEBHOOK_EVENTS = ['session.started', 'game.added', 'session.ended', 'vote.received', 'player-count.updated'] as const
export type WebhookEvent = typeof WEBHOOK_EVENTS[number]
