import WebSocket from 'ws'
import { isObject, parseEntity, parseWelcome, type EcastEntity, type Welcome } from './ecast-frames.ts'

export interface AudienceHandlers {
  welcome (welcome: Welcome): void
  /** An entity update (`object`, or a counter such as `audience/pn-counter`). */
  entity (entity: EcastEntity): void
  /** The socket is gone; `reason` is for the log. Called once. */
  closed (reason: string): void
}

export interface AudienceConnection {
  /**
   * Asks `room/get-audience`: the audience connections, the monitor's own included. Null when no answer came
   * within `timeoutMs` or the socket is not open.
   */
  audienceCount (timeoutMs: number): Promise<number | null>
  /** Closes gracefully (ecast drops an ungraceful connection only after 30-60 s); resolves once it is closed. */
  close (): Promise<void>
}

export type OpenAudienceSocket = (url: string, handlers: AudienceHandlers) => AudienceConnection

/** `wss://{audienceHost}/api/v2/audience/{code}/play`, or `ws://` when the REST base is plain http (a local fake). */
export function audienceUrl (ecastBaseUrl: string, audienceHost: string, code: string): string {
  const scheme = ecastBaseUrl.startsWith('http://') ? 'ws' : 'wss'
  return `${scheme}://${audienceHost}/api/v2/audience/${encodeURIComponent(code)}/play`
}

/**
 * An audience connection to an ecast room: never a player, so it takes no lobby slot. Malformed frames are
 * ignored; any failure ends in exactly one `closed` call.
 */
export const openAudienceSocket: OpenAudienceSocket = (url, handlers) => {
  let seq = 0
  let ended = false
  const pending = new Map<number, (connections: number | null) => void>()
  const ws = new WebSocket(url, ['ecast-v0'], {
    headers: { Origin: 'https://jackbox.tv' },
    handshakeTimeout: 10_000,
    maxPayload: 4 * 1024 * 1024
  })
  const end = (reason: string) => {
    for (const answer of pending.values()) answer(null)
    if (ended) return
    ended = true
    handlers.closed(reason)
  }
  ws.on('message', (raw) => {
    let msg: unknown
    try {
      msg = JSON.parse(raw.toString())
    } catch {
      return
    }
    if (!isObject(msg) || !isObject(msg.result)) return
    const result = msg.result
    switch (msg.opcode) {
      case 'client/welcome':
        handlers.welcome(parseWelcome(result))
        break
      case 'ok':
        if (typeof result.connections === 'number' && Number.isInteger(result.connections) && typeof msg.re === 'number') {
          pending.get(msg.re)?.(result.connections)
        }
        break
      default: {
        const entity = parseEntity(result)
        if (entity) handlers.entity(entity)
      }
    }
  })
  ws.on('error', (err) => end(err.message))
  ws.on('close', (code, reason) => end(`closed with ${code}${reason.length ? ` ${reason.toString()}` : ''}`))
  return {
    audienceCount (timeoutMs) {
      if (ws.readyState !== WebSocket.OPEN) return Promise.resolve(null)
      const id = ++seq
      return new Promise((resolve) => {
        const timer = setTimeout(() => answer(null), timeoutMs)
        timer.unref()
        const answer = (connections: number | null) => {
          clearTimeout(timer)
          pending.delete(id)
          resolve(connections)
        }
        pending.set(id, answer)
        ws.send(JSON.stringify({ seq: id, opcode: 'room/get-audience', params: {} }))
      })
    },
    async close () {
      ended = true
      if (ws.readyState === WebSocket.CLOSED) return
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()))
      if (ws.readyState === WebSocket.OPEN) {
        ws.close(1000)
        // A server that never answers the close frame must not hold shutdown for ws's 30 s close timeout.
        const timer = setTimeout(() => ws.terminate(), 1000)
        timer.unref()
        await closed
        clearTimeout(timer)
        return
      }
      ws.terminate()
      await closed
    }
  }
}
