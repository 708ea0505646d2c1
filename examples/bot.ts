// A small chat bot: it logs in, follows the active session on the live socket, and turns chat lines into live
// votes through the typed client (openapi-fetch + client/api.d.ts, generated from /docs/json).
//
//   API_URL=http://localhost:5000 ADMIN_KEY=... npx tsx examples/bot.ts   # then type lines like `viewer1: thisgame++`
import { EventEmitter, once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import createClient from 'openapi-fetch'
import WebSocket from 'ws'
import type { paths } from '../client/api.d.ts'

export interface BotOptions {
  /** The service, e.g. http://localhost:5000 */
  baseUrl: string
  adminKey: string
  log?: (line: string) => void
}

type LiveMessage = { type: string, data?: any, sessionId?: number, message?: string }

export async function startBot ({ baseUrl, adminKey, log = console.log }: BotOptions) {
  const api = createClient<paths>({ baseUrl })
  const login = await api.POST('/api/auth/login', { body: { key: adminKey } })
  if (!login.data) throw new Error(`login failed: ${login.error?.error ?? login.response.status}`)
  const headers = { authorization: `Bearer ${login.data.token}` }

  const events = new EventEmitter()
  let sessionId: number | undefined
  let playing: string | undefined
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/sessions/live`)
  const follow = (id: number) => {
    sessionId = id
    ws.send(JSON.stringify({ type: 'subscribe', sessionId: id }))
  }
  ws.on('message', async (raw) => {
    const message = JSON.parse(raw.toString()) as LiveMessage
    switch (message.type) {
      case 'auth_success': {
        const { data } = await api.GET('/api/sessions/active')
        if (data && 'id' in data) follow(data.id)
        break
      }
      case 'session.started':
        follow(message.data.session.id)
        break
      case 'subscribed':
        log(`following session ${message.sessionId}`)
        break
      case 'game.added':
        playing = message.data.game.title
        log(`now playing: ${playing}`)
        break
      case 'session.ended':
        log(`session ${message.data.session.id} ended`)
        sessionId = undefined
        playing = undefined
        break
      case 'error':
      case 'auth_error':
        log(`live socket: ${message.message}`)
    }
    events.emit(message.type, message)
  })
  await once(ws, 'open')
  const authenticated = new Promise((resolve, reject) => {
    events.once('auth_success', resolve)
    events.once('auth_error', (m: LiveMessage) => reject(new Error(`live socket refused the token: ${m.message}`)))
  })
  ws.send(JSON.stringify({ type: 'auth', token: login.data.token }))
  await authenticated

  return {
    /** The live messages as they arrive, by type ('subscribed', 'game.added', ...). */
    events,
    get sessionId () { return sessionId },
    /** A chat line: `thisgame++` / `thisgame--` become a live vote for the game being played at `at`. */
    async chat (username: string, message: string, at = new Date()) {
      const vote = /thisgame\+\+/i.test(message) ? 'up' : /thisgame--/i.test(message) ? 'down' : undefined
      if (!vote || sessionId === undefined) return undefined
      const { data, error } = await api.POST('/api/votes/live', { headers, body: { username, vote, timestamp: at.toISOString() } })
      if (!data) {
        log(`vote from ${username} refused: ${error?.error}`)
        return undefined
      }
      log(`${username} voted ${vote} for ${data.game.title}: ${data.game.upvotes} up, ${data.game.downvotes} down`)
      return data
    },
    close () { ws.close() }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bot = await startBot({ baseUrl: process.env.API_URL ?? 'http://localhost:5000', adminKey: process.env.ADMIN_KEY ?? '' })
  for await (const line of createInterface({ input: process.stdin })) {
    const match = /^([^:]+):\s*(.*)$/.exec(line)
    if (match) await bot.chat(match[1].trim(), match[2])
  }
  bot.close()
}
