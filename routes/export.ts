import { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Kysely } from 'kysely'
import { NotFound } from '../plugins/errors.ts'
import { ErrorBody, IdParams } from '../schemas/common.ts'
import { ExportQuery, SessionExport } from '../schemas/export.ts'
import { chatLogPages, findExportSession, listExportGames, type ExportGame, type ExportSession } from '../db/export.ts'
import type { Database } from '../db/types.ts'

const VOTE_TEXT = { up: 'thisgame++', down: 'thisgame--' } as const

function jsonGame (g: ExportGame): SessionExport['games'][number] {
  return {
    title: g.title,
    pack: g.pack_name,
    players: `${g.min_players}-${g.max_players}`,
    type: g.game_type,
    played_at: g.played_at.toISOString(),
    manually_added: g.manually_added === 1,
    status: g.status
  }
}

// The export is written as it is read, page by page, so a long chat log never sits in memory whole.
async function * jsonExport (db: Kysely<Database>, session: ExportSession, games: ExportGame[], pageSize: number) {
  const head: Omit<SessionExport, 'chat_logs'> = {
    session: {
      id: session.id,
      created_at: session.created_at.toISOString(),
      closed_at: session.closed_at?.toISOString() ?? null,
      is_active: session.is_active === 1,
      notes: session.notes,
      games_played: session.games_played ?? 0
    },
    games: games.map(jsonGame)
  }
  yield JSON.stringify(head, null, 2).slice(0, -2) + ',\n  "chat_logs": ['
  let first = true
  for await (const page of chatLogPages(db, session.id, pageSize)) {
    yield page.map((log) => {
      const line = JSON.stringify({
        username: log.username,
        message: log.message,
        timestamp: log.timestamp.toISOString(),
        vote: log.vote_type ? VOTE_TEXT[log.vote_type] : null
      })
      const out = `${first ? '' : ','}\n    ${line}`
      first = false
      return out
    }).join('')
  }
  yield first ? ']\n}\n' : '\n  ]\n}\n'
}

// One line per chat message: line breaks inside a message are shown as \n.
const oneLine = (text: string) => text.replace(/\r?\n|\r/g, '\\n')

async function * txtExport (db: Kysely<Database>, session: ExportSession, games: ExportGame[], pageSize: number) {
  const lines = [
    `Session ${session.id}`,
    `Notes: ${session.notes === null ? '(none)' : oneLine(session.notes)}`,
    `Started: ${session.created_at.toISOString()}`,
    `Closed: ${session.closed_at?.toISOString() ?? '(still active)'}`,
    `Games played: ${session.games_played ?? 0}`,
    '',
    'GAMES (time | title | pack | status | players)'
  ]
  for (const g of games) {
    const players = g.player_count === null ? 'players unknown' : `${g.player_count} players`
    lines.push(`${g.played_at.toISOString()} | ${g.title} | ${g.pack_name} | ${g.status} | ${players}`)
  }
  if (games.length === 0) lines.push('(none)')
  lines.push('', 'CHAT LOG')
  yield lines.join('\n') + '\n'
  let any = false
  for await (const page of chatLogPages(db, session.id, pageSize)) {
    any = true
    yield page.map((log) => `${log.timestamp.toISOString()} ${oneLine(log.username)}: ${oneLine(log.message)}\n`).join('')
  }
  if (!any) yield '(none)\n'
}

const sessionExport: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/:id/export', {
    onRequest: app.requireRole('admin', 'bot', 'overlay'),
    schema: {
      tags: ['sessions'],
      operationId: 'exportSession',
      summary: 'Download a session as JSON or text',
      description: 'A file download (`Content-Disposition: attachment; filename="session-{id}.json|txt"`). JSON: the ' +
        'session, its games in play order and its chat log in timestamp order, with real booleans. TXT (the default): a ' +
        'header block (id, notes, start and close times, games played), one line per game ' +
        '(`time | title | pack | status | N players`), then the chat log, one `time username: message` line per message.',
      security: [{ bearer: [] }],
      params: IdParams,
      querystring: ExportQuery,
      response: {
        200: {
          description: 'The export file',
          content: {
            'application/json': { schema: SessionExport },
            'text/plain': { schema: { type: 'string' } }
          }
        },
        400: ErrorBody,
        401: ErrorBody,
        404: ErrorBody
      }
    }
  }, async (request, reply) => {
    const { id } = request.params
    const { format } = request.query
    const session = await findExportSession(app.db, id)
    if (!session) throw new NotFound('Session')
    const games = await listExportGames(app.db, id)
    reply
      .header('content-type', format === 'json' ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8')
      .header('content-disposition', `attachment; filename="session-${id}.${format}"`)
    // A page is one short statement; on the embedded database (one connection, main thread) a smaller one.
    const pageSize = app.dbEmbedded ? 1000 : 5000
    return reply.send(Readable.from(format === 'json' ? jsonExport(app.db, session, games, pageSize) : txtExport(app.db, session, games, pageSize)))
  })
}

export default sessionExport
