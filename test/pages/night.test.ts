import { readFileSync } from 'node:fs'
import t from 'tap'
import type { Download, Page } from 'playwright-core'
import { FakeEcast } from '../fixtures/fake-ecast.ts'
import { ADMIN_KEY } from '../helper.ts'
import { launchBrowser, openPage, serve } from './browser.ts'
import { fact, gameCard, signIn } from './console-steps.ts'
import { Service, untilText } from './service.ts'

// A whole night end to end, in one browser: the host on the console, the stream's overlay open beside it, the room
// in the fake ecast and a chat bot voting over HTTP. Every step is asserted on what the pages show; neither page is
// reloaded.
t.setTimeout(300_000) // a browser and a database boot here: on a loaded 2-core machine that alone can take a minute
const fake = await FakeEcast.start()
t.teardown(() => fake.close())
const { origin } = await serve(t, { ECAST_BASE_URL: fake.url, ECAST_POLL_INTERVAL_MS: '200' })
const browser = await launchBrowser(t)
const admin = await Service.login(origin, ADMIN_KEY)

/** Marks the document, so `reloaded` can tell whether it was replaced since (a hash change keeps it). */
const mark = (page: Page) => page.evaluate('window.__sameDocument = true')
const reloaded = async (page: Page) => (await page.evaluate('window.__sameDocument === true')) !== true

async function downloaded (page: Page, button: string): Promise<{ name: string, text: string }> {
  const download: Promise<Download> = page.waitForEvent('download')
  await page.getByRole('button', { name: button }).click()
  const file = await download
  return { name: file.suggestedFilename(), text: readFileSync((await file.path())!, 'utf8') }
}

t.test('a night across the console and the overlay', async (t) => {
  const overlayToken = await admin.scoped('overlay', 'stream')
  const bot = await admin.scoped('bot', 'chat bot')
  const { page, offOrigin, errors } = await openPage(browser, t, origin, { viewport: { width: 1280, height: 900 } })
  const stream = await openPage(browser, t, origin, { viewport: { width: 1280, height: 720 } })

  // The host signs in and starts the night; the overlay, opened before, has nothing to show yet.
  await signIn(page, origin)
  await mark(page)
  await stream.page.goto(`${origin}/overlay?code=1#token=${overlayToken.token}`)
  await mark(stream.page)
  const overlay = stream.page.getByRole('region', { name: 'Now playing' })
  await page.getByLabel('Notes (optional)').fill('End to end')
  await page.getByRole('button', { name: 'Start the night' }).click()
  await page.getByText(/Night #\d+, started .*: End to end/).waitFor()
  t.equal(await overlay.count(), 0, 'the overlay shows no game before one is played')

  // Pick with filters: the picked game fits them.
  await page.getByRole('link', { name: 'Pick', exact: true }).click()
  await page.getByRole('heading', { level: 1, name: 'Pick' }).waitFor()
  await page.getByLabel('Players').fill('4')
  await page.getByLabel('Drawing').selectOption('exclude')
  await page.getByLabel('Family-friendly').selectOption('true')
  await page.getByRole('button', { name: 'Pick a game' }).click()
  const picked = page.getByRole('region').filter({ has: page.getByText(/Picked from \d+ matching/) })
  await picked.waitFor()
  const title = (await picked.getByRole('heading', { level: 2 }).textContent())!
  const [min, max] = ((await fact(picked, 'Players').textContent()) ?? '').split(' to ').map(Number)
  t.ok(min <= 4 && max >= 4, `the pick takes 4 players (${min} to ${max})`)
  t.equal(await fact(picked, 'Drawing').textContent(), 'no')
  t.equal(await fact(picked, 'Family-friendly').textContent(), 'yes')

  // "Play it" with the room's code: Tonight shows the game playing, the overlay switches to it.
  fake.createRoom('NITE', { maxPlayers: 8 })
  await page.getByLabel('Room code (optional)').fill('nite')
  await page.getByRole('button', { name: 'Play it' }).click()
  const card = gameCard(page, title)
  await card.waitFor()
  await untilText(t, fact(card, 'Status'), 'Playing')
  await untilText(t, fact(card, 'Room code'), 'NITE')
  await untilText(t, overlay.getByText(title, { exact: true }), title)
  await untilText(t, overlay.getByText(/^Room [A-Z]{4}$/), 'Room NITE')

  // Players join the room: the count moves on both pages.
  fake.addPlayer('NITE', 'Ann')
  fake.addPlayer('NITE', 'Ben')
  await untilText(t, fact(card, 'Players'), /^2 \(checking the room\)$/)
  await untilText(t, overlay.getByText(/players?$/), '2 players')
  fake.addPlayer('NITE', 'Cy')
  await untilText(t, fact(card, 'Players'), /^3 \(checking the room\)$/)
  await untilText(t, overlay.getByText(/players?$/), '3 players')

  // A chat bot's live votes: the tally on both, a cue per voter on the overlay.
  await bot.vote('alice', 'up')
  await bot.vote('bob', 'down')
  await bot.vote('carol', 'up')
  await untilText(t, fact(card, 'Votes tonight'), '2 up, 1 down')
  await untilText(t, overlay.locator('.tally'), '▲ 2 up ▼ 1 down')
  const cues = await overlay.getByRole('list', { name: 'Latest votes' }).getByRole('listitem').allTextContents()
  t.same(cues.map((text) => text.replace(/\s+/g, ' ').trim()), ['▲ alice voted up', '▼ bob voted down', '▲ carol voted up'])

  // Marked played, then the night is closed: the overlay's card goes away.
  await card.getByRole('button', { name: 'Mark played' }).click()
  await untilText(t, fact(card, 'Status'), 'Played')
  await page.getByLabel(/Closing notes/).fill('Good one')
  await page.getByRole('button', { name: 'Close the night' }).click()
  await page.getByText('No night is running.').waitFor()
  await untilText(t, overlay, '(absent)')

  // The closed night in History, and its exports.
  await page.getByRole('link', { name: 'History and stats' }).click()
  const night = page.getByRole('listitem').filter({ hasText: /Night #\d+.*: 1 game\. Good one/ })
  await night.locator('summary').click()
  const cells = night.getByRole('row').filter({ hasText: title }).getByRole('cell')
  await untilText(t, cells.nth(3), '2 up, 1 down')
  t.same((await cells.allTextContents()).slice(1), ['played', '3', '2 up, 1 down'], 'status, players and votes')
  const json = await downloaded(page, 'Export JSON')
  t.match(json.name, /^session-\d+\.json$/)
  const exported = JSON.parse(json.text)
  t.match(exported.session, { notes: 'Good one', is_active: false, games_played: 1, closed_at: String })
  t.match(exported.games, [{ title, status: 'played' }])
  t.equal(exported.games.length, 1)
  const txt = await downloaded(page, 'Export TXT')
  t.match(txt.name, /^session-\d+\.txt$/)
  t.match(txt.text, /^Notes: Good one$/m)
  t.match(txt.text, new RegExp(`\\| ${escape(title)} \\| .* \\| played \\| 3 players$`, 'm'))

  t.notOk(await reloaded(page), 'the console was never reloaded')
  t.notOk(await reloaded(stream.page), 'the overlay was never reloaded')
  t.same([...offOrigin, ...stream.offOrigin], [], 'no request leaves the service')
  t.same([...errors, ...stream.errors], [], 'no error on either page')
})

function escape (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
