import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import t from 'tap'
import { until } from '../fixtures/event-log.ts'
import { FakeTwitch } from '../fixtures/fake-twitch.ts'
import { LiveSocket } from '../fixtures/live-client.ts'
import { resetDb } from '../helper.ts'
import { launchBrowser, openPage, serve } from './browser.ts'
import { api, noAxeViolation, signIn, vote } from './console-steps.ts'

// The console's other views (Pick's filters, Catalog, History and stats) in a real Chromium, each checked by axe-core.
// Chat sources read the fake Twitch chat (test/fixtures), on loopback.
const twitch = await FakeTwitch.start()
t.teardown(() => twitch.close())
const receiver = await webhookReceiver()
const { app, origin } = await serve(t, { TWITCH_CHAT_URL: twitch.url, WEBHOOK_ALLOW_LOOPBACK: 'true' })
const browser = await launchBrowser(t)
// A real browser on a busy 2-core machine: each step can take seconds.
t.setTimeout(300_000)
t.beforeEach(() => resetDb(app))

t.test('pick: the filters decide the pool, "another" never offers the same game twice in a row, no match is said', async (t) => {
  const { page } = await openPage(browser, t, origin)
  await signIn(page, origin)
  await page.getByRole('link', { name: 'Pick', exact: true }).click()
  await page.getByLabel('Players').fill('8')
  await page.getByLabel('Drawing').selectOption({ label: 'Drawing games only' })
  await page.getByLabel('Audience').selectOption({ label: 'With an audience' })
  await page.getByRole('button', { name: 'Pick a game' }).click()
  const picked = page.getByRole('region').filter({ has: page.getByText(/Picked from \d+ matching/) })
  await picked.waitFor()
  const games: { id: number, title: string, min_players: number, max_players: number, drawing: number, has_audience: number, length_minutes: number | null, enabled: number }[] =
    await api(app, 'GET', '/api/games')
  const pool = games.filter((g) => g.enabled && g.drawing && g.has_audience && g.min_players <= 8 && g.max_players >= 8)
  t.ok(pool.length >= 2, 'the bundled catalog has a pool to draw from')
  t.match(await picked.textContent(), `Picked from ${pool.length} matching games`)
  const title = await picked.getByRole('heading', { level: 2 }).textContent()
  t.ok(pool.some((g) => g.title === title), 'the pick matches every filter')
  t.match(await picked.textContent(), /Audienceyes.*Drawingyes/s)
  // Two packs may hold games of the same title: a game on screen is its title and its facts.
  let previous = (await picked.textContent())!
  for (let i = 0; i < 4; i++) {
    await page.getByRole('button', { name: 'Another' }).click()
    const next = page.getByRole('region').filter({ has: page.getByText(/Picked from/) }).filter({ hasNotText: previous })
    await next.waitFor()
    const nextTitle = await next.getByRole('heading', { level: 2 }).textContent()
    t.ok(pool.some((g) => g.title === nextTitle), `another pick (${nextTitle}) matches too`)
    previous = (await next.textContent())!
  }
  await noAxeViolation(t, page, 'Pick, with a game')
  await page.getByLabel('Players').fill('1000')
  await page.getByRole('button', { name: 'Pick a game' }).click()
  await page.getByRole('alert').filter({ hasText: 'No games match the current filters' }).waitFor()
  t.ok(await page.getByText('No night is running').isVisible(), 'play it asks for a night first')
})

t.test('catalog: search, enable and disable a game and a pack, favor, CSV export and import with its report', async (t) => {
  const { page } = await openPage(browser, t, origin)
  await signIn(page, origin)
  await page.getByRole('link', { name: 'Catalog' }).click()
  await page.getByRole('heading', { name: /^Games \(\d+\)$/ }).waitFor()
  await page.getByLabel('Title contains').fill('quiplash')
  const games = page.getByRole('region', { name: /^Games/ })
  const expected = (await api(app, 'GET', '/api/games?q=quiplash')).map((g: { title: string }) => g.title)
  t.ok(expected.length > 1, 'the bundled catalog has games to find')
  await games.getByRole('heading', { name: `Games (${expected.length})` }).waitFor()
  t.same(await games.getByRole('heading', { level: 3 }).allTextContents(), expected, 'only the search\'s games, in the API\'s order')
  const title = expected[0]

  const first = games.getByRole('listitem').first()
  await first.getByRole('button', { name: 'Disable' }).click()
  await first.getByText('disabled, neutral').waitFor()
  await first.getByRole('button', { name: 'Favor', exact: true }).click()
  await first.getByRole('button', { name: 'Favor', exact: true }).and(page.locator('[aria-pressed="true"]')).waitFor()
  const stored = (await api(app, 'GET', '/api/games?q=quiplash')).find((g: { title: string }) => g.title === title)
  t.match(stored, { enabled: 0, favor_bias: 1 })
  await first.getByRole('button', { name: 'Enable' }).click()
  await first.getByText('enabled, favored').waitFor()

  const pack = page.getByRole('region', { name: 'Packs' }).getByRole('listitem').first()
  await pack.getByRole('button', { name: 'Disable all' }).click()
  await pack.getByText(/^0 of \d+ enabled$/).waitFor()
  await pack.getByRole('button', { name: 'Enable all' }).click()
  await pack.getByText(/^(\d+) of \1 enabled$/).waitFor()
  await noAxeViolation(t, page, 'Catalog')

  const download = page.waitForEvent('download')
  await page.getByRole('link', { name: 'Download the catalog as CSV' }).click()
  const csv = readFileSync((await (await download).path())!, 'utf8')
  t.match(csv, /^pack_name,title,min_players,max_players/)
  await page.getByLabel('CSV file to import').setInputFiles({
    name: 'games.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from('pack_name,title,min_players,max_players\nHouse Games,Charades Deluxe,2,10\nHouse Games,Broken,9,2\n')
  })
  await page.getByRole('button', { name: 'Import', exact: true }).click()
  const report = page.getByRole('status').filter({ hasText: 'Imported 1 new game' })
  await report.waitFor()
  t.match(await report.textContent(), /skipped 1 line.*Line 3: /s)
  await noAxeViolation(t, page, 'Catalog, with an import report')
})

t.test('history and stats: past nights with their games and votes, kept current signed out', async (t) => {
  const night = await api(app, 'POST', '/api/sessions', { notes: 'Last week' })
  const game = await api(app, 'GET', '/api/games/5')
  await api(app, 'POST', `/api/sessions/${night.id}/games`, { game_id: game.id })
  await vote(app, 'fan', 'up')
  await api(app, 'POST', `/api/sessions/${night.id}/close`, {})

  const { page } = await openPage(browser, t, origin)
  await page.goto(`${origin}/#/history`)
  const stats = page.getByRole('region', { name: 'Stats' })
  await stats.getByText('Games played').waitFor()
  t.match(await stats.textContent(), /Nights1.*Games played1/s)
  await page.getByText(/Night #\d+, .*1 game\. Last week/).click()
  const row = page.getByRole('row').filter({ hasText: game.title })
  await row.waitFor()
  t.match(await row.textContent(), /played.*1 up, 0 down/)
  await noAxeViolation(t, page, 'History and stats, signed out, a night open')

  // Signed out, a night started elsewhere shows up by itself.
  await api(app, 'POST', '/api/sessions', { notes: 'Tonight elsewhere' })
  await page.getByText(/Night #\d+, .*\(running\): 0 games\. Tonight elsewhere/).waitFor({ timeout: 10_000 })
})

t.test('settings: tokens shown once and revoked, a refused webhook in words, a test delivery and the last deliveries, chat sources, a client listed and disconnected, the overlay link', async (t) => {
  const { page } = await openPage(browser, t, origin)
  await signIn(page, origin)
  await page.getByRole('link', { name: 'Settings' }).click()
  await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor()

  await page.getByLabel('Name', { exact: true }).first().fill('chat bot')
  await page.getByRole('button', { name: 'Create token' }).click()
  const shown = page.getByLabel('Token for chat bot: copy it now, it is not shown again')
  await shown.waitFor()
  const token = await shown.inputValue()
  t.equal((await fetch(`${origin}/api/auth/verify`, { headers: { authorization: `Bearer ${token}` } })).status, 200, 'the token shown works')
  const tokens = page.getByRole('list', { name: 'Tokens' })
  await tokens.getByRole('heading', { name: 'chat bot' }).waitFor()

  await page.getByLabel('URL').fill('http://169.254.169.254/hook')
  await page.getByLabel('Name', { exact: true }).nth(1).fill('local')
  await page.getByLabel('game.added').check()
  await page.getByRole('button', { name: 'Create webhook' }).click()
  await page.getByRole('form', { name: 'New webhook' }).getByRole('alert').filter({ hasText: /link-local/i }).waitFor()
  // A webhook that takes deliveries (a receiver on loopback): a test sent, the last deliveries, paused.
  await page.getByLabel('URL').fill(`${receiver.url}/hook`)
  await page.getByRole('button', { name: 'Create webhook' }).click()
  const hook = page.getByRole('list', { name: 'Webhooks' }).getByRole('listitem')
    .filter({ has: page.getByRole('heading', { name: 'local' }) })
  await hook.getByRole('button', { name: 'Send test' }).click()
  await hook.getByRole('status').filter({ hasText: /^Test: Delivered \(HTTP 204\) in \d+ ms\.$/ }).waitFor()
  t.same(receiver.events, ['webhook.test'], 'the receiver got the test')
  await hook.getByRole('button', { name: 'Last deliveries' }).click()
  await hook.getByRole('row').filter({ hasText: /webhook\.test.*Delivered \(HTTP 204\)/ }).waitFor()
  await hook.getByRole('button', { name: 'Disable' }).click()
  await hook.getByText('paused', { exact: true }).waitFor()

  await page.getByLabel('Twitch channel').fill('x')
  await page.getByRole('button', { name: 'Add chat source' }).click()
  await page.getByRole('form', { name: 'New chat source' }).getByRole('alert').filter({ hasText: 'channel' }).waitFor()
  // A source the service reads: listed with its status, which Refresh brings up to date; Disable closes it.
  await page.getByLabel('Twitch channel').fill('Party_Night')
  await page.getByRole('button', { name: 'Add chat source' }).click()
  const chat = page.getByRole('list', { name: 'Chat sources' }).getByRole('listitem')
    .filter({ has: page.getByRole('heading', { name: 'twitch party_night' }) })
  await chat.getByText('0 votes counted, 0 refused; no message yet').waitFor()
  await until('the service in the channel', async () => twitch.inChannel('party_night') === 1 &&
    (await api(app, 'GET', '/api/chat-sources'))[0].status === 'connected')
  await chat.getByRole('button', { name: 'Refresh' }).click()
  await chat.locator('.item-head .muted').filter({ hasText: /^connected$/ }).waitFor()
  await chat.getByRole('button', { name: 'Disable' }).click()
  await chat.locator('.item-head .muted').filter({ hasText: /^disabled$/ }).waitFor()
  await until('the connection closed', () => twitch.inChannel('party_night') === 0)

  await page.getByText('No client is connected.').waitFor()
  // A bot says hello on the live socket: listed after a refresh, then disconnected from here.
  const streamBot = await LiveSocket.open(t, `${origin.replace('http', 'ws')}/api/sessions/live`)
  t.same(await streamBot.request({ type: 'auth', token: app.jwt.sign({ role: 'admin' }) }), { type: 'auth_success' })
  t.match(await streamBot.request({ type: 'hello', name: 'stream-bot', functions: ['show-pick'] }), { type: 'hello_ok' })
  const closed = once(streamBot.ws, 'close')
  await page.getByRole('button', { name: 'Refresh the list' }).click()
  const clients = page.getByRole('list', { name: 'Connected clients' })
  await clients.getByRole('heading', { name: 'stream-bot' }).waitFor()
  t.match(await clients.getByRole('listitem').textContent(), /Functions: show-pick/)
  await page.getByRole('button', { name: 'Disconnect stream-bot' }).click()
  await clients.getByRole('heading', { name: 'stream-bot' }).waitFor({ state: 'detached' })
  t.equal((await closed)[0], 1000, 'its socket closed with 1000')
  await page.getByLabel('Theme (theme)').selectOption('light')
  await page.getByRole('button', { name: 'Create an overlay token for the link' }).click()
  const link = page.getByLabel(/^Overlay link/)
  await link.waitFor()
  t.match(await link.inputValue(), new RegExp(`^${origin}/overlay\\?theme=light#token=ey`))
  await page.getByTitle('Overlay preview').waitFor()
  await noAxeViolation(t, page, 'Settings')

  const bot = tokens.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'chat bot' }) })
  await bot.getByRole('button', { name: 'Revoke' }).click()
  await bot.getByRole('button', { name: 'Revoke chat bot' }).click()
  await tokens.getByRole('heading', { name: 'chat bot' }).waitFor({ state: 'detached' })
})

t.test('on a phone (375 px) every view fits the width; sign out forgets the token', async (t) => {
  const night = await api(app, 'POST', '/api/sessions', { notes: 'Phone night' })
  await api(app, 'POST', `/api/sessions/${night.id}/games`, { game_id: 1, room_code: 'PHON' })
  const { page } = await openPage(browser, t, origin, { viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true })
  await signIn(page, origin)
  for (const [link, heading] of [['Tonight', 'Tonight'], ['Pick', 'Pick'], ['Catalog', 'Catalog'], ['History and stats', 'History and stats'], ['Settings', 'Settings']]) {
    await page.getByRole('link', { name: link, exact: true }).click()
    await page.getByRole('heading', { level: 1, name: heading }).waitFor()
    if (link === 'Pick') {
      await page.getByRole('button', { name: 'Pick a game' }).click()
      await page.getByText(/Picked from \d+ matching/).waitFor()
    }
    // (page code as a string: the tests are type-checked without the DOM library)
    const width = await page.evaluate('document.documentElement.scrollWidth') as number
    t.ok(width <= 375, `${link}: ${width} px wide on a 375 px screen`)
  }

  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByRole('link', { name: 'Sign in' }).first().waitFor()
  t.equal(await page.evaluate("sessionStorage.getItem('gamenight.token')"), null, 'the tab no longer holds the token')
  await page.reload()
  await page.getByRole('link', { name: 'Sign in' }).first().waitFor()
  t.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0, 'still signed out after a reload')
})

/** A webhook target on loopback: answers 204 and keeps the event names it was sent. */
async function webhookReceiver (): Promise<{ url: string, events: string[] }> {
  const events: string[] = []
  const server = createServer((request, response) => {
    events.push(String(request.headers['x-webhook-event']))
    request.resume().on('end', () => response.writeHead(204).end())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, events }
}
