import { sql, type Kysely } from 'kysely'

// What a room's watch has published so far, so a process taking the room over (its owner died or stalled) resumes
// from it: the lobby state and can-start flag of the last `lobby.updated`, and the textDescriptions id up to which
// joins were announced (or found already there when the watch first connected). Written by the watch in the same
// transaction as the event or count it goes with, under its lease. One row per lease holder (its fencing number), the
// newest holder's being the one to resume from: a holder frozen inside its write keeps a lock on its own row only, so
// neither the takeover nor the new holder's writes wait for it (columns of `room_leases` would lock the lease row,
// which taking a free lease skips). A new watch starts with an empty row.
export async function up (db: Kysely<any>): Promise<void> {
  await sql`create table room_watch_reports (
    session_game_id integer not null references session_games (id) on delete cascade,
    fence bigint not null,
    lobby_state text,
    game_can_start boolean,
    description_id integer,
    primary key (session_game_id, fence)
  )`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop table room_watch_reports`.execute(db)
}
