import type { TSchema } from '@sinclair/typebox'
import { ErrorBody } from './common.ts'
import { CsvImportResult, Game, Pack } from './games.ts'
import { PickResult } from './picker.ts'
import { Session, SessionGame } from './sessions.ts'
import { Stats } from './stats.ts'
import { ChatImportResult } from './chat-import.ts'
import { SessionExport } from './export.ts'
import { LiveVoteResult, SessionVotes, Vote, VoteList } from './votes.ts'
import { Webhook, WebhookLog } from './webhooks.ts'

/**
 * The domain objects, each with an `$id`: registered as shared schemas (plugins/swagger.ts), they are the named
 * components of /docs/json, and every route schema that contains one publishes a `$ref` to it. Routes may inline
 * them or use `Type.Ref`. A shared schema must come after the ones it contains.
 */
export const COMPONENTS: TSchema[] = [
  ErrorBody, Game, Pack, CsvImportResult, PickResult, Session, SessionGame, Stats, ChatImportResult, SessionExport,
  Vote, VoteList, LiveVoteResult, SessionVotes, Webhook, WebhookLog
]
