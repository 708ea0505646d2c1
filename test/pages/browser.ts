import sparticuz from '@sparticuz/chromium'
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core'
import type { Test } from 'tap'
import { buildPages } from '../../pages/build.ts'
import { build } from '../helper.ts'
import type { App, AppOptions } from '../../app.ts'

/**
 * Browser tests: the Chromium that ships inside @sparticuz/chromium (unpacked to /tmp on first use), driven by
 * playwright-core, so nothing but `npm install` is needed. Its default args are kept except `--single-process` (closing
 * a context would kill the whole browser) and `--disable-web-security` (the pages must work under the same-origin
 * rules and CSP a real browser applies).
 */
export async function launchBrowser (t: Test): Promise<Browser> {
  await ensurePages()
  const browser = await chromium.launch({
    executablePath: await sparticuz.executablePath(),
    args: sparticuz.args.filter((arg) => arg !== '--single-process' && arg !== '--disable-web-security'),
    timeout: 60_000
  })
  t.teardown(() => browser.close())
  return browser
}

/** Builds the pages when their sources changed since the last build (a test file run alone, without `npm test`). */
export async function ensurePages (): Promise<void> {
  await buildPages({ ifStale: true, quiet: true })
}

export interface OpenedPage {
  page: Page
  /** Requests the page made to any other origin than the service's. */
  offOrigin: string[]
  /** Console errors and uncaught exceptions (CSP violations are reported there). */
  errors: string[]
  /** What went over the page's WebSockets (opens, frames, closes, errors), timed from the page's opening. */
  sockets: string[]
}

/** A fresh context (no shared storage) and page, with the page's foreign requests and errors collected. */
export async function openPage (browser: Browser, t: Test, origin: string, options: BrowserContextOptions = {}): Promise<OpenedPage> {
  const context = await browser.newContext(options)
  t.teardown(() => context.close())
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  const opened: OpenedPage = { page, offOrigin: [], errors: [], sockets: [] }
  const openedAt = performance.now()
  const note = (what: string) => opened.sockets.push(`${Math.round(performance.now() - openedAt)} ms ${what}`)
  page.on('websocket', (ws) => {
    note(`open ${ws.url()}`)
    ws.on('framesent', (frame) => note(`sent ${String(frame.payload).slice(0, 120)}`))
    ws.on('framereceived', (frame) => note(`received ${String(frame.payload).slice(0, 120)}`))
    ws.on('socketerror', (error) => note(`error ${error}`))
    ws.on('close', () => note('closed'))
  })
  page.on('request', (request) => {
    const url = request.url()
    if (!url.startsWith(origin + '/') && !url.startsWith(origin.replace(/^http/, 'ws') + '/') && !url.startsWith('data:') && !url.startsWith('blob:')) {
      opened.offOrigin.push(url)
    }
  })
  page.on('console', (message) => { if (message.type() === 'error') opened.errors.push(message.text()) })
  page.on('pageerror', (err) => opened.errors.push(err.message))
  // A failed test leaves what went over its page's sockets in the log (stderr), to tell a page that was never sent
  // something from one that did not show it.
  t.teardown(() => {
    if (!t.passing()) process.stderr.write(`${t.name}: the page's sockets\n${opened.sockets.join('\n')}\n`)
  })
  return opened
}

/** The real app on a fresh database, listening on a loopback port. */
export async function serve (t: Test, env: Record<string, string> = {}, options: AppOptions = {}): Promise<{ app: App, origin: string }> {
  const app = await build(t, env, options)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return { app, origin: `http://127.0.0.1:${port}` }
}
