import { setImmediate as nextTurn } from 'node:timers/promises'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyBaseLogger } from 'fastify'
import type { RawData } from 'ws'
import { Value } from '@sinclair/typebox/value'
import { LiveQuery, AuthMessage, SubscribeMessage, UnsubscribeMessage, HelloMessage } from '../schemas/live.ts'
import { findSession } from '../db/sessions.ts'
import { MAX_EVENT_ID } from '../schemas/common.ts'
import { isDatabaseDown } from '../plugins/errors.ts'
import type { LiveClient } from '../plugins/live/index.ts'
import { inputProblem } from '../plugins/input.ts'
import { LIVE_LIMITS, TOO_MANY_MESSAGES, TOO_MANY_SUBSCRIPTIONS, TokenBucket } from '../plugins/live/limits.ts'

const DESCRIPTION = `A WebSocket for stream overlays and bots. Authenticate with \`{"type":"auth","token":"<jwt>"}\` (or
\`?token=<jwt>\` on the URL), then \`{"type":"subscribe","sessionId":1}\`; add \`"since": <id>\` to
get, after the \`subscribed\` ack, every event of the session with a larger id (in order), then the live ones. Replies: \`auth_success\`, \`auth_error\`,
\`subscribed\`, \`unsubscribed\`, \`pong\` (to \`{"type":"ping"}\`), and \`{"type":"error","message"}\` for anything the server
cannot take (the socket stays open). Events arrive as \`{"id","type","timestamp","data"}\` (ids increase in commit order): \`session.started\` to every
authenticated client, every other event to the subscribers of its session. When the token expires the client gets
\`{"type":"auth_error","message":"Token expired"}\` (within a second of a revocation, on every process of the service:
\`"Token revoked"\`) and loses its subscriptions; it is closed with 4401 unless it authenticates again within 10 s.
The server pings every 30 s and drops a client that leaves two pings unanswered, and drops a client that has more
than 1 MiB of events queued and unread. A socket not authenticated within 10 s is closed with code 4401; past
LIVE_MAX_CLIENTS sockets, a new one is closed at once with 1013; on shutdown every client gets 1001.

A bot or overlay may announce itself after auth with \`{"type":"hello","name":"obs-overlay","functions":["show-pick"]}\`
and gets \`{"type":"hello_ok","clientId"}\` (a second hello keeps the clientId and replaces name and functions). Admins
then see it under \`/api/clients\` and may call its functions: the server sends \`{"type":"command","id","key","data"}\`
and the client answers \`{"type":"command_result","id","ok":true,"response":<object or array>}\` or
\`{"type":"command_result","id","ok":false,"error":"<message>"}\`.

Roles: admin, bot, overlay.`

// How long one socket's messages may run before the others get a turn.
const SLICE_MS = 10

const live: FastifyPluginAsyncTypebox = async (app) => {
  const hub = app.liveEvents

  // Messages that read or write the database take a token from the socket's bucket; without one they are refused.
  async function handle (client: LiveClient, raw: RawData, bucket: TokenBucket) {
    let message: unknown
    try {
      message = JSON.parse(raw.toString())
    } catch {
      return hub.send(client, { type: 'error', message: 'Invalid JSON' })
    }
    const type = (message as { type?: unknown } | null)?.type
    // The HTTP edge's rule (no NUL, bounded nesting) holds here too. A command_result refused by it still answers
    // its command ("invalid return data"), so the caller does not wait for the timeout holding one of the client's slots.
    const problem = inputProblem(message, 'message')
    if (problem !== undefined) {
      const id = (message as { id?: unknown }).id
      if (type === 'command_result' && typeof id === 'string') app.clients.settle(client, id, {})
      return hub.send(client, { type: 'error', message: problem })
    }
    switch (type) {
      case 'auth':
        if (!Value.Check(AuthMessage, message)) return hub.authenticate(client, undefined)
        if (!bucket.take()) return hub.send(client, { type: 'error', message: TOO_MANY_MESSAGES })
        return hub.authenticate(client, message.token)
      case 'subscribe':
        if (!Value.Check(SubscribeMessage, message)) {
          const since = (message as { since?: unknown }).since
          const badSince = Value.Check(SubscribeMessage, { ...message as object, since: undefined })
          return hub.send(client, {
            type: 'error',
            message: !badSince
              ? 'sessionId must be a positive integer'
              : Number.isInteger(since) && (since as number) > MAX_EVENT_ID ? `since must be at most ${MAX_EVENT_ID}` : 'since must be a non-negative integer'
          })
        }
        if (!client.authenticated) return hub.send(client, { type: 'error', message: 'Not authenticated' })
        // Subscribed already, nothing to replay: nothing to read either.
        if (message.since === undefined && client.sessions.has(message.sessionId)) {
          return hub.send(client, { type: 'subscribed', sessionId: message.sessionId })
        }
        if (!client.sessions.has(message.sessionId) && client.sessions.size >= LIVE_LIMITS.maxSubscriptions) {
          return hub.send(client, { type: 'error', message: TOO_MANY_SUBSCRIPTIONS })
        }
        if (!bucket.take()) return hub.send(client, { type: 'error', message: TOO_MANY_MESSAGES })
        if (!await findSession(app.db, message.sessionId)) return hub.send(client, { type: 'error', message: 'Session not found' })
        return hub.subscribe(client, message.sessionId, message.since)
      case 'unsubscribe':
        if (!Value.Check(UnsubscribeMessage, message)) return hub.send(client, { type: 'error', message: 'sessionId must be a positive integer' })
        hub.unsubscribe(client, message.sessionId)
        return hub.send(client, { type: 'unsubscribed', sessionId: message.sessionId })
      case 'ping':
        return hub.send(client, { type: 'pong' })
      case 'hello':
        if (!client.authenticated) return hub.send(client, { type: 'error', message: 'Not authenticated' })
        if (!Value.Check(HelloMessage, message)) {
          return hub.send(client, { type: 'error', message: 'hello needs a name (1 to 100 characters) and functions (an array of up to 100 strings)' })
        }
        if (!bucket.take()) return hub.send(client, { type: 'error', message: TOO_MANY_MESSAGES })
        return hub.send(client, { type: 'hello_ok', clientId: await app.clients.announce(client, message) })
      case 'command_result': {
        const result = message as { id?: unknown, ok?: unknown, response?: unknown, error?: unknown }
        if (typeof result.id !== 'string') return hub.send(client, { type: 'error', message: 'command_result needs the id of the command, a string' })
        // A late answer (after the timeout, or to a command that was never sent) is dropped without a reply.
        app.clients.settle(client, result.id, result)
        return
      }
      default:
        return hub.send(client, {
          type: 'error',
          message: typeof type === 'string' ? `Unknown message type: ${type.slice(0, 50)}` : 'A message must be a JSON object with a string "type"'
        })
    }
  }

  function fail (client: LiveClient, log: FastifyBaseLogger, err: unknown) {
    if (isDatabaseDown(err)) return hub.send(client, { type: 'error', message: 'Database unavailable' })
    log.error({ err }, 'live message failed')
    hub.send(client, { type: 'error', message: 'Internal Server Error' })
  }

  app.get('/live', {
    websocket: true,
    schema: { tags: ['live'], operationId: 'connectLiveEvents', summary: 'Live events (WebSocket)', description: DESCRIPTION, querystring: LiveQuery }
  }, (socket, request) => {
    const client = hub.connect(socket)
    if (!client) return
    const bucket = new TokenBucket()
    // One message at a time, in arrival order: a subscribe waiting on the database must not be overtaken by the
    // unsubscribe sent after it. The embedded database answers on the main thread, so a burst of messages chained in
    // microtasks would keep every other request waiting: after SLICE_MS of them the queue waits for the next turn of
    // the event loop.
    let queue = Promise.resolve()
    let sliceStart = performance.now()
    const yieldWhenDue = async () => {
      if (performance.now() - sliceStart < SLICE_MS) return
      await nextTurn()
      sliceStart = performance.now()
    }
    socket.on('message', (raw) => {
      queue = queue.then(yieldWhenDue).then(() => handle(client, raw, bucket)).catch((err) => fail(client, request.log, err))
    })
    if (request.query.token !== undefined) {
      const token = request.query.token
      queue = queue.then(() => hub.authenticate(client, token)).catch((err) => fail(client, request.log, err))
    }
  })
}

export default live
