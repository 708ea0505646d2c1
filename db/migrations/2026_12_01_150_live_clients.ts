import { sql, type Kysely } from 'kysely'

// Connected clients (bots and overlays on the live socket) across the processes sharing the database.
// `live_processes`: one row per running process, renewed on a heartbeat; a process whose row expired is dead, and
// deleting its row (any process prunes expired ones) deletes its clients and the commands addressed to it or waiting
// on it. `live_clients`: the clients that said hello, owned by the process holding their socket. `client_commands`: a
// command for a client on another process, from the caller's insert to the owner's outcome (the caller deletes the row
// once it has read it). Inserts NOTIFY `client_commands` (owners claim theirs), outcomes `client_command_results`.
export async function up (db: Kysely<any>): Promise<void> {
  await sql`create table live_processes (
    instance text primary key,
    expires_at timestamptz not null
  )`.execute(db)
  await sql`create table live_clients (
    id text primary key,
    seq bigint generated always as identity,
    owner text not null references live_processes (instance) on delete cascade,
    name text not null,
    functions jsonb not null,
    subscriptions jsonb not null,
    user_key integer,
    announced_at timestamptz not null
  )`.execute(db)
  await sql`create index live_clients_owner on live_clients (owner)`.execute(db)
  await sql`create table client_commands (
    id text primary key,
    client_id text not null,
    owner text not null references live_processes (instance) on delete cascade,
    caller text references live_processes (instance) on delete cascade,
    kind text not null check (kind in ('call', 'disconnect')),
    key text,
    data jsonb,
    state text not null default 'pending' check (state in ('pending', 'sent', 'done')),
    outcome jsonb,
    created_at timestamptz not null default now()
  )`.execute(db)
  await sql`create index client_commands_pending on client_commands (owner) where state = 'pending'`.execute(db)
  await sql`create index client_commands_caller on client_commands (caller)`.execute(db)
  await sql`create function client_commands_notify() returns trigger language plpgsql as $$
    begin
      perform pg_notify(tg_argv[0], '');
      return null;
    end
  $$`.execute(db)
  await sql`create trigger client_commands_inserted after insert on client_commands
    for each statement execute function client_commands_notify('client_commands')`.execute(db)
  await sql`create trigger client_commands_done after update on client_commands
    for each row when (new.state = 'done' and old.state is distinct from 'done') execute function client_commands_notify('client_command_results')`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop table client_commands`.execute(db)
  await sql`drop function client_commands_notify()`.execute(db)
  await sql`drop table live_clients`.execute(db)
  await sql`drop table live_processes`.execute(db)
}
