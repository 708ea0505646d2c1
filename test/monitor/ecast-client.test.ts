import t from 'tap'
import { once } from 'node:events'
import { Agent } from 'undici'
import WebSocket from 'ws'
import { EcastClient, EcastError } from '../../monitor/ecast-client.ts'
import { audienceUrl, openAudienceSocket } from '../../monitor/audience-socket.ts'
import type { Welcome } from '../../monitor/ecast-frames.ts'
import { FakeEcast } from '../fixtures/fake-ecast.ts'
import { until } from '../fixtures/event-log.ts'

t.test('ecast REST client and audience socket against the fake ecast', async (t) => {
  const fake = await FakeEcast.start()
  const agent = new Agent()
  t.teardown(async () => {
    await agent.close()
    await fake.close()
  })
  const client = new EcastClient({ baseUrl: fake.url, dispatcher: agent, timeoutMs: 300 })
  const signal = new AbortController().signal

  t.test('room info, connections, and 404 as null', async (t) => {
    fake.createRoom('ABCD', { maxPlayers: 10, audience: 2 })
    fake.addPlayer('ABCD', 'alice')
    t.same(await client.getRoom('ABCD', signal), {
      appTag: 'drawful2international',
      audienceEnabled: true,
      code: 'ABCD',
      host: fake.host,
      audienceHost: fake.host,
      locked: false,
      maxPlayers: 10,
      minPlayers: 0
    })
    t.equal(await client.getConnections('ABCD', signal), 4, 'host + player + 2 audience')
    t.equal(await client.getRoom('ZZZZ', signal), null)
    t.equal(await client.getConnections('ZZZZ', signal), null)
  })

  t.test('500s, malformed JSON, resets and timeouts are EcastErrors', async (t) => {
    fake.createRoom('FALT')
    fake.fault({ kind: 'status500' }, { kind: 'malformed' }, { kind: 'reset' }, { kind: 'delay', ms: 1000 })
    await t.rejects(client.getRoom('FALT', signal), new EcastError('ecast GET /api/v2/rooms/FALT answered 500', 500))
    await t.rejects(client.getConnections('FALT', signal), { message: 'ecast GET /api/v2/rooms/FALT/connections answered malformed JSON' })
    await t.rejects(client.getRoom('FALT', signal), { name: 'EcastError', statusCode: null })
    await t.rejects(client.getRoom('FALT', signal), { message: 'ecast GET /api/v2/rooms/FALT failed: timed out after 300 ms' })
    t.same((await client.getRoom('FALT', signal))?.code, 'FALT', 'works again after the faults')
  })

  t.test('an abort by the caller is not an EcastError', async (t) => {
    fake.createRoom('ABRT')
    fake.fault({ kind: 'delay', ms: 200 })
    const controller = new AbortController()
    const pending = client.getRoom('ABRT', controller.signal)
    controller.abort()
    const err = await pending.catch((e: unknown) => e)
    t.notOk(err instanceof EcastError)
  })

  t.test('the audience socket: welcome with entities and here null, get-audience counting itself', async (t) => {
    fake.createRoom('SOCK', { audience: 3 })
    const url = audienceUrl(fake.url, fake.host, 'SOCK')
    t.equal(url, `ws://${fake.host}/api/v2/audience/SOCK/play`)
    t.equal(audienceUrl('https://ecast.jackboxgames.com', 'ecast-prod-use2.jackboxgames.com', 'SOCK'),
      'wss://ecast-prod-use2.jackboxgames.com/api/v2/audience/SOCK/play')
    let welcome: Welcome | undefined
    const entities: string[] = []
    const closed: string[] = []
    const socket = openAudienceSocket(url, {
      welcome: (w) => { welcome = w },
      entity: (e) => entities.push(e.key),
      closed: (reason) => closed.push(reason)
    })
    await until('the welcome', () => welcome !== undefined)
    if (!welcome) throw new Error('no welcome')
    t.ok(welcome.id > 4_000_000_000, 'an audience id')
    t.equal(welcome.here, null)
    t.same(Object.keys(welcome.entities).sort(), ['audience', 'audiencePlayer', 'room', 'textDescriptions'])
    t.same(welcome.entities.audience, { key: 'audience', val: undefined, version: undefined, count: 3 })
    t.equal(await socket.audienceCount(2000), 4)
    fake.addPlayer('SOCK', 'alice')
    fake.addPlayer('SOCK', 'bob')
    await until('three updates', () => entities.length >= 3)
    t.same(entities, ['textDescriptions', 'textDescriptions', 'room'], 'two joins, then the lobby state they changed')
    t.equal(fake.connections('SOCK'), 1 + 2 + 3 + 1)
    await socket.close()
    t.equal(fake.rooms.get('SOCK')!.sockets.size, 0, 'closed gracefully')
    t.same(closed, [], 'closing it ourselves is not reported as a loss')
    t.equal(await socket.audienceCount(100), null)
  })

  t.test('the fake insists on the ecast-v0 subprotocol (error 2000)', async (t) => {
    fake.createRoom('PROT')
    const ws = new WebSocket(`ws://${fake.host}/api/v2/audience/PROT/play`, { headers: { Origin: 'https://jackbox.tv' } })
    const [raw] = await once(ws, 'message')
    t.match(JSON.parse(raw.toString()), { opcode: 'error', result: { code: 2000, msg: 'missing Sec-WebSocket-Protocol header' } })
    await once(ws, 'close')
  })

  t.test('a dropped socket is reported once', async (t) => {
    fake.createRoom('DROP')
    const closed: string[] = []
    let welcomed = false
    openAudienceSocket(audienceUrl(fake.url, fake.host, 'DROP'), {
      welcome: () => { welcomed = true },
      entity: () => {},
      closed: (reason) => closed.push(reason)
    })
    await until('the welcome', () => welcomed)
    fake.dropSockets('DROP')
    await until('the close', () => closed.length > 0)
    await new Promise((resolve) => setTimeout(resolve, 20))
    t.equal(closed.length, 1)
    t.match(closed[0], /^closed with 1006/)
  })
})
