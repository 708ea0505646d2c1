import { Type, type Static } from '@sinclair/typebox'
import { Flag, FlagInput, Id, Nullable, Timestamp } from './common.ts'

/** A Twitch login: 4 to 25 letters, digits or underscores. Stored lower-cased, as Twitch compares them. */
export const TWITCH_LOGIN = '^[A-Za-z0-9_]{4,25}$'
const CHANNEL_RULE = 'channel must be a Twitch channel login: 4 to 25 letters, digits or underscores'

export const ChatPlatform = Type.Unsafe<'twitch'>({ type: 'string', enum: ['twitch'], errorMessage: 'platform must be twitch' })

export const ChatSourceStatus = Type.Union([
  Type.Literal('connecting'), Type.Literal('connected'), Type.Literal('error'), Type.Literal('disabled')
], { description: 'connecting (also while waiting to reconnect, see status_message), connected, error (status_message has the platform\'s words), disabled' })

export const ChatSource = Type.Object({
  id: Id,
  platform: ChatPlatform,
  channel: Type.String({ description: 'The channel login, lower-cased', examples: ['jackboxgames'] }),
  enabled: Flag,
  status: ChatSourceStatus,
  status_message: Nullable(Type.String({ description: 'Why the status is what it is: the platform\'s words for an error, the wait before a reconnection' })),
  last_message_at: Nullable({ ...Timestamp, description: 'When the last chat message was read (any message, vote or not)' }),
  votes_counted: Type.Integer({ minimum: 0, description: 'Live votes this source counted' }),
  votes_refused: Type.Integer({ minimum: 0, description: 'Votes the live-vote rules refused (no active session, no game then, the same chatter within a second)' }),
  created_at: Timestamp
}, { $id: 'ChatSource', description: 'A live chat the service reads itself, counting its votes' })
export type ChatSource = Static<typeof ChatSource>

export const NewChatSource = Type.Object({
  platform: ChatPlatform,
  channel: Type.String({ pattern: TWITCH_LOGIN, errorMessage: CHANNEL_RULE, examples: ['JackboxGames'] })
}, { additionalProperties: false })
export type NewChatSource = Static<typeof NewChatSource>

export const ChatSourceUpdate = Type.Object({
  enabled: FlagInput('enabled', 'false closes the connection and stops counting; true reconnects')
}, { additionalProperties: false })
export type ChatSourceUpdate = Static<typeof ChatSourceUpdate>
