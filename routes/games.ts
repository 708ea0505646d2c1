import { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { NotFound } from '../plugins/errors.ts'
import { ErrorBody, IdParams } from '../schemas/common.ts'
import {
  CsvImportBody, CsvImportResult, DeletedGame, FavorBody, Game, GameFilters, GameList, NewGame, PackList, PackParams,
  PackToggleBody, PackToggleResult
} from '../schemas/games.ts'
import { findGame, listGames, listPacks } from '../db/games.ts'
import { addGame, deleteGame, setPackEnabled, toggleGame, updateGame } from '../domain/catalog.ts'
import { CSV_ERROR_LIMIT, exportCatalogCsv } from '../domain/catalog-csv.ts'
import { importCatalogCsv } from '../domain/catalog-import.ts'
import { streamedJsonParser } from '../plugins/streamed-json.ts'

const tags = ['games']
const security = [{ bearer: [] }]
// 5 MB of CSV text plus its JSON escapes.
const CSV_IMPORT_BODY_LIMIT = 6 * 1024 * 1024

const games: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', {
    schema: {
      tags,
      operationId: 'listGames',
      summary: 'List games',
      description: 'Every filter is optional and they combine. Ordered by pack_name, then title.',
      querystring: GameFilters,
      response: { 200: GameList, 400: ErrorBody }
    }
  }, async (request) => listGames(app.db, request.query))

  app.get('/packs', {
    schema: { tags, operationId: 'listPacks', summary: 'List packs with their game counts', description: 'Every pack of the catalog, by name, with how many of its games there are and how many are enabled.', response: { 200: PackList } }
  }, async () => listPacks(app.db))

  app.patch('/packs/:name/toggle', {
    onRequest: app.requireAuth,
    schema: {
      tags,
      operationId: 'togglePack',
      summary: 'Enable or disable every game of a pack',
      description: 'Sets `enabled` on every game of the pack at once; `enabled` accepts true/false or 1/0.',
      security,
      params: PackParams,
      body: PackToggleBody,
      response: { 200: PackToggleResult, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    const { name } = request.params
    const { enabled } = request.body
    const gamesAffected = await setPackEnabled(app.db, name, enabled === 1)
    return { pack: name, enabled: enabled === 1, gamesAffected }
  })

  app.get('/export/csv', {
    schema: {
      tags,
      operationId: 'exportGamesCsv',
      summary: 'Export the catalog as CSV',
      description: 'The columns of the bundled catalog (pack_name, title, min_players, max_players, length_minutes, ' +
        'has_audience, family_friendly, game_type, drawing), one game per line in id order. A cell starting with `=`, `+`, ' +
        '`-`, `@`, a tab or a carriage return gets a `\'` in front, so a spreadsheet shows it as text instead of running ' +
        'it; the import removes that prefix again, so re-importing the export changes nothing.',
      response: {
        200: {
          description: 'CSV text',
          content: { 'text/csv': { schema: Type.String({ examples: ['pack_name,title,min_players,max_players,length_minutes,has_audience,family_friendly,game_type,drawing\nThe Jackbox Party Pack 3,Quiplash 2,3,8,15,1,0,Writing,0\n'] }) } }
        }
      }
    }
  }, async (_request, reply) => {
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="jackbox-games.csv"')
      // The CSV text as a stream of pages (the schema describes the text the client receives).
      .send(Readable.from(exportCatalogCsv(app.db)) as unknown as string)
  })

  // In a context of its own: the JSON body (up to 5 MB of CSV) is parsed as it arrives, so other requests are served
  // meanwhile (plugins/streamed-json.ts); the schema still validates it whole.
  const csvImportRoute: FastifyPluginAsyncTypebox = async (csvImport) => {
    csvImport.removeContentTypeParser('application/json')
    csvImport.addContentTypeParser('application/json', streamedJsonParser(CSV_IMPORT_BODY_LIMIT))
    csvImport.post('/import/csv', {
      onRequest: app.requireAuth,
      bodyLimit: CSV_IMPORT_BODY_LIMIT,
      schema: {
        tags,
        operationId: 'importGamesCsv',
        summary: 'Import games from CSV',
        description: 'Atomic: every other request sees the catalog before or after the whole import, never part of it. Each good line adds a game or, when its pack_name and title exist, ' +
          'updates that game\'s facts (enabled, favor_bias and the counters are kept). Bad lines are reported in ' +
          '`errors` with their line number (the header is line 1) and skipped; the good ones are kept. `errors` lists the ' +
          `first ${CSV_ERROR_LIMIT}; \`errorCount\` counts them all. A cell starting with \`'\` before \`=\`, \`+\`, \`-\`, \`@\`, ` +
          'a tab or a carriage return loses that `\'` (the export\'s formula escape). `replace` also ' +
          'deletes every game the CSV does not name, except games a session has used. A header without the required ' +
          'columns is a 400.',
        security,
        body: CsvImportBody,
        response: { 200: CsvImportResult, 400: ErrorBody, 401: ErrorBody }
      }
    }, async (request) => importCatalogCsv(app.db, request.body.csv, request.body.mode, app.instance))
  }
  await app.register(csvImportRoute)

  app.get('/:id', {
    schema: { tags, operationId: 'getGame', summary: 'Get a game', description: 'One game of the catalog with its counters.', params: IdParams, response: { 200: Game, 400: ErrorBody, 404: ErrorBody } }
  }, async (request) => {
    const game = await findGame(app.db, request.params.id)
    if (!game) throw new NotFound('Game')
    return game
  })

  app.post('/', {
    onRequest: app.requireAuth,
    schema: {
      tags,
      operationId: 'createGame',
      summary: 'Add a game',
      description: 'Optional flags default to 0, enabled to 1, favor_bias to 0.',
      security,
      body: NewGame,
      response: { 201: Game, 400: ErrorBody, 401: ErrorBody, 409: ErrorBody }
    }
  }, async (request, reply) => {
    const game = await addGame(app.db, request.body)
    reply.code(201)
    return game
  })

  app.put('/:id', {
    onRequest: app.requireAuth,
    schema: {
      tags,
      operationId: 'replaceGame',
      summary: 'Replace a game\'s facts',
      description: 'pack_name, title, min_players and max_players are required; optional fields left out keep ' +
        'their current values. The counters (play_count, votes) cannot be written.',
      security,
      params: IdParams,
      body: NewGame,
      response: { 200: Game, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody }
    }
  }, async (request) => {
    return updateGame(app.db, request.params.id, request.body)
  })

  app.delete('/:id', {
    onRequest: app.requireAuth,
    schema: {
      tags,
      operationId: 'deleteGame',
      summary: 'Delete a game',
      description: 'Refused with 409 when the game appears in any session (history is kept): disable it instead.',
      security,
      params: IdParams,
      response: { 200: DeletedGame, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody }
    }
  }, async (request) => {
    const { id } = request.params
    await deleteGame(app.db, id)
    return { message: 'Game deleted successfully' as const, gameId: id }
  })

  app.patch('/:id/toggle', {
    onRequest: app.requireAuth,
    schema: {
      tags,
      operationId: 'toggleGame',
      summary: 'Flip a game\'s enabled flag',
      description: 'An enabled game becomes disabled and the other way round; the picker only draws enabled games.',
      security,
      params: IdParams,
      response: { 200: Game, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    return toggleGame(app.db, request.params.id)
  })

  app.patch('/:id/favor', {
    onRequest: app.requireAuth,
    schema: {
      tags,
      operationId: 'setGameFavor',
      summary: 'Set how much the picker favors a game',
      description: 'favor_bias 1 weighs the game 3× in the picker, 0 normally, -1 at 0.2×.',
      security,
      params: IdParams,
      body: FavorBody,
      response: { 200: Game, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
    }
  }, async (request) => {
    return updateGame(app.db, request.params.id, { favor_bias: request.body.favor_bias })
  })
}

export default games
