import sparticuz from '@sparticuz/chromium'
import * as chromeLauncher from 'chrome-launcher'
import lighthouse from 'lighthouse'
import desktopConfig from 'lighthouse/core/config/desktop-config.js'
import { chromium, type Page } from 'playwright-core'
import WebSocket from 'ws'
import { buildPages } from '../pages/build.ts'
import { startService, percentile, median } from './lib/server.ts'
import { now } from './lib/fanout.ts'
import { startPostgres } from './lib/postgres.ts'

// The pages as a visitor gets them, against the real service on a throwaway PostgreSQL 15, like the other benchmarks:
//   1. Lighthouse (performance, accessibility, best practices; target ≥ 95) for / (mobile) and /overlay (desktop,
//      as OBS shows it), in the Chromium of @sparticuz/chromium.
//   2. Bytes transferred for a cold load of each page (targets: console < 100 KB, overlay < 30 KB, compressed).
//   3. A vote's commit (the event's own timestamp, taken in its transaction) to the overlay's DOM showing its cue,
//      p99 over VOTES votes, beside a bare WebSocket client subscribed to the same session in the same run
//      (target: overlay ≤ 2 × bare + one 60 Hz frame).
const VOTES = Number(process.env.VOTES ?? 200)
const LH_RUNS = Number(process.env.LH_RUNS ?? 3)
const FRAME_MS = 1000 / 60

await buildPages({ ifStale: true, quiet: true })
const postgres = startPostgres()
const service = await startService({ DATABASE_URL: await postgres.createDatabase('bench_pages'), LOG_LEVEL: 'error' })
const call = async <T = Record<string, unknown>>(method: string, path: string, body?: object, token = service.token): Promise<T> => {
  const res = await fetch(`${service.url}/api${path}`, {
    method, headers: { authorization: `Bearer ${token}`, ...body ? { 'content-type': 'application/json' } : {} }, body: body ? JSON.stringify(body) : undefined
  })
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`)
  return await res.json() as T
}
const browserArgs = sparticuz.args.filter((arg) => arg !== '--single-process' && arg !== '--disable-web-security')
const executablePath = await sparticuz.executablePath()
let failed = false
const check = (ok: boolean) => { if (!ok) failed = true; return ok ? 'ok' : 'MISSED' }

try {
  const overlay = await call<{ token: string }>('POST', '/auth/tokens', { name: 'bench overlay', role: 'overlay' })
  const bot = await call<{ token: string }>('POST', '/auth/tokens', { name: 'bench bot', role: 'bot' })
  const session = await call<{ id: number }>('POST', '/sessions', { notes: 'bench' })
  await call('POST', `/sessions/${session.id}/games`, { game_id: 1 })
  const overlayUrl = `${service.url}/overlay#token=${overlay.token}`

  console.log(`Lighthouse 13 (simulated throttling; median of ${LH_RUNS} runs; score ≥ 95 each)`)
  const chrome = await chromeLauncher.launch({ chromePath: executablePath, chromeFlags: browserArgs })
  try {
    for (const [name, url, config] of [['/ (mobile)', `${service.url}/`, undefined], ['/overlay (desktop)', overlayUrl, desktopConfig]] as const) {
      const runs: Record<string, number>[] = []
      const weak = new Set<string>()
      for (let run = 0; run < LH_RUNS; run++) {
        const result = await lighthouse(url, { port: chrome.port, output: 'json', logLevel: 'error', onlyCategories: ['performance', 'accessibility', 'best-practices'] }, config)
        if (!result) throw new Error(`lighthouse gave no result for ${url}`)
        runs.push(Object.fromEntries(Object.values(result.lhr.categories).map((c) => [c.title, Math.round((c.score ?? 0) * 100)])))
        for (const category of Object.values(result.lhr.categories)) {
          for (const ref of category.auditRefs) {
            const audit = result.lhr.audits[ref.id]
            if (ref.weight > 0 && audit.score !== null && audit.score < 0.9) weak.add(`${category.title}: ${audit.title} (${audit.displayValue ?? audit.score})`)
          }
        }
      }
      const scores = Object.keys(runs[0]).map((title) => [title, median(runs.map((r) => r[title]))] as const)
      console.log(`  ${name.padEnd(20)} ${scores.map(([title, score]) => `${title} ${score}`).join(', ')}  ${check(scores.every(([, s]) => s >= 95))}`)
      console.log(`      runs: ${runs.map((r) => Object.values(r).join('/')).join(', ')}`)
      for (const line of weak) console.log(`      below 90 in some run: ${line}`)
    }
  } finally {
    await chrome.kill()
  }

  const browser = await chromium.launch({ executablePath, args: browserArgs })
  try {
    console.log('\nBytes transferred, cold load (headers + compressed bodies, as Chromium fetched them)')
    for (const [name, url, target] of [['/', `${service.url}/`, 100], ['/overlay', overlayUrl, 30]] as const) {
      const context = await browser.newContext()
      const page = await context.newPage()
      const requests: Promise<{ url: string, bytes: number }>[] = []
      page.on('requestfinished', (request) => {
        requests.push(request.sizes().then((s) => ({ url: request.url(), bytes: s.responseHeadersSize + s.responseBodySize })))
      })
      await page.goto(url, { waitUntil: 'networkidle' })
      const sizes = await Promise.all(requests)
      const total = sizes.reduce((sum, r) => sum + r.bytes, 0) / 1024
      const files = sizes.filter((r) => !r.url.includes('/api/')).reduce((sum, r) => sum + r.bytes, 0) / 1024
      console.log(`  ${name.padEnd(10)} ${total.toFixed(1)} KB in ${sizes.length} requests (page files ${files.toFixed(1)} KB, API answers ${(total - files).toFixed(1)} KB); target < ${target} KB  ${check(total < target)}`)
      await context.close()
    }

    console.log(`\nVote commit → shown, ${VOTES} votes (POST /api/votes/live by a bot, one at a time)`)
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } })
    const page = await context.newPage()
    await page.goto(overlayUrl)
    await page.getByRole('region', { name: 'Now playing' }).waitFor()
    await watchCues(page)
    const bare = await bareClient(service.url, overlay.token, session.id)
    const times = { bare: [] as number[], dom: [] as number[], frame: [] as number[] }
    for (let n = 0; n <= VOTES; n++) {
      const username = `viewer${n}`
      const seen = bare.next(username)
      await call('POST', '/votes/live', { username, vote: n % 3 ? 'up' : 'down', timestamp: new Date().toISOString() }, bot.token)
      const { stampedAt, at } = await seen
      const shown = await page.waitForFunction((name) => (globalThis as unknown as { cueTimes: Record<string, [number, number]> }).cueTimes[name], username, { polling: 'raf' })
      const [domAt, frameAt] = await shown.jsonValue() as [number, number]
      if (n === 0) continue // warm-up
      times.bare.push(at - stampedAt)
      times.dom.push(domAt - stampedAt)
      times.frame.push(frameAt - stampedAt)
    }
    bare.close()
    const line = (label: string, values: number[]) => console.log(`  ${label.padEnd(34)} p50 ${median(values).toFixed(1)} ms, p99 ${percentile(values, 99).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms`)
    line('bare WebSocket client (baseline)', times.bare)
    line('overlay DOM (cue inserted)', times.dom)
    line('overlay next frame after it', times.frame)
    const bound = 2 * percentile(times.bare, 99) + FRAME_MS
    console.log(`  target: overlay DOM p99 ≤ 2 × bare p99 + one frame = ${bound.toFixed(1)} ms  ${check(percentile(times.dom, 99) <= bound)}`)
  } finally {
    await browser.close()
  }
} finally {
  await service.stop()
  postgres.stop()
}
process.exitCode = failed ? 1 : 0

/** Records, in the page, when each vote's cue enters the DOM and the frame after it (wall clock, as Node's now()). */
async function watchCues (page: Page) {
  await page.evaluate(`(() => {
    window.cueTimes = {}
    new MutationObserver((records) => {
      const at = performance.timeOrigin + performance.now()
      for (const record of records) for (const node of record.addedNodes) {
        if (node.nodeName !== 'LI') continue
        const name = node.childNodes[1] && node.childNodes[1].textContent
        requestAnimationFrame(() => { window.cueTimes[name] = [at, performance.timeOrigin + performance.now()] })
      }
    }).observe(document.body, { childList: true, subtree: true })
  })()`)
}

/** A bare live client: authenticates, subscribes, and notes when each vote's event arrives. */
async function bareClient (url: string, token: string, sessionId: number) {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/api/sessions/live`)
  const waiting = new Map<string, (r: { stampedAt: number, at: number }) => void>()
  const ready = new Promise<void>((resolve, reject) => {
    socket.on('error', reject)
    socket.on('message', (raw) => {
      const at = now()
      const msg = JSON.parse(raw.toString())
      if (msg.type === 'auth_success') socket.send(JSON.stringify({ type: 'subscribe', sessionId }))
      if (msg.type === 'subscribed') resolve()
      if (msg.type === 'vote.received') waiting.get(msg.data.vote.username)?.({ stampedAt: Date.parse(msg.timestamp), at })
    })
    socket.on('open', () => socket.send(JSON.stringify({ type: 'auth', token })))
  })
  await ready
  return {
    next: (username: string) => new Promise<{ stampedAt: number, at: number }>((resolve) => waiting.set(username, resolve)),
    close: () => socket.close()
  }
}
