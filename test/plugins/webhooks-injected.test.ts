import t from 'tap'
import { MockAgent } from 'undici'
import type { Lookup } from '../../webhooks/targets.ts'
import { insertWebhook } from '../../db/webhooks.ts'
import { build, authHeaders } from '../helper.ts'

// A dispatcher passed in to buildApp (webhookDispatcher) makes its own connections, so the plugin checks each
// request's target before handing it over: the same rule as its own Agent's connect-time check.

const names: Record<string, string[]> = {
  'metadata.test': ['169.254.169.254'],
  'loop.test': ['127.0.0.1'],
  'mixed.test': ['192.168.1.20', '::1'],
  'lan.test': ['192.168.1.20']
}
const asked: string[] = []
const lookup: Lookup = (hostname, _options, callback) => {
  asked.push(hostname)
  const addresses = names[hostname]
  if (!addresses) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), [])
  callback(null, addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })))
}

t.test('an injected webhook dispatcher gets the target check too', async (t) => {
  const mock = new MockAgent()
  mock.disableNetConnect()
  t.teardown(() => mock.close())
  // Only lan.test answers; a request for any other target would fail with a MockAgent error, not the refusal.
  mock.get('http://lan.test').intercept({ path: '/hook', method: 'POST' }).reply(204, '')
  const app = await build(t, {}, { webhookDispatcher: mock, webhookLookup: lookup })
  const auth = authHeaders(app)

  const create = async (name: string, url: string) => {
    const res = await app.inject({ method: 'POST', url: '/api/webhooks', headers: auth, payload: { name, url, events: ['session.started'] } })
    t.equal(res.statusCode, 201, `${url} is saved (a name is checked when connecting)`)
    return res.json().id as number
  }
  const ids = {
    metadata: await create('Metadata', 'http://metadata.test/latest/meta-data'),
    loop: await create('Loop', 'http://loop.test/hook'),
    mixed: await create('Mixed', 'http://mixed.test/hook'),
    lan: await create('LAN', 'http://lan.test/hook'),
    // Written behind the API's back: only the check when sending stands between it and the address.
    literal: (await insertWebhook(app.db, { name: 'Literal', url: 'http://169.254.169.254/', events: ['session.started'] })).id
  }
  const sent: Record<string, [number | null, boolean, string | null]> = {}
  for (const [name, id] of Object.entries(ids)) {
    const res = await app.inject({ method: 'POST', url: `/api/webhooks/${id}/test`, headers: auth })
    t.equal(res.statusCode, 200)
    const entry = res.json()
    sent[name] = [entry.status_code, entry.success, entry.error]
  }
  t.same(sent, {
    metadata: [null, false, 'ERR_WEBHOOK_TARGET_REFUSED: metadata.test is resolved to 169.254.169.254, a link-local, metadata or unspecified address; not connecting'],
    loop: [null, false, 'ERR_WEBHOOK_TARGET_REFUSED: loop.test is resolved to 127.0.0.1, a loopback address; not connecting'],
    mixed: [null, false, 'ERR_WEBHOOK_TARGET_REFUSED: mixed.test is resolved to ::1, a loopback address; not connecting'],
    lan: [204, true, null],
    literal: [null, false, 'ERR_WEBHOOK_TARGET_REFUSED: 169.254.169.254 is a link-local, metadata or unspecified address; not connecting']
  })
  t.same(asked.sort(), ['lan.test', 'loop.test', 'metadata.test', 'mixed.test'], 'names were resolved when sending')
  t.same(mock.pendingInterceptors(), [], 'the allowed target was reached through the injected dispatcher')
})
