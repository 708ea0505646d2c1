import type { Kysely } from 'kysely'
import type { ChatPlatform, Database, Flag } from '../db/types.ts'
import * as sources from '../db/chat-sources.ts'
import { ChatSourceExists, ChatSourceNotFound } from './errors.ts'

// The readers (chat/) follow these rows, not events: every change of `enabled`, of a lease or a deletion NOTIFYs
// `chat_sources` (a trigger), and each process re-reads the leases it holds.

/** Adds a source; enabled, so a process starts reading it. Twitch logins are compared lower-cased, so stored that way. */
export async function createChatSource (db: Kysely<Database>, platform: ChatPlatform, channel: string) {
  const source = await sources.insertChatSource(db, platform, channel.toLowerCase())
  if (!source) throw new ChatSourceExists()
  return source
}

export async function getChatSource (db: Kysely<Database>, id: number) {
  const source = await sources.findChatSource(db, id)
  if (!source) throw new ChatSourceNotFound()
  return source
}

/** Disabling closes the connection (wherever it is) and stops counting; enabling connects again. */
export async function setChatSourceEnabled (db: Kysely<Database>, id: number, enabled: Flag) {
  if (!await sources.updateChatSourceEnabled(db, id, enabled)) throw new ChatSourceNotFound()
  return getChatSource(db, id)
}

/** Deletes a source; its reader closes the connection. The votes it counted stay (their source becomes null). */
export async function deleteChatSource (db: Kysely<Database>, id: number) {
  if (!await sources.deleteChatSource(db, id)) throw new ChatSourceNotFound()
}
