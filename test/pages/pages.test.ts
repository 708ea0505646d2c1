import t from 'tap'
import { ensurePages, launchBrowser, openPage, serve } from './browser.ts'

// The pages' server side: what / and /overlay send, with which headers, and that nothing comes from elsewhere.
await ensurePages()
const { app, origin } = await serve(t)
const host = new URL(origin).host

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
  `connect-src 'self' ws://${host} wss://${host}; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'`

t.test('each page is HTML with a strict CSP, no referrer and no foreign reference', async (t) => {
  for (const path of ['/', '/overlay']) {
    const res = await fetch(origin + path, { headers: { 'accept-encoding': 'br, gzip' } })
    t.equal(res.status, 200, path)
    t.match(res.headers.get('content-type'), /^text\/html/, path)
    t.equal(res.headers.get('content-security-policy'), CSP, path)
    t.equal(res.headers.get('referrer-policy'), 'no-referrer', path)
    t.equal(res.headers.get('content-encoding'), 'br', `${path} is sent precompressed`)
    t.equal(res.headers.get('cache-control'), 'no-cache', `${path} is revalidated`)
    const html = await res.text()
    t.notMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, `${path}: no inline script`)
    t.notMatch(html, /<style|\sstyle=/, `${path}: no inline style`)
    const refs = [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1])
    t.ok(refs.length > 0)
    for (const ref of refs) t.match(ref, /^(\/assets\/[\w.-]+|data:,)$/, `${path} references ${ref}`)
    for (const asset of refs.filter((ref) => ref.startsWith('/assets/'))) {
      const res = await fetch(origin + asset, { headers: { 'accept-encoding': 'gzip' } })
      t.equal(res.status, 200, asset)
      t.equal(res.headers.get('content-encoding'), 'gzip', `${asset} is sent precompressed`)
      t.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable', `${asset} is cached for good`)
      t.notMatch(await res.text(), /\b(?:https?:)?\/\/(?!www\.w3\.org\/)[a-z0-9-]+\.[a-z]/i, `${asset} names no other origin`)
    }
  }
})

t.test('the API, its 404s and /docs are unchanged', async (t) => {
  const unknown = await app.inject({ url: '/api/nope' })
  t.equal(unknown.statusCode, 404)
  t.same(unknown.json(), { error: 'Route GET /api/nope not found' })
  const asset = await app.inject({ url: '/assets/nope.js' })
  t.equal(asset.statusCode, 404)
  t.same(asset.json(), { error: 'Route GET /assets/nope.js not found' })
  const docs = await app.inject({ url: '/docs/json' })
  t.equal(docs.statusCode, 200)
  t.notOk(docs.json().paths['/'], 'the pages are not API operations')
  t.notOk(docs.json().paths['/overlay'])
  t.equal((await app.inject({ url: '/api/games' })).headers['content-security-policy'], undefined, 'the API keeps its headers')
})

t.test('the console renders in Chromium under its CSP, all from this origin', async (t) => {
  const browser = await launchBrowser(t)
  const { page, offOrigin, errors } = await openPage(browser, t, origin)
  await page.goto(origin + '/')
  await page.getByRole('heading', { level: 1, name: 'Tonight' }).waitFor()
  t.same(offOrigin, [])
  t.same(errors, [])
})
