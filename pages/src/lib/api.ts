import createClient, { type Middleware } from 'openapi-fetch'
import type { components, paths } from '../../../client/api.d.ts'

export type Schemas = components['schemas']

// The tab's token: sessionStorage, so it lives as long as the tab and leaves with it (sign out forgets it sooner).
const TOKEN_KEY = 'gamenight.token'

export function getToken (): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY)
  } catch {
    return null
  }
}

export function setToken (token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token)
}

export function clearToken (): void {
  sessionStorage.removeItem(TOKEN_KEY)
}

const bearer: Middleware = {
  onRequest ({ request }) {
    const token = getToken()
    if (token && !request.headers.has('authorization')) request.headers.set('authorization', `Bearer ${token}`)
    return request
  }
}

/** Typed calls to the service's API (same origin), with the tab's token when there is one. */
export const api = createClient<paths>({ baseUrl: location.origin })
api.use(bearer)

/**
 * The sentence to show for a failed call: the API's own `{"error"}` words when it answered, else what went wrong
 * on the way (the service is unreachable, the request was aborted).
 */
export function errorText (err: unknown): string {
  if (err && typeof err === 'object') {
    const body = err as { error?: unknown, message?: unknown }
    if (typeof body.error === 'string') return body.error
    if (err instanceof DOMException && err.name === 'AbortError') return 'The request was cancelled'
    if (err instanceof TypeError) return 'The service cannot be reached'
    if (typeof body.message === 'string') return body.message
  }
  if (typeof err === 'string' && err) return err
  return 'Something went wrong'
}
