import t from 'tap'
import { createSigner } from 'fast-jwt'
import { build, ADMIN_KEY, TEST_SECRET } from '../helper.ts'

t.test('auth', async (t) => {
  const app = await build(t)

  t.test('the admin key buys a token that verifies', async (t) => {
    const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { key: ADMIN_KEY } })
    t.equal(login.statusCode, 200)
    t.match(login.json(), { token: String, expiresIn: '24h' })
    const verify = await app.inject({ url: '/api/auth/verify', headers: { authorization: `Bearer ${login.json().token}` } })
    t.equal(verify.statusCode, 200)
    const body = verify.json()
    t.same(Object.keys(body).sort(), ['expiresAt', 'role', 'valid'])
    t.equal(body.valid, true)
    t.equal(body.role, 'admin')
    const hours = (Date.parse(body.expiresAt) - Date.now()) / 3_600_000
    t.ok(hours > 23.9 && hours <= 24, `expires in 24h (got ${hours})`)
  })

  t.test('a wrong key is 401 with the contract sentence', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { key: 'nope' }, remoteAddress: '10.9.9.1' })
    t.equal(res.statusCode, 401)
    t.same(res.json(), { error: 'Invalid admin key' })
  })

  t.test('a missing or mistyped key is a 400 naming the field', async (t) => {
    const missing = await app.inject({ method: 'POST', url: '/api/auth/login', payload: {} })
    t.equal(missing.statusCode, 400)
    t.same(missing.json(), { error: 'key is required' })
    const typed = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { key: 5 } })
    t.equal(typed.statusCode, 400)
    t.same(typed.json(), { error: 'key must be string' })
  })

  t.test('after ten failures a minute, the address gets 429, even with the right key; others are unaffected', async (t) => {
    const remoteAddress = '10.0.0.42'
    for (let i = 0; i < 10; i++) {
      const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { key: `wrong${i}` }, remoteAddress })
      t.equal(res.statusCode, 401)
    }
    const blocked = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { key: ADMIN_KEY }, remoteAddress })
    t.equal(blocked.statusCode, 429)
    t.match(blocked.json(), { error: /^Too many failed login attempts/ })
    t.ok(Number(blocked.headers['retry-after']) > 0)
    const other = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { key: ADMIN_KEY }, remoteAddress: '10.0.0.43' })
    t.equal(other.statusCode, 200)
  })

  t.test('verify refuses missing, malformed, wrongly signed and expired tokens with 401', async (t) => {
    const wrongSecret = createSigner({ key: 'another-secret-another-secret-another' })({ role: 'admin' })
    const expired = createSigner({ key: TEST_SECRET })({ role: 'admin', iat: 1000, exp: 2000 })
    const cases: Record<string, Record<string, string>> = {
      missing: {},
      malformed: { authorization: 'Bearer not.a.token' },
      'not bearer': { authorization: 'Basic abc' },
      'wrong signature': { authorization: `Bearer ${wrongSecret}` },
      expired: { authorization: `Bearer ${expired}` }
    }
    for (const [name, headers] of Object.entries(cases)) {
      const res = await app.inject({ url: '/api/auth/verify', headers })
      t.equal(res.statusCode, 401, name)
      t.type(res.json().error, 'string', `${name} has an error sentence`)
      t.notOk(res.json().stack, `${name} has no stack`)
    }
  })
})
