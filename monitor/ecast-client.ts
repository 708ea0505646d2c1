import type { Dispatcher } from 'undici'

/** The fields of `GET /api/v2/rooms/{code}` the monitor uses (docs/ecast.md). */
export interface RoomInfo {
  appTag: string
  audienceEnabled: boolean
  code: string
  host: string
  audienceHost: string
  locked: boolean
  maxPlayers: number
  minPlayers: number
}

/** A failed ecast call: unreachable, timed out, a 5xx, or a body that is not the documented JSON. */
export class EcastError extends Error {
  readonly statusCode: number | null
  constructor (message: string, statusCode: number | null = null, options?: ErrorOptions) {
    super(message, options)
    this.name = 'EcastError'
    this.statusCode = statusCode
  }
}

/** What a room watch needs from ecast's REST API; tests substitute their own. */
export interface EcastApi {
  /** The room, or null when ecast answers 404 ("no such room"). */
  getRoom (code: string, signal: AbortSignal): Promise<RoomInfo | null>
  /** The room's connection count (host, players, audience, shards), or null when the room is gone. */
  getConnections (code: string, signal: AbortSignal): Promise<number | null>
}

export interface EcastClientOptions {
  baseUrl: string
  dispatcher: Dispatcher
  timeoutMs: number
}

const HEADERS = { accept: 'application/json', origin: 'https://jackbox.tv' }

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export class EcastClient implements EcastApi {
  readonly #origin: string
  /** The base URL's path, without its trailing slashes. */
  readonly #prefix: string
  readonly #dispatcher: Dispatcher
  readonly #timeoutMs: number

  constructor ({ baseUrl, dispatcher, timeoutMs }: EcastClientOptions) {
    const base = new URL(baseUrl.replace(/\/+$/, ''))
    this.#origin = base.origin
    this.#prefix = base.pathname === '/' ? '' : base.pathname
    this.#dispatcher = dispatcher
    this.#timeoutMs = timeoutMs
  }

  async getRoom (code: string, signal: AbortSignal): Promise<RoomInfo | null> {
    const body = await this.#get(`/api/v2/rooms/${encodeURIComponent(code)}`, signal)
    if (body === null) return null
    if (!isObject(body) || typeof body.host !== 'string' || typeof body.locked !== 'boolean') {
      throw new EcastError('ecast room info has an unexpected shape')
    }
    return {
      appTag: typeof body.appTag === 'string' ? body.appTag : '',
      audienceEnabled: body.audienceEnabled === true,
      code: typeof body.code === 'string' ? body.code : code,
      host: body.host,
      audienceHost: typeof body.audienceHost === 'string' && body.audienceHost ? body.audienceHost : body.host,
      locked: body.locked,
      maxPlayers: Number.isInteger(body.maxPlayers) ? body.maxPlayers as number : 0,
      minPlayers: Number.isInteger(body.minPlayers) ? body.minPlayers as number : 0
    }
  }

  async getConnections (code: string, signal: AbortSignal): Promise<number | null> {
    const body = await this.#get(`/api/v2/rooms/${encodeURIComponent(code)}/connections`, signal)
    if (body === null) return null
    if (!isObject(body) || !Number.isInteger(body.connections) || (body.connections as number) < 0) {
      throw new EcastError('ecast connections has an unexpected shape')
    }
    return body.connections as number
  }

  /** The envelope's `body`, or null for a 404. Every other failure is an EcastError. */
  async #get (path: string, signal: AbortSignal): Promise<unknown> {
    // undici's own header and body timeouts rather than an AbortController per request: polls run hundreds of
    // times a second, and composite signals (AbortSignal.any) tied to the watch's long-lived one leak on Node 20.
    let res: Dispatcher.ResponseData
    let text: string
    try {
      // The dispatcher itself rather than undici's request(url): no URL to parse per poll.
      res = await this.#dispatcher.request({
        origin: this.#origin,
        path: this.#prefix + path,
        method: 'GET',
        signal,
        headers: HEADERS,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs
      })
      text = await res.body.text()
    } catch (err) {
      if (signal.aborted) throw err
      const code = (err as { code?: string }).code
      const why = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' ? `timed out after ${this.#timeoutMs} ms` : (err as Error).message
      throw new EcastError(`ecast GET ${path} failed: ${why}`, null, { cause: err })
    }
    if (res.statusCode === 404) return null
    if (res.statusCode !== 200) throw new EcastError(`ecast GET ${path} answered ${res.statusCode}`, res.statusCode)
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw new EcastError(`ecast GET ${path} answered malformed JSON`, res.statusCode)
    }
    if (!isObject(json) || json.ok !== true || !('body' in json)) {
      throw new EcastError(`ecast GET ${path} answered without an ok envelope`, res.statusCode)
    }
    return json.body
  }
}
