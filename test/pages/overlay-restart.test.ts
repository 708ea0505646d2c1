import t from 'tap'
import { testDatabase } from '../helper.ts'
import { PROCESS_ADMIN_KEY, startServer } from '../server-process.ts'
import { ensurePages, launchBrowser, openPage } from './browser.ts'
import { Service, textOf, untilText } from './service.ts'

// The service restarts mid-night (the real entry point, a child process, on one DATA_DIR and one port): the overlay
// reconnects by itself and shows every vote cast while it was away, once.
t.setTimeout(300_000)

t.test('the overlay rides out a restart of the service and misses no vote', async (t) => {
  await ensurePages()
  const database = await testDatabase(t, { onDisk: true })
  const first = await startServer(t, database)
  const admin = await Service.login(first.url, PROCESS_ADMIN_KEY)
  const overlay = await admin.scoped('overlay')
  const bot = await admin.scoped('bot')
  const session = await admin.call<{ id: number }>('POST', '/sessions', {})
  const game = await admin.call<{ title: string }>('POST', `/sessions/${session.id}/games`, { game_id: 1 })

  const browser = await launchBrowser(t)
  const { page, errors } = await openPage(browser, t, first.url)
  await page.goto(`${first.url}/overlay#token=${overlay.token}`)
  const card = page.getByRole('region', { name: 'Now playing' })
  await untilText(t, card.getByText(game.title, { exact: true }), game.title)
  await bot.vote('v1', 'up')
  await bot.vote('v2', 'down')
  await untilText(t, card.locator('.tally'), '▲ 1 up ▼ 1 down')

  process.kill(first.pid, 'SIGTERM')
  t.same(await first.exited, { code: 0, signal: null }, 'the first process stopped')
  await untilText(t, page.getByRole('status'), 'Reconnecting…')
  // Held offline until the votes below are in, so they are surely cast while the overlay is away.
  await page.context().setOffline(true)
  const second = await startServer(t, { ...database, PORT: String(first.port) })
  const again = new Service(second.url, bot.token)
  await again.vote('v3', 'up')
  await again.vote('v4', 'down')
  await again.vote('v5', 'up')
  await again.vote('v6', 'up')
  t.equal(await textOf(card.locator('.tally')), '▲ 1 up ▼ 1 down', 'the overlay has not seen them yet')
  await page.context().setOffline(false)

  await untilText(t, card.locator('.tally'), '▲ 4 up ▼ 2 down', 30_000)
  const cues = (await card.getByRole('list', { name: 'Latest votes' }).getByRole('listitem').allTextContents())
    .map((text) => text.replace(/\s+/g, ' ').trim())
  t.same(cues, ['▲ v1 voted up', '▼ v2 voted down', '▲ v3 voted up', '▼ v4 voted down', '▲ v5 voted up', '▲ v6 voted up'],
    'each vote once, in order')
  await untilText(t, page.getByRole('status'), '(absent)')
  t.same(errors.filter((e) => !/WebSocket|ERR_INTERNET_DISCONNECTED|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)), [],
    'no error but the refused connections while away')
})
