import type { Locator } from 'playwright-core'
import type { Test } from 'tap'
import { until } from '../fixtures/event-log.ts'

/** The service over real HTTP, as a host's script or a bot would call it. */
export class Service {
  constructor (readonly origin: string, readonly token: string) {}

  static async login (origin: string, key: string): Promise<Service> {
    const res = await fetch(`${origin}/api/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key })
    })
    if (res.status !== 200) throw new Error(`login: ${res.status} ${await res.text()}`)
    return new Service(origin, ((await res.json()) as { token: string }).token)
  }

  /** Calls the API and returns the JSON answer; anything but 2xx throws, so a failed step fails its test. */
  async call<T = Record<string, unknown>> (method: string, path: string, body?: object): Promise<T> {
    const res = await fetch(`${this.origin}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...body ? { 'content-type': 'application/json' } : {} },
      body: body ? JSON.stringify(body) : undefined
    })
    const text = await res.text()
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`)
    return (text ? JSON.parse(text) : {}) as T
  }

  /** A scoped token (`bot`, `overlay`) as a Service of its own. */
  async scoped (role: 'bot' | 'overlay', name: string = role): Promise<Service & { id: number }> {
    const { token, id } = await this.call<{ token: string, id: number }>('POST', '/auth/tokens', { name, role })
    return Object.assign(new Service(this.origin, token), { id })
  }

  /** A bot's live vote, stamped now. */
  vote (username: string, vote: 'up' | 'down') {
    return this.call('POST', '/votes/live', { username, vote, timestamp: new Date().toISOString() })
  }
}

/** What a person reads in an element: its text with whitespace collapsed. */
export async function textOf (locator: Locator): Promise<string> {
  return ((await locator.textContent()) ?? '').replace(/\s+/g, ' ').trim()
}

/** Asserts that the element comes to read `expected` (the page updates itself: nothing here reloads it). */
export async function untilText (t: Test, locator: Locator, expected: string | RegExp, timeoutMs = 20_000): Promise<void> {
  let last = ''
  try {
    await until(`text ${expected}`, async () => {
      try {
        // A short read: an element counted a moment ago may be gone by now (textContent would wait for another).
        last = await locator.count() ? ((await locator.first().textContent({ timeout: 500 })) ?? '').replace(/\s+/g, ' ').trim() : '(absent)'
      } catch {
        return false // it went away between the count and the read: look again
      }
      return typeof expected === 'string' ? last === expected : expected.test(last)
    }, timeoutMs)
  } catch {
    t.fail(`the page shows ${JSON.stringify(last)}`, { expected: String(expected) })
    throw new Error(`waited for ${String(expected)}, the page shows ${JSON.stringify(last)}`)
  }
  t.pass(`the page shows ${JSON.stringify(last)}`)
}
