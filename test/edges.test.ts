import t from 'tap'
import { createSigner } from 'fast-jwt'
import { build, resetDb, authHeaders, TEST_SECRET } from './helper.ts'
import { httpCaller, rawRequest } from './fixtures/http.ts'

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600

t.test('the edges, through the real HTTP server', async (t) => {
  const app = await build(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  const base = `http://127.0.0.1:${port}`
  const admin = authHeaders(app)
  t.beforeEach(() => resetDb(app))

  const call = httpCaller(base)

  t.test('a NUL anywhere in a path, query or body is a 400 naming the field', async (t) => {
    const session = await call('POST', '/api/sessions', {}, admin)
    t.equal(session.status, 201)
    const cases: [string, string, unknown, Record<string, string>, string][] = [
      ['GET', '/api/votes?username=%00', undefined, {}, 'username'],
      ['GET', '/api/games?gameType=%00', undefined, {}, 'gameType'],
      ['GET', '/api/games?q=quip%00', undefined, {}, 'q'],
      ['GET', '/api/games?pack=a%00b', undefined, {}, 'pack'],
      ['GET', '/api/sessions/%00', undefined, {}, 'id'],
      ['PATCH', '/api/games/packs/Pack%00X/toggle', { enabled: true }, admin, 'name'],
      ['POST', '/api/pick', { packs: ['The Jackbox Party Pack 3', 'x\u0000'] }, {}, 'packs[1]'],
      ['POST', '/api/pick', { gameType: 'Writing\u0000' }, {}, 'gameType'],
      ['POST', '/api/games', { pack_name: 'Pack', title: 'Quiz\u0000', min_players: 1, max_players: 8 }, admin, 'title'],
      ['POST', `/api/sessions/${session.body.id}/close`, { notes: 'fun\u0000night' }, admin, 'notes'],
      ['PATCH', '/api/webhooks/1', { events: ['session.started', 'game.added\u0000'] }, admin, 'events[1]'],
      ['POST', '/api/sessions', { notes: { nested: ['ok', { deep: '\u0000' }] } }, admin, 'notes.nested[1].deep']
    ]
    for (const [method, path, body, headers, field] of cases) {
      const res = await call(method, path, body, headers)
      t.same([res.status, res.body], [400, { error: `${field} must not contain a NUL character` }], `${method} ${path}`)
    }
    const noToken = await call('POST', '/api/sessions', { notes: 'x\u0000' })
    t.equal(noToken.status, 401, 'auth still comes first on a secured route')
    t.same((await call('GET', `/api/sessions/${session.body.id}`)).body.notes, null, 'nothing was written')
  })

  t.test('a 900 KB pick string ending in NUL is a quick 400', async (t) => {
    const res = await call('POST', '/api/pick', { packs: ['a'.repeat(900_000) + '\u0000'] })
    t.same([res.status, res.body], [400, { error: 'packs[0] must not contain a NUL character' }])
  })

  t.test('any token failure is 401 with WWW-Authenticate: Bearer, on verify and on a secured route', async (t) => {
    const good = createSigner({ key: TEST_SECRET })
    const header = (alg: string) => b64({ alg, typ: 'JWT' })
    const claims = b64({ role: 'admin', exp: inAnHour(), iat: Math.floor(Date.now() / 1000) })
    const tokens: Record<string, string> = {
      'RS256 header': `Bearer ${header('RS256')}.${claims}.${'A'.repeat(342)}`,
      'ES256 header': `Bearer ${header('ES256')}.${claims}.${'A'.repeat(86)}`,
      'alg none': `Bearer ${header('none')}.${claims}.`,
      'HS512 with the right secret': `Bearer ${createSigner({ key: TEST_SECRET, algorithm: 'HS512', expiresIn: 60_000 })({ role: 'admin' })}`,
      'Bearer a b': 'Bearer a b',
      'Bearer alone': 'Bearer',
      'two spaces': `Bearer  ${good({ role: 'admin', exp: inAnHour() })}`,
      'not bearer': 'Basic YWRtaW46YWRtaW4=',
      'no exp': `Bearer ${good({ role: 'admin' })}`,
      'no role': `Bearer ${good({ exp: inAnHour() })}`,
      'an unknown role': `Bearer ${good({ role: 'root', exp: inAnHour() })}`,
      'a non-numeric jti': `Bearer ${good({ role: 'bot', jti: 'x', exp: inAnHour() })}`,
      'a jti with no token row': `Bearer ${good({ role: 'bot', jti: '999', exp: inAnHour() })}`,
      expired: `Bearer ${good({ role: 'admin', iat: 1000, exp: 2000 })}`,
      'an exp past any date': `Bearer ${good({ role: 'admin', exp: 1e20 })}`,
      forged: `Bearer ${createSigner({ key: 'another-secret-another-secret-another' })({ role: 'admin', exp: inAnHour() })}`,
      garbage: 'Bearer not.a.token'
    }
    for (const [name, authorization] of Object.entries(tokens)) {
      for (const [method, path] of [['GET', '/api/auth/verify'], ['POST', '/api/sessions']]) {
        const res = await call(method, path, method === 'POST' ? {} : undefined, { authorization })
        t.equal(res.status, 401, `${name}: ${method} ${path}`)
        t.equal(res.headers.get('www-authenticate'), 'Bearer', `${name}: WWW-Authenticate`)
        t.same(Object.keys(res.body), ['error'], `${name}: the error shape`)
      }
    }
    const missing = await call('GET', '/api/auth/verify')
    t.same([missing.status, missing.headers.get('www-authenticate'), missing.body],
      [401, 'Bearer', { error: 'Authorization: Bearer <token> is required' }])
    const expired = await call('GET', '/api/auth/verify', undefined, { authorization: tokens.expired })
    t.same(expired.body, { error: 'Token expired' })
  })

  t.test('the service signs HS256 and its tokens verify', async (t) => {
    const [head] = admin.authorization.slice(7).split('.')
    t.same(JSON.parse(Buffer.from(head, 'base64url').toString()).alg, 'HS256')
    const res = await call('GET', '/api/auth/verify', undefined, admin)
    t.match(res, { status: 200, body: { valid: true, role: 'admin' } })
  })

  t.test('every error Fastify raises has the {error} shape', async (t) => {
    const unknown = await call('GET', '/api/nowhere')
    t.same([unknown.status, unknown.body], [404, { error: 'Route GET /api/nowhere not found' }])
    const tooLarge = await fetch(`${base}/api/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: 'x'.repeat(2 * 1024 * 1024) })
    })
    t.same([tooLarge.status, await tooLarge.json()], [413, { error: 'Request body is too large' }])
    const mediaType = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<key/>' })
    t.equal(mediaType.status, 415)
    t.same(Object.keys(await mediaType.json() as object), ['error'])
    const longParam = await call('GET', `/api/sessions/${'1'.repeat(200)}`)
    t.same([longParam.status, longParam.body], [414, { error: 'A path parameter is too long' }])
    const badUrl = await call('GET', '/api/sessions/%E0%A4%A')
    t.same([badUrl.status, badUrl.body], [400, { error: 'The URL is not valid' }])

    const headers = await rawRequest(port, `GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
    t.match(headers, /^HTTP\/1\.1 431 /)
    t.equal(headers.slice(headers.indexOf('\r\n\r\n') + 4), '{"error":"The request headers are too large"}')
    const malformed = await rawRequest(port, 'GARBAGE\r\n\r\n')
    t.match(malformed, /^HTTP\/1\.1 400 /)
    t.equal(malformed.slice(malformed.indexOf('\r\n\r\n') + 4), '{"error":"The request is malformed"}')
  })

  t.test('the OpenAPI description names the roles of every secured operation, and its 401 and 403', async (t) => {
    const spec = (await call('GET', '/docs/json')).body as { paths: Record<string, Record<string, { security?: unknown[], description?: string, responses: Record<string, unknown> }>> }
    const secured = Object.entries(spec.paths).flatMap(([path, ops]) => Object.entries(ops)
      .filter(([, op]) => op.security?.length).map(([method, op]) => ({ at: `${method} ${path}`, op })))
    t.ok(secured.length > 20, `${secured.length} secured operations`)
    for (const { at, op } of secured) {
      t.match(op.description, /Roles: admin(, bot)?(, overlay)?\.$/, `${at} names its roles`)
      t.ok(op.responses['401'], `${at} documents 401`)
      if (!/overlay/.test(op.description ?? '')) t.ok(op.responses['403'], `${at} documents 403`)
    }
    const roles = (method: string, path: string) => /Roles: (.*)\.$/.exec(spec.paths[path][method].description!)![1]
    t.equal(roles('post', '/api/votes/live'), 'admin, bot')
    t.equal(roles('post', '/api/sessions/{id}/chat-import'), 'admin, bot')
    t.equal(roles('get', '/api/sessions/{id}/export'), 'admin, bot, overlay')
    t.equal(roles('delete', '/api/sessions/{id}'), 'admin')
    t.equal(roles('post', '/api/auth/tokens'), 'admin')
  })
})
