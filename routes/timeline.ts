import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { NotFound } from '../plugins/errors.ts'
import { ErrorBody, IdParams } from '../schemas/common.ts'
import { EVENT_TYPES, Timeline, TimelineQuery } from '../schemas/events.ts'
import { findSession } from '../db/sessions.ts'
import { listSessionEvents } from '../db/events.ts'
import { clientEvent } from '../plugins/live/index.ts'
import { toLoggedEvent } from '../plugins/event-log.ts'

const timeline: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/:id/events', {
    schema: {
      tags: ['sessions', 'live'],
      operationId: 'listSessionEvents',
      summary: 'A session\'s event history',
      description: 'The events of the session (its `session.started` included) with an id above `since`, oldest first, ' +
        'in the shape the live socket sends them. `next` is the `since` of the next page, null on the last one. ' +
        'History older than EVENT_RETENTION_DAYS is gone.',
      security: [],
      params: IdParams,
      querystring: TimelineQuery,
      response: { 200: { ...Timeline, description: 'A page of the session\'s events, oldest first, and the id to pass as since for the next one' }, 400: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    const { id } = request.params
    const { since, limit } = request.query
    if (!await findSession(app.db, id)) throw new NotFound('Session')
    // One more than asked for: whether it exists decides `next`.
    const rows = await listSessionEvents(app.db, id, since, limit + 1, EVENT_TYPES)
    const page = rows.slice(0, limit).map((row) => clientEvent(toLoggedEvent(row)))
    return { events: page as Timeline['events'], next: rows.length > limit ? page[page.length - 1].id : null }
  })
}

export default timeline
