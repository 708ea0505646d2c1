import { sql, type Kysely } from 'kysely'
import type { Database, PlayerCheckStatus, RoomWatchReportRow } from './types.ts'
import { PREPARED } from './prepared.ts'
import type { HeldLease } from './room-leases.ts'

/** The session game fields the room monitor needs; undefined when no such session game. */
export function findMonitoredGame (db: Kysely<Database>, sessionGameId: number) {
  return db.selectFrom('session_games')
    .select(['id', 'session_id', 'room_code', 'status', 'player_count', 'player_count_check_status'])
    .where('id', '=', sessionGameId)
    .executeTakeFirst()
}

/** Sets the player-check status, and the player count when given; `onlyFrom` makes it conditional. */
export async function updatePlayerCheck (db: Kysely<Database>, sessionGameId: number,
  change: { status: PlayerCheckStatus, playerCount?: number }, onlyFrom?: PlayerCheckStatus): Promise<boolean> {
  let query = db.updateTable('session_games')
    .set(change.playerCount === undefined
      ? { player_count_check_status: change.status }
      : { player_count_check_status: change.status, player_count: change.playerCount })
    .where('id', '=', sessionGameId)
  if (onlyFrom) query = query.where('player_count_check_status', '=', onlyFrom)
  const result = await query.executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/** Session games whose watch was running when the service stopped: still playing and still `checking`. */
export function listResumableGames (db: Kysely<Database>) {
  return db.selectFrom('session_games')
    .select(['id'])
    .where('status', '=', 'playing')
    .where('player_count_check_status', '=', 'checking')
    .where('room_code', 'is not', null)
    .orderBy('id')
    .execute()
}

/**
 * A session game as a process taking its room over needs it, in one round trip: its fields, what its earlier watch
 * published (see the room-watch-reports migration; nulls when it stored nothing) and which of its once-only room
 * events the log holds already. Undefined when no such session game.
 */
export function findTakeover (db: Kysely<Database>, sessionGameId: number) {
  return db.selectFrom('session_games as sg')
    // The newest holder's report.
    .leftJoin((eb) => eb.selectFrom('room_watch_reports').selectAll().where('session_game_id', '=', sessionGameId)
      .orderBy('fence', 'desc').limit(1).as('r'), (join) => join.onRef('r.session_game_id', '=', 'sg.id'))
    .select(['sg.id', 'sg.session_id', 'sg.room_code', 'sg.status', 'sg.player_count', 'sg.player_count_check_status',
      'r.lobby_state', 'r.game_can_start', 'r.description_id'])
    .select(sql<string[]>`array(select distinct e.type from events e where e.session_id = sg.session_id
      and e.type in ('room.connected', 'game.started', 'game.ended') and (e.data->>'sessionGameId')::int = sg.id)`.as('announced'))
    .where('sg.id', '=', sessionGameId)
    .executeTakeFirst()
}

/**
 * Stores what a room's watch has published so far, on the row of the lease it holds (`fence`; the caller checks the
 * lease in the same transaction). A new watch stores an empty one: it starts from nothing.
 */
export async function saveRoomWatchReport (db: Kysely<Database>, report: RoomWatchReportRow): Promise<void> {
  await db.insertInto('room_watch_reports').values(report)
    .onConflict((oc) => oc.columns(['session_game_id', 'fence']).doUpdateSet((eb) => ({
      lobby_state: eb.ref('excluded.lobby_state'),
      game_can_start: eb.ref('excluded.game_can_start'),
      description_id: eb.ref('excluded.description_id')
    })))
    .execute()
}

/** A room watch's write as one statement: its events, and optionally its report and the count they go with. */
export interface LeasedWrite {
  sessionGameId: number
  lease: HeldLease
  /** What the watch has published, stored on its lease's report row. */
  report?: Omit<RoomWatchReportRow, 'session_game_id' | 'fence'>
  /** Stored only while the check is `checking`; the events are recorded only when it was. */
  check?: { status: PlayerCheckStatus, playerCount: number }
  sessionId: number
  /** Recorded in this order; at least one. */
  events: ReadonlyArray<{ type: string, data: unknown }>
}

/**
 * Makes a room watch's write in a single statement (its own transaction): the report, the check and the event are
 * written only while the lease row still holds `lease`'s owner and fencing number, locked for the statement only.
 * One round trip instead of five (begin, lease check, report, write, commit): the monitor's writes come with every
 * join. Prepared (PREPARED): its few shapes are planned once per connection. True when the event was recorded.
 */
export async function recordUnderLease (db: Kysely<Database>, w: LeasedWrite): Promise<boolean> {
  const id = sql`${w.sessionGameId}::integer`
  // FOR SHARE: a takeover committed after this statement's snapshot is seen (the row is re-read once it is locked), and
  // one in flight waits for this statement, so the new holder's read of the log finds what was written here. The lock
  // lasts one statement, so a holder that freezes cannot keep it.
  const ctes = [sql`held as (select 1 from room_leases where session_game_id = ${id} and owner = ${w.lease.owner} and fence = ${w.lease.fence}::bigint for share)`]
  if (w.report) {
    const r = w.report
    // Data-modifying WITH queries run to completion whether or not the main query reads them.
    ctes.push(sql`report as (insert into room_watch_reports (session_game_id, fence, lobby_state, game_can_start, description_id)
      select ${id}, ${w.lease.fence}::bigint, ${r.lobby_state}::text, ${r.game_can_start}::boolean, ${r.description_id}::integer
      where exists (select 1 from held)
      on conflict (session_game_id, fence) do update set lobby_state = excluded.lobby_state,
        game_can_start = excluded.game_can_start, description_id = excluded.description_id)`)
  }
  if (w.check) {
    ctes.push(sql`checked as (update session_games set player_count_check_status = ${w.check.status}, player_count = ${w.check.playerCount}
      where id = ${id} and player_count_check_status = 'checking' and exists (select 1 from held) returning id)`)
  }
  // The events as one JSON array, so the text is the same for any number of them. Ids follow the array's order (the
  // event log's trigger numbers each row as it is inserted).
  const { rows } = await sql<{ id: number }>`${sql.raw(PREPARED)}with ${sql.join(ctes)}
    insert into events (type, session_id, data)
    select e.event->>'type', ${w.sessionId}::integer, e.event->'data'
    from jsonb_array_elements(${JSON.stringify(w.events)}::jsonb) with ordinality as e (event, n)
    where exists (select 1 from ${sql.raw(w.check ? 'checked' : 'held')})
    order by e.n
    returning id`.execute(db)
  return rows.length > 0
}
