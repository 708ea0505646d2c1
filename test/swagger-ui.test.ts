import t from 'tap'
import { build } from './helper.ts'
import { launchBrowser } from './pages/browser.ts'

// Swagger UI in a real headless browser (the Chromium of @sparticuz/chromium, see test/pages/browser.ts): the page is
// served from a non-default port, loads the spec from there, and "Try it out" on GET /api/games gets a 200.

t.test('Swagger UI: Try it out on GET /api/games from any address', async (t) => {
  const app = await build(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  t.not(port, 5000)

  const browser = await launchBrowser(t)
  const page = await browser.newPage()
  const calls: string[] = []
  page.on('request', (request) => { if (request.url().includes('/api/')) calls.push(request.url()) })

  await page.goto(`http://127.0.0.1:${port}/docs`, { timeout: 20_000 })
  const operation = page.locator('#operations-games-listGames')
  await operation.locator('.opblock-summary').click({ timeout: 15_000 })
  await operation.locator('button.try-out__btn').click()
  await operation.locator('button.execute').click()
  // Query filters start empty (no examples are prefilled), so this lists the whole catalog.
  const status = operation.locator('.live-responses-table tbody .response-col_status').first()
  await status.waitFor({ timeout: 10_000 })
  t.equal((await status.textContent())?.trim(), '200')
  t.same(calls, [`http://127.0.0.1:${port}/api/games`], 'the request went to the address that served the page')
  const body = await operation.locator('.live-responses-table .microlight').first().textContent()
  t.match(body ?? '', '"pack_name"')
})
