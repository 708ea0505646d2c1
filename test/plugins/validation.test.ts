import t from 'tap'
import { build, resetDb, authHeaders } from '../helper.ts'

// Input edges: flags accept true/false as well as 0/1 and answer 0/1; an unknown body field is
// a 400 naming it, and nothing is written.
t.test('input edges', async (t) => {
  const app = await build(t)
  t.beforeEach(() => resetDb(app))
  const headers = authHeaders(app)
  const inject = (method: 'POST' | 'PATCH' | 'PUT', url: string, payload: unknown) => app.inject({ method, url, headers, payload: payload as object })

  t.test('webhook enabled: true/false and 0/1 in, 0/1 out', async (t) => {
    const created = await inject('POST', '/api/webhooks', { name: 'overlay', url: 'http://192.168.1.50/hook', events: ['game.added'], enabled: false })
    t.equal(created.statusCode, 201)
    const { id } = created.json()
    t.equal(created.json().enabled, 0)
    for (const [enabled, stored] of [[true, 1], [false, 0], [1, 1], [0, 0]] as const) {
      const res = await inject('PATCH', `/api/webhooks/${id}`, { enabled })
      t.equal(res.statusCode, 200, `enabled: ${enabled}`)
      t.equal(res.json().enabled, stored, `enabled: ${enabled} is stored as ${stored}`)
    }
    for (const enabled of ['yes', 2, null]) {
      const res = await inject('PATCH', `/api/webhooks/${id}`, { enabled })
      t.equal(res.statusCode, 400)
      t.same(res.json(), { error: 'enabled must be 0, 1, true or false' })
    }
  })

  t.test('game flags: true/false and 0/1 in, 0/1 out', async (t) => {
    const res = await inject('POST', '/api/games', {
      pack_name: 'Test Pack', title: 'Flag Game', min_players: 2, max_players: 8, has_audience: true, family_friendly: 1, drawing: false, enabled: true
    })
    t.equal(res.statusCode, 201)
    t.match(res.json(), { has_audience: 1, family_friendly: 1, drawing: 0, enabled: 1 })
    const put = await inject('PUT', `/api/games/${res.json().id}`, {
      pack_name: 'Test Pack', title: 'Flag Game', min_players: 2, max_players: 8, has_audience: false, family_friendly: true, drawing: 1, enabled: 0
    })
    t.equal(put.statusCode, 200)
    t.match(put.json(), { has_audience: 0, family_friendly: 1, drawing: 1, enabled: 0 })
    const bad = await inject('POST', '/api/games', { pack_name: 'Test Pack', title: 'Other', min_players: 2, max_players: 8, drawing: 'no' })
    t.same(bad.json(), { error: 'drawing must be 0, 1, true or false' })
  })

  t.test('pack toggle: 0/1 as well as true/false', async (t) => {
    const pack = 'The Jackbox Party Pack 3'
    const off = await inject('PATCH', `/api/games/packs/${encodeURIComponent(pack)}/toggle`, { enabled: 0 })
    t.equal(off.statusCode, 200)
    t.match(off.json(), { pack, enabled: false })
    const on = await inject('PATCH', `/api/games/packs/${encodeURIComponent(pack)}/toggle`, { enabled: true })
    t.match(on.json(), { pack, enabled: true })
    const packs = (await app.inject('/api/games/packs')).json() as Array<{ name: string, total: number, enabled: number }>
    const row = packs.find((p) => p.name === pack)
    t.ok(row)
    t.equal(row?.enabled, row?.total)
  })

  t.test('manually_added: true/false and 0/1 in, 0/1 out', async (t) => {
    const session = (await inject('POST', '/api/sessions', {})).json()
    for (const [manually, stored] of [[true, 1], [0, 0], [false, 0], [1, 1]] as const) {
      const res = await inject('POST', `/api/sessions/${session.id}/games`, { game_id: 1, manually_added: manually })
      t.equal(res.statusCode, 201)
      t.equal(res.json().manually_added, stored, `manually_added: ${manually}`)
    }
  })

  t.test('an unknown body field is a 400 naming it, and nothing is written', async (t) => {
    const res = await inject('POST', '/api/sessions', { note: 'typo' })
    t.equal(res.statusCode, 400)
    t.same(res.json(), { error: "Unknown field 'note' in the request body" })
    t.same((await app.inject('/api/sessions')).json(), [])

    const webhook = await inject('POST', '/api/webhooks', { name: 'w', url: 'http://192.168.1.50/hook', events: ['game.added'], enabeld: 1 })
    t.same(webhook.json(), { error: "Unknown field 'enabeld' in the request body" })
    const pick = await app.inject({ method: 'POST', url: '/api/pick', payload: { playerCount: 4, players: 4 } })
    t.same(pick.json(), { error: "Unknown field 'players' in the request body" })
  })
})
