import { mkdirSync } from 'node:fs'
import sparticuz from '@sparticuz/chromium'
import { chromium, type Page } from 'playwright-core'
import { buildApp } from '../app.ts'
import { loadConfig } from '../plugins/config.ts'
import { FakeEcast } from '../test/fixtures/fake-ecast.ts'
import { buildPages } from './build.ts'

// `npm run screenshots`: the console (phone and laptop) and the overlay over a game scene, in the Chromium the tests
// use, against the real app on a throwaway in-memory database and the test fake of Jackbox's ecast, with a night in
// progress. Writes docs/screenshots/*.png.
const OUT = new URL('../docs/screenshots/', import.meta.url).pathname
const ADMIN_KEY = 'screenshots-admin-key-0123'
mkdirSync(OUT, { recursive: true })
await buildPages({ ifStale: true, quiet: true })

const fake = await FakeEcast.start()
const app = buildApp(loadConfig({
  LOG_LEVEL: 'silent',
  DATA_DIR: 'memory://',
  ADMIN_KEY,
  JWT_SECRET: 'screenshots-secret-screenshots-secret-0123',
  ECAST_BASE_URL: fake.url,
  ECAST_POLL_INTERVAL_MS: '200'
}))
await app.listen({ port: 0, host: '127.0.0.1' })
const origin = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
const browser = await chromium.launch({
  executablePath: await sparticuz.executablePath(),
  args: sparticuz.args.filter((arg) => arg !== '--single-process' && arg !== '--disable-web-security')
})

try {
  const token = ((await call('POST', '/auth/login', { key: ADMIN_KEY }, '')) as { token: string }).token
  const overlay = (await call('POST', '/auth/tokens', { name: 'stream', role: 'overlay' }, token)) as { token: string }
  const session = (await call('POST', '/sessions', { notes: 'Friday with the usual crowd' }, token)) as { id: number }
  await call('POST', `/sessions/${session.id}/games`, { game_id: 30 }, token)
  await vote(token, 'mira', 'up')
  await call('POST', `/sessions/${session.id}/games`, { game_id: 12 }, token)
  fake.createRoom('FROG', { maxPlayers: 8 })
  await call('POST', `/sessions/${session.id}/games`, { game_id: 41, room_code: 'FROG' }, token)
  for (const name of ['Ann', 'Ben', 'Cy', 'Dee', 'Eli', 'Flo']) fake.addPlayer('FROG', name)
  for (const [name, type] of [['ola', 'up'], ['jonas', 'up'], ['kit', 'down'], ['paz', 'up'], ['remy', 'up']] as const) await vote(token, name, type)
  await new Promise((resolve) => setTimeout(resolve, 1500)) // the monitor's count

  for (const [name, width, height] of [['console-phone', 375, 812], ['console-laptop', 1366, 900]] as const) {
    const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: name === 'console-phone' ? 2 : 1, colorScheme: 'dark' })
    await context.addInitScript(`sessionStorage.setItem('gamenight.token', ${JSON.stringify(token)})`)
    const page = await context.newPage()
    await page.goto(`${origin}/`)
    await settle(page)
    await page.screenshot({ path: `${OUT}${name}.png`, fullPage: name === 'console-laptop' })
    await context.close()
  }

  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } })
  const page = await context.newPage()
  await page.goto(`${origin}/overlay?code=1#token=${overlay.token}`)
  await page.getByRole('region', { name: 'Now playing' }).waitFor()
  await vote(token, 'sol', 'up')
  await page.getByRole('listitem').filter({ hasText: 'sol' }).waitFor()
  await page.waitForTimeout(1200) // the new vote's cue has finished popping in
  // A stand-in for the game OBS shows underneath: drawn with the CSSOM (the page's CSP allows no inline style).
  await page.evaluate(`(() => {
    const scene = document.createElement('div')
    Object.assign(scene.style, {
      position: 'fixed', inset: '0', zIndex: '-1',
      background: 'radial-gradient(circle at 70% 35%, #ffcf3f 0 9%, transparent 9.5%), radial-gradient(circle at 30% 120%, #2ad4a7 0 35%, transparent 35.5%), repeating-linear-gradient(115deg, #5a2bd1 0 60px, #6a38e0 60px 120px)'
    })
    const words = document.createElement('p')
    words.textContent = 'Who would win in a fight: a goose or your landlord?'
    Object.assign(words.style, {
      position: 'fixed', top: '18%', left: '8%', width: '55%', margin: '0', font: '800 46px/1.15 system-ui, sans-serif',
      color: '#fff', textShadow: '0 4px 0 #2a0f6b', transform: 'rotate(-3deg)'
    })
    scene.append(words)
    document.body.prepend(scene)
  })()`)
  await page.screenshot({ path: `${OUT}overlay-over-game.png` })
  await context.close()
  console.log(`screenshots written to ${OUT}`)
} finally {
  await browser.close()
  await app.close()
  await fake.close()
}

async function call (method: string, path: string, body: object | undefined, token: string): Promise<unknown> {
  const res = await fetch(`${origin}/api${path}`, {
    method, headers: { ...token ? { authorization: `Bearer ${token}` } : {}, ...body ? { 'content-type': 'application/json' } : {} }, body: body ? JSON.stringify(body) : undefined
  })
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`)
  return res.json()
}

function vote (token: string, username: string, type: 'up' | 'down') {
  return call('POST', '/votes/live', { username, vote: type, timestamp: new Date().toISOString() }, token)
}

/** Waits until the console has read what it shows (its live status says Live). */
async function settle (page: Page) {
  await page.getByRole('heading', { level: 1 }).waitFor()
  await page.getByRole('status').filter({ hasText: 'Live' }).first().waitFor({ timeout: 15_000 }).catch(() => {})
  await page.waitForTimeout(500)
}
