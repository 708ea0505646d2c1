import t from 'tap'
import { build, resetDb, authHeaders } from '../helper.ts'

t.test('chat sources: the admin routes', async (t) => {
  // Nothing listens there: a reader that tries connects to a closed loopback port, never to Twitch.
  const app = await build(t, { TWITCH_CHAT_URL: 'ws://127.0.0.1:9' })
  const admin = authHeaders(app)
  t.beforeEach(() => resetDb(app))
  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, headers = admin) =>
    app.inject({ method, url, headers, ...(payload ? { payload } : {}) })
  const shape = (id: number, channel: string, more: object = {}) => ({
    id,
    platform: 'twitch',
    channel,
    enabled: 1,
    status: String,
    last_message_at: null,
    votes_counted: 0,
    votes_refused: 0,
    created_at: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
    ...more
  })
  // A new source's reader may already have failed to connect once (nothing listens) by the time it is read.
  const freshMessage = (source: { status_message: string | null }) =>
    source.status_message === null || /; reconnecting in \d+ s$/.test(source.status_message)

  t.test('add (lower-cased), list, get, disable, enable, delete', async (t) => {
    const created = await call('POST', '/api/chat-sources', { platform: 'twitch', channel: 'JackboxGames' })
    t.equal(created.statusCode, 201)
    t.match(created.json(), shape(1, 'jackboxgames'))
    t.ok(freshMessage(created.json()), `status_message: ${created.json().status_message}`)
    t.same(Object.keys(created.json()).sort(), ['channel', 'created_at', 'enabled', 'id', 'last_message_at', 'platform',
      'status', 'status_message', 'votes_counted', 'votes_refused'])
    t.ok(['connecting', 'error'].includes(created.json().status))
    await call('POST', '/api/chat-sources', { platform: 'twitch', channel: 'second_channel' })

    const list = await call('GET', '/api/chat-sources')
    t.equal(list.statusCode, 200)
    t.same(list.json().map((s: { channel: string }) => s.channel), ['jackboxgames', 'second_channel'])

    const one = await call('GET', '/api/chat-sources/2')
    t.match(one.json(), shape(2, 'second_channel'))
    t.ok(freshMessage(one.json()), `status_message: ${one.json().status_message}`)

    const disabled = await call('PATCH', '/api/chat-sources/1', { enabled: false })
    t.equal(disabled.statusCode, 200)
    t.match(disabled.json(), shape(1, 'jackboxgames', { enabled: 0, status: 'disabled', status_message: null }))
    const enabled = await call('PATCH', '/api/chat-sources/1', { enabled: 1 })
    t.match(enabled.json(), { enabled: 1, status: /^(connecting|error)$/ })

    const deleted = await call('DELETE', '/api/chat-sources/1')
    t.equal(deleted.statusCode, 204)
    t.equal(deleted.body, '')
    t.equal((await call('GET', '/api/chat-sources/1')).statusCode, 404)
    t.same((await call('GET', '/api/chat-sources')).json().map((s: { id: number }) => s.id), [2])
  })

  t.test('the same platform and channel twice is a 409, whatever the case', async (t) => {
    await call('POST', '/api/chat-sources', { platform: 'twitch', channel: 'some_channel' })
    const again = await call('POST', '/api/chat-sources', { platform: 'twitch', channel: 'Some_Channel' })
    t.equal(again.statusCode, 409)
    t.same(again.json(), { error: 'A chat source for this platform and channel already exists' })
  })

  t.test('a channel name Twitch cannot have, another platform, unknown fields: 400', async (t) => {
    const rule = { error: 'channel must be a Twitch channel login: 4 to 25 letters, digits or underscores' }
    for (const channel of ['abc', 'a'.repeat(26), 'has space', '#jackbox', 'dash-name', 'ünïcode', '']) {
      const res = await call('POST', '/api/chat-sources', { platform: 'twitch', channel })
      t.equal(res.statusCode, 400, channel)
      t.same(res.json(), rule, channel)
    }
    t.same((await call('POST', '/api/chat-sources', { platform: 'youtube', channel: 'jackbox' })).json(), { error: 'platform must be twitch' })
    t.equal((await call('POST', '/api/chat-sources', { channel: 'jackbox' })).statusCode, 400)
    t.equal((await call('POST', '/api/chat-sources', { platform: 'twitch', channel: 'jackbox', extra: 1 })).statusCode, 400)
    t.equal((await call('PATCH', '/api/chat-sources/1', { enabled: 'yes' })).statusCode, 400)
    t.equal((await call('PATCH', '/api/chat-sources/1', {})).statusCode, 400)
    t.equal((await call('GET', '/api/chat-sources/abc')).statusCode, 400)
    t.same((await call('GET', '/api/chat-sources')).json(), [])
  })

  t.test('unknown ids are 404', async (t) => {
    for (const [method, payload] of [['GET'], ['PATCH', { enabled: true }], ['DELETE']] as const) {
      const res = await call(method, '/api/chat-sources/99', payload)
      t.equal(res.statusCode, 404)
      t.same(res.json(), { error: 'Chat source not found' })
    }
  })

  t.test('admin only', async (t) => {
    t.equal((await call('GET', '/api/chat-sources', undefined, {})).statusCode, 401)
    const bot = { authorization: `Bearer ${app.jwt.sign({ role: 'bot' })}` }
    t.equal((await call('GET', '/api/chat-sources', undefined, bot)).statusCode, 403)
    t.equal((await call('POST', '/api/chat-sources', { platform: 'twitch', channel: 'jackbox' }, bot)).statusCode, 403)
  })
})
