import { sql, type Kysely } from 'kysely'
import type { Database } from './types.ts'

export function findExportSession (db: Kysely<Database>, id: number) {
  return db.selectFrom('sessions as s')
    .select(['s.id', 's.notes', 's.is_active', 's.created_at', 's.closed_at'])
    .select((eb) => eb.selectFrom('session_games as sg').whereRef('sg.session_id', '=', 's.id')
      .select(sql<number>`count(*)::int`.as('n')).as('games_played'))
    .where('s.id', '=', id).where('s.deleting_at', 'is', null)
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
 * time keeps a large log out of memory. Keyset pagination on (timestamp, id) as one row comparison, which the
 * chat_logs_timeline index serves as a range: each page reads its own rows only, so every statement is short however
 * long the log (an OR of the two conditions made each page scan the session's rows from the start: 25 s for 491k rows).
 */
export async function * chatLogPages (db: Kysely<Database>, sessionId: number, pageSize = 5000) {
  const pageAfter = (trx: Kysely<Database>, after: { timestamp: Date, id: number } | undefined) => {
    let query = trx.selectFrom('chat_logs')
      .select(['id', 'username', 'message', 'timestamp', 'vote_type'])
      .where('session_id', '=', sessionId)
      // Not the rows of an import that has not committed (see the chat-imports migration).
      .where((eb) => eb.or([
        eb('import_id', 'is', null),
        sql<boolean>`import_id <> all (select id from chat_imports where session_id = ${sessionId})`
      ]))
    if (after) query = query.where(sql<boolean>`(timestamp, id) > (${after.timestamp}, ${after.id})`)
    return query.orderBy('timestamp').orderBy('id').limit(pageSize).execute()
  }
  let after: { timestamp: Date, id: number } | undefined
  for (;;) {
    // Without statistics (PGlite never analyzes) the planner guesses a page's range is small, and reads all of it to
    // sort it; walking the index in order reads one page's rows.
    const page = await db.transaction().execute(async (trx) => {
      await sql`set local enable_bitmapscan = off`.execute(trx)
      await sql`set local enable_sort = off`.execute(trx)
      return pageAfter(trx, after)
    })
    if (page.length) yield page
    if (page.length < pageSize) return
    after = page[page.length - 1]
  }
}
