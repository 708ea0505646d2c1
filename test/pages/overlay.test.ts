import t from 'tap'
import AxeBuilder from '@axe-core/playwright'
import { FakeEcast } from '../fixtures/fake-ecast.ts'
import { ADMIN_KEY } from '../helper.ts'
import { launchBrowser, openPage, serve } from './browser.ts'
import { Service, textOf, untilText } from './service.ts'

// The overlay in a real Chromium against the real service and the fake ecast: what a stream shows during a night.
// A browser and a database boot in this file: on a loaded 2-core machine that alone can take a minute.
t.setTimeout(300_000)
const fake = await FakeEcast.start()
t.teardown(() => fake.close())
const { origin } = await serve(t, { ECAST_BASE_URL: fake.url, ECAST_POLL_INTERVAL_MS: '200' })
const browser = await launchBrowser(t)
const admin = await Service.login(origin, ADMIN_KEY)
const overlayToken = await admin.scoped('overlay', 'stream')
const bot = await admin.scoped('bot', 'chat bot')

t.test('a night on the overlay: game, players from the room, votes with a cue each, the next game', async (t) => {
  const session = await admin.call<{ id: number }>('POST', '/sessions', { notes: 'overlay test' })
  fake.createRoom('WXYZ', { maxPlayers: 8 })
  const first = await admin.call<{ id: number, title: string, pack_name: string }>('POST', `/sessions/${session.id}/games`, { game_id: 1, room_code: 'WXYZ' })

  const { page, offOrigin, errors } = await openPage(browser, t, origin, { viewport: { width: 1920, height: 1080 } })
  await page.goto(`${origin}/overlay?code=1#token=${overlayToken.token}`)
  const card = page.getByRole('region', { name: 'Now playing' })
  await untilText(t, card.getByText(first.title, { exact: true }), first.title)
  t.equal(await textOf(card.getByText(first.pack_name, { exact: true })), first.pack_name, 'title and pack')
  await untilText(t, card.getByText(/^Room [A-Z]{4}$/), 'Room WXYZ')

  fake.addPlayer('WXYZ', 'Ann')
  fake.addPlayer('WXYZ', 'Ben')
  await untilText(t, card.getByText(/players?$/), '2 players')
  fake.addPlayer('WXYZ', 'Cy')
  await untilText(t, card.getByText(/players?$/), '3 players')
  // The same overlay without code=1: the players, but not the room code.
  const plain = await openPage(browser, t, origin, { viewport: { width: 1920, height: 1080 } })
  await plain.page.goto(`${origin}/overlay#token=${overlayToken.token}`)
  const plainCard = plain.page.getByRole('region', { name: 'Now playing' })
  await untilText(t, plainCard.getByText(/players?$/), '3 players')
  t.equal(await plainCard.getByText(/^Room [A-Z]{4}$/).count(), 0, 'the room code only when asked')

  await bot.vote('alice', 'up')
  await bot.vote('bob', 'down')
  await bot.vote('carol', 'up')
  const cues = card.getByRole('list', { name: 'Latest votes' }).getByRole('listitem')
  await untilText(t, card.locator('.tally'), '▲ 2 up ▼ 1 down')
  t.same((await cues.allTextContents()).map((text) => text.replace(/\s+/g, ' ').trim()),
    ['▲ alice voted up', '▼ bob voted down', '▲ carol voted up'], 'one cue per vote, in order')

  const next = await admin.call<{ title: string }>('POST', `/sessions/${session.id}/games`, { game_id: 2 })
  await untilText(t, card.getByText(next.title, { exact: true }), next.title)
  t.equal(await cues.count(), 0, 'the next game starts with no cues')

  // (page code as a string: the tests are type-checked without the DOM library)
  const scroll = await page.evaluate(`({
    x: document.documentElement.scrollWidth <= innerWidth,
    y: document.documentElement.scrollHeight <= innerHeight,
    background: getComputedStyle(document.body).backgroundColor
  })`)
  t.same(scroll, { x: true, y: true, background: 'rgba(0, 0, 0, 0)' }, 'transparent, nothing to scroll')
  const axe = await new AxeBuilder({ page }).analyze()
  t.same(axe.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], 'axe finds no violation')
  t.same(offOrigin, [])
  t.same(errors, [])
  await admin.call('POST', `/sessions/${session.id}/close`, {})
  await untilText(t, card, '(absent)')
})

t.test('readable at 1280×720 too, as a bar', async (t) => {
  const session = await admin.call<{ id: number }>('POST', '/sessions', {})
  const game = await admin.call<{ title: string }>('POST', `/sessions/${session.id}/games`, { game_id: 3 })
  const { page } = await openPage(browser, t, origin, { viewport: { width: 1280, height: 720 } })
  await page.goto(`${origin}/overlay?layout=bar&theme=light&show=game,votes#token=${overlayToken.token}`)
  const card = page.getByRole('region', { name: 'Now playing' })
  await untilText(t, card.getByText(game.title, { exact: true }), game.title)
  t.equal(await card.getByText(/players?$/).count(), 0, 'show= leaves the players out')
  const box = await card.getByText(game.title, { exact: true }).boundingBox()
  t.ok(box && box.height >= 24, `the title's line is ${box?.height}px high at 720p`)
  const axe = await new AxeBuilder({ page }).analyze()
  t.same(axe.violations.map((v) => v.id), [], 'axe finds no violation in the light bar')
  await admin.call('POST', `/sessions/${session.id}/close`, {})
})

t.test('a socket that opens but never answers is dropped and opened again', async (t) => {
  const session = await admin.call<{ id: number }>('POST', '/sessions', {})
  const game = await admin.call<{ title: string }>('POST', `/sessions/${session.id}/games`, { game_id: 4 })
  const { page, sockets } = await openPage(browser, t, origin)
  // The first socket reaches nothing (a handshake or an auth lost on the way); the next ones reach the service.
  let attempts = 0
  await page.routeWebSocket(/\/api\/sessions\/live$/, (ws) => {
    if (++attempts > 1) ws.connectToServer()
  })
  const started = performance.now()
  await page.goto(`${origin}/overlay#token=${overlayToken.token}`)
  await untilText(t, page.getByRole('region', { name: 'Now playing' }).getByText(game.title, { exact: true }), game.title)
  t.equal(attempts, 2, `a second socket, ${Math.round(performance.now() - started)} ms after the page opened (sockets: ${sockets.length} events)`)
  await admin.call('POST', `/sessions/${session.id}/close`, {})
})

t.test('a page with no animation frames says its token was refused too', async (t) => {
  // A source OBS is not showing gets no animation frames, so the page's first effects wait (Preact runs them on the
  // next frame, or 100 ms later without one), and a forged token is refused within a few ms of the socket opening: the
  // refusal came before the effects ran, and a page that only listened from an effect went on showing nothing (the
  // forged-token check below failed this way in CI).
  const { page, errors } = await openPage(browser, t, origin)
  // A script as text, like the console's tests: the type-check has no DOM types.
  await page.addInitScript({ content: 'window.requestAnimationFrame = () => 0' })
  await page.goto(`${origin}/overlay#token=not-a-token`)
  await untilText(t, page.locator('#app p'), 'This overlay\'s token was refused (Invalid token): make a new overlay link in the console.')
  t.same(errors, [], 'no script error')
})

t.test('without a token, or once its token is revoked, one line says so', async (t) => {
  // Each token gets a page of its own, opened by a full navigation: a hash change then a reload raced in the CI run
  // (the page sat connecting with nothing shown for 20 s).
  const bare = await openPage(browser, t, origin)
  await bare.page.goto(`${origin}/overlay`)
  await untilText(t, bare.page.locator('#app p'), 'No overlay token: open this page as /overlay#token=… with an overlay token from the console.')

  const doomed = await admin.scoped('overlay', 'doomed')
  const revoked = await openPage(browser, t, origin)
  await revoked.page.goto(`${origin}/overlay#token=${doomed.token}`)
  await untilText(t, revoked.page.getByRole('heading', { name: 'Game night overlay' }), 'Game night overlay')
  await admin.call('DELETE', `/auth/tokens/${doomed.id}`)
  await untilText(t, revoked.page.locator('#app p'), 'This overlay\'s token was refused (Token revoked): make a new overlay link in the console.')

  const forged = await openPage(browser, t, origin)
  await forged.page.goto(`${origin}/overlay#token=not-a-token`)
  try {
    await untilText(t, forged.page.locator('#app p'), /^This overlay's token was refused \(.+\): make a new overlay link in the console\.$/)
  } finally {
    // It once sat connecting with nothing shown for 20 s in CI (on both databases, never locally): what its socket did.
    t.comment(`the forged token's page, its sockets:\n${forged.sockets.join('\n')}`)
  }
  t.same([...bare.errors, ...revoked.errors, ...forged.errors], [], 'no script error on any of the three pages')
})
