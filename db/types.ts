import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'
import type { Flag } from '../schemas/common.ts'
import type { PlayerCheckStatus, SessionGameStatus } from '../schemas/sessions.ts'
import type { VoteType } from '../schemas/votes.ts'

// The column value types are the API schemas' own (one source): db/ takes them from schemas/.
export type { Flag, PlayerCheckStatus, SessionGameStatus, VoteType }

// Written as a Date or left to the default, always read back as a Date.
type CreatedAt = ColumnType<Date, Date | undefined, Date>

/** The catalog as everyone reads and writes it: a view of game_rows without the rows of catalog imports not yet committed. */
export interface GamesTable {
  id: Generated<number>
  pack_name: string
  title: string
  min_players: number
  max_players: number
  length_minutes: number | null
  has_audience: Flag
  family_friendly: Flag
  game_type: string | null
  drawing: Flag
  play_count: Generated<number>
  upvotes: Generated<number>
  downvotes: Generated<number>
  // A generated column: upvotes - downvotes, never written.
  popularity_score: ColumnType<number, never, never>
  enabled: Generated<Flag>
  favor_bias: Generated<-1 | 0 | 1>
  created_at: CreatedAt
}

/** The catalog's rows; `import_id`: the catalog import that wrote the row, invisible while it has a catalog_imports row. */
export interface GameRowsTable extends GamesTable {
  import_id: number | null
}

export interface CatalogImportsTable {
  id: Generated<number>
  state: Generated<'open' | 'abandoned'>
  owner: string
  after_id: number
  expires_at: Date
}

export interface SessionsTable {
  id: Generated<number>
  notes: string | null
  is_active: Generated<Flag>
  created_at: CreatedAt
  closed_at: Date | null
}

/** sessions as stored: `deleting_at` is set while the session is being deleted (see its migration), never shown. */
export interface SessionsStoredTable extends SessionsTable {
  deleting_at: ColumnType<Date | null, never, never>
}

export interface SessionGamesTable {
  id: Generated<number>
  session_id: number
  game_id: number
  manually_added: Generated<Flag>
  status: Generated<SessionGameStatus>
  room_code: string | null
  played_at: CreatedAt
  player_count: number | null
  player_count_check_status: Generated<PlayerCheckStatus>
}

export interface ChatLogsTable {
  id: Generated<number>
  session_id: number
  // The session game the message fell into by timestamp; null before the first game.
  session_game_id: number | null
  username: string
  message: string
  timestamp: Date
  vote_type: VoteType | null
  // SHA-256 of username:message:timestamp (ISO), unique per session: re-imports are duplicates.
  message_hash: string
  created_at: CreatedAt
  /** The chat import that wrote the row; invisible while that import has a chat_imports row (see that migration). */
  import_id: number | null
}

/** A chat import in progress (`open`): its process `owner` holds it until `expires_at` (see the chat-imports migration). */
export interface ChatImportsTable {
  id: Generated<number>
  session_id: number
  state: Generated<'open' | 'abandoned'>
  owner: string
  after_id: number
  expires_at: Date
}

export interface LiveVotesTable {
  id: Generated<number>
  session_id: number
  session_game_id: number | null
  game_id: number
  username: string
  vote_type: VoteType
  timestamp: Date
  created_at: CreatedAt
  /** The chat source that read this vote (chat/), null for votes sent to the API. */
  chat_source_id: Generated<number | null>
  /** The platform's id of the chat message; unique, so a message re-read counts once. */
  chat_message_id: Generated<string | null>
}

export type ChatPlatform = 'twitch'
export type ChatSourceStatus = 'connecting' | 'connected' | 'error' | 'disabled'

export interface ChatSourcesTable {
  id: Generated<number>
  platform: ChatPlatform
  channel: string
  enabled: Generated<Flag>
  status: Generated<ChatSourceStatus>
  status_message: Generated<string | null>
  last_message_at: Generated<Date | null>
  votes_refused: Generated<number>
  /** The process reading the channel (its `instance`), until `lease_expires_at`; null: released or never taken. */
  lease_owner: Generated<string | null>
  lease_expires_at: Generated<Date | null>
  created_at: CreatedAt
}

export interface WebhooksTable {
  id: Generated<number>
  name: string
  url: string
  secret: string | null
  events: string[]
  enabled: Generated<Flag>
  created_at: CreatedAt
}

export interface WebhookLogsTable {
  id: Generated<number>
  webhook_id: number
  event: string
  delivery_id: string
  payload: ColumnType<unknown, string, string>
  status_code: number | null
  success: boolean
  error: string | null
  attempt: number
  duration_ms: number
  created_at: CreatedAt
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed'

/** One webhook delivery of one event; written by a trigger on `events` (see its migration). */
export interface WebhookDeliveriesTable {
  /** Sent as X-Webhook-Delivery, the same on every attempt. */
  id: Generated<string>
  webhook_id: number
  event_id: number | null
  event: string
  // jsonb: written as JSON text, read back parsed.
  data: ColumnType<unknown, string, never>
  event_at: Date
  status: Generated<DeliveryStatus>
  /** Attempts finished so far. */
  attempts: Generated<number>
  next_attempt_at: Generated<Date>
  /** Set while a process sends an attempt; past this time another process may claim the delivery again. */
  claimed_until: Date | null
  /** A new id per claim: an attempt's outcome is recorded only under the claim it was sent with. */
  claim: string | null
  created_at: CreatedAt
}

/** One row; `version` moves whenever a picker-relevant part of the catalog changes (a trigger on games). */
export interface CatalogVersionTable {
  only_row: Generated<boolean>
  version: ColumnType<string, never, never>
}

/** The event log: one row per domain event, ids increasing in commit order (assigned by a trigger). */
export interface EventsTable {
  id: Generated<number>
  session_id: number | null
  type: string
  // jsonb: written as JSON text, read back parsed.
  data: ColumnType<unknown, string, never>
  created_at: Generated<Date>
}

export type Role = 'admin' | 'bot' | 'overlay'

export interface TokensTable {
  id: Generated<number>
  name: string
  role: Role
  expires_at: Date
  revoked_at: Date | null
  last_used_at: Date | null
  created_at: CreatedAt
}

/** One row per failed login; rows older than the throttle's window are pruned. */
export interface LoginFailuresTable {
  address: string
  failed_at: CreatedAt
}

/** Who watches a room: the owning process (null: released), while its `live_processes` row holds its leases. */
export interface RoomLeasesTable {
  session_game_id: number
  room_code: string
  /** The process holding the lease (its `live_processes` row, whose `leases_expire_at` says until when); null: released. */
  owner: string | null
  /** A new number from the room_lease_fence sequence each time the lease is taken (see the room-lease-fence migration). */
  fence: Generated<string>
}

/** What a room's watch published last, for a process that takes the room over (see the room-watch-reports migration). */
export interface RoomWatchReportsTable {
  session_game_id: number
  /** The fencing number of the lease the watch wrote under (a bigint, as text). */
  fence: ColumnType<string, string, string>
  lobby_state: string | null
  game_can_start: boolean | null
  /** The textDescriptions id up to which joins were announced (or were there before the watch connected). */
  description_id: number | null
}

/** A running process of the service, alive until `expires_at` unless it renews (see the live-clients migration). */
export interface LiveProcessesTable {
  instance: string
  /** Past it the process is dead: any process prunes the row, with its clients and commands. */
  expires_at: Date
  /** Until when the process's room leases hold (a few beats; shorter than `expires_at`). */
  leases_expire_at: Generated<Date>
}

/** A live client that said hello, held by the process `owner`. */
export interface LiveClientsTable {
  id: string
  /** The order of the hellos. */
  seq: ColumnType<number, never, never>
  owner: string
  name: string
  // jsonb: written as JSON text, read back parsed.
  functions: ColumnType<string[], string, string>
  subscriptions: ColumnType<number[], string, string>
  user_key: number | null
  announced_at: Date
}

export type ClientCommandKind = 'call' | 'disconnect'
export type ClientCommandState = 'pending' | 'sent' | 'done'

/** A command for a client held by another process: `caller` waits for the `outcome` the `owner` writes. */
export interface ClientCommandsTable {
  id: string
  client_id: string
  owner: string
  /** null for a disconnect: nobody waits for it. */
  caller: string | null
  kind: ClientCommandKind
  key: string | null
  data: ColumnType<unknown, string | null, never>
  state: Generated<ClientCommandState>
  outcome: ColumnType<unknown, never, string>
  created_at: Generated<Date>
}

export interface Database {
  games: GamesTable
  game_rows: GameRowsTable
  catalog_imports: CatalogImportsTable
  sessions: SessionsStoredTable
  session_games: SessionGamesTable
  chat_logs: ChatLogsTable
  chat_imports: ChatImportsTable
  live_votes: LiveVotesTable
  webhooks: WebhooksTable
  webhook_logs: WebhookLogsTable
  webhook_deliveries: WebhookDeliveriesTable
  catalog_version: CatalogVersionTable
  events: EventsTable
  tokens: TokensTable
  login_failures: LoginFailuresTable
  room_leases: RoomLeasesTable
  room_watch_reports: RoomWatchReportsTable
  live_processes: LiveProcessesTable
  live_clients: LiveClientsTable
  client_commands: ClientCommandsTable
  chat_sources: ChatSourcesTable
}

export type GameRow = Selectable<GamesTable>
export type NewGameRow = Insertable<GamesTable>
export type GameUpdate = Updateable<GamesTable>
export type SessionRow = Selectable<SessionsTable>
export type SessionGameRow = Selectable<SessionGamesTable>
export type ChatLogRow = Selectable<ChatLogsTable>
export type LiveVoteRow = Selectable<LiveVotesTable>
export type WebhookRow = Selectable<WebhooksTable>
export type WebhookLogRow = Selectable<WebhookLogsTable>
export type WebhookDeliveryRow = Selectable<WebhookDeliveriesTable>
export type EventRow = Selectable<EventsTable>
export type NewEventRow = Insertable<EventsTable>
export type TokenRow = Selectable<TokensTable>
export type RoomLeaseRow = Selectable<RoomLeasesTable>
export type RoomWatchReportRow = Selectable<RoomWatchReportsTable>
export type LiveClientRow = Selectable<LiveClientsTable>
export type NewLiveClientRow = Insertable<LiveClientsTable>
export type ClientCommandRow = Selectable<ClientCommandsTable>
export type ChatSourceRow = Selectable<ChatSourcesTable>
export type NewClientCommandRow = Insertable<ClientCommandsTable>
