import { sql, type Kysely } from 'kysely'
import type { Database } from './types.ts'

export function findExportSession (db: Kysely<Database>, id: number) {
  return db.selectFrom('sessions as s')
    .select(['s.id', 's.notes', 's.is_active', 's.created_at', 's.closed_at'])
    .select((eb) => eb.selectFrom('session_games as sg').whereRef('sg.session_id', '=', 's.id')
      .select(sql<number>`count(*)::int`.as('n')).as('games_played'))
    .where('s.id', '=', id)
    .executeTakeFirst()
}
export type ExportSession = NonNullable<Awaited<ReturnType<typeof findExportSession>>>

/** A session's games in play order, with their catalog facts. */
export function listExportGames (db: Kysely<Database>, sessionId: number) {
  return db.selectFrom('session_games as sg')
    .innerJoin('games as g', 'g.id', 'sg.game_id')
    .select(['g.title', 'g.pack_name', 'g.min_players', 'g.max_players', 'g.game_type',
      'sg.played_at', 'sg.manually_added', 'sg.status', 'sg.player_count'])
    .where('sg.session_id', '=', sessionId)
    .orderBy('sg.played_at').orderBy('sg.id')
    .execute()
}
export type ExportGame = Awaited<ReturnType<typeof listExportGames>>[number]

/**
 * A session's chat log in timestamp order, one page at a time: PGlite cannot stream a result, and a page at a
 * time keeps a large log out of memory. Keyset pagination on (timestamp, id), which the chat_logs_timeline index serves.
 */
export async function * chatLogPages (db: Kysely<Database>, sessionId: number, pageSize = 5000) {
  let after: { timestamp: Date, id: number } | undefined
  for (;;) {
    let query = db.selectFrom('chat_logs')
      .select(['id', 'username', 'message', 'timestamp', 'vote_type'])
      .where('session_id', '=', sessionId)
      // Not the rows of an import that has not committed (see the chat-imports migration).
      .where((eb) => eb.or([
        eb('import_id', 'is', null),
        sql<boolean>`import_id <> all (select id from chat_imports where session_id = ${sessionId})`
      ]))
    if (after) {
      const { timestamp, id } = after
      query = query.where((eb) => eb.or([
        eb('timestamp', '>', timestamp),
        eb.and([eb('timestamp', '=', timestamp), eb('id', '>', id)])
      ]))
    }
    const page = await query.orderBy('timestamp').orderBy('id').limit(pageSize).execute()
    if (page.length) yield page
    if (page.length < pageSize) return
    after = page[page.length - 1]
  }
}
