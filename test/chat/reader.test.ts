import t from 'tap'
import { build, resetDb, authHeaders, testDatabase } from '../helper.ts'
import { FakeTwitch } from '../fixtures/fake-twitch.ts'
import { LiveSocket } from '../fixtures/live-client.ts'
import { insertSession, insertSessionGame, findGame } from '../fixtures/votes.ts'
import { twitchClientTarget } from '../../chat/twitch-url.ts'

/** Polls `check` until it returns something truthy; fails (throws) after `ms`. */
async function waitFor<T> (what: string, check: () => Promise<T> | T, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

t.test('TWITCH_CHAT_URL maps onto what @twurple/chat 8 takes', async (t) => {
  t.same(twitchClientTarget('wss://irc-ws.chat.twitch.tv:443'), { hostName: 'irc-ws.chat.twitch.tv', ssl: true, webSocket: true })
  t.same(twitchClientTarget('wss://irc-ws.chat.twitch.tv'), { hostName: 'irc-ws.chat.twitch.tv', ssl: true, webSocket: true })
  t.same(twitchClientTarget('ws://127.0.0.1:4567'), { hostName: '127.0.0.1:4567/', ssl: false, webSocket: true })
  t.same(twitchClientTarget('wss://proxy.example:8443/'), { hostName: 'proxy.example:8443/', ssl: true, webSocket: true })
})

t.test('a Twitch chat source, read by the real service from a fake Twitch chat', async (t) => {
  const fake = await FakeTwitch.start()
  t.teardown(() => fake.close())
  const app = await build(t, { TWITCH_CHAT_URL: fake.url }, {
    chatReader: { beatMs: 100, leaseTtlMs: 1000, flushMs: 50, minBackoffMs: 50, maxBackoffMs: 400 }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const admin = authHeaders(app)
  t.beforeEach(() => resetDb(app))

  const api = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) => {
    const res = await app.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) })
    return { status: res.statusCode, body: res.body ? res.json() : undefined }
  }
  const source = async (id: number) => (await api('GET', `/api/chat-sources/${id}`)).body
  const addSource = async (channel: string) => {
    const res = await api('POST', '/api/chat-sources', { platform: 'twitch', channel })
    if (res.status !== 201) throw new Error(`could not add a chat source: ${res.status} ${JSON.stringify(res.body)}`)
    return res.body as { id: number }
  }
  const connected = (id: number, channel: string) => waitFor(`${channel} connected`, async () =>
    fake.inChannel(channel) === 1 && (await source(id)).status === 'connected')
  /** An active session whose game 5 has been playing for a minute; `live`: a subscribed live client. */
  const night = async () => {
    const session = await insertSession(app)
    await insertSessionGame(app, session.id, 5, new Date(Date.now() - 60_000).toISOString(), { status: 'playing' })
    const live = await LiveSocket.open(t, `ws://127.0.0.1:${port}/api/sessions/live`)
    t.same(await live.request({ type: 'auth', token: app.jwt.sign({ role: 'admin' }) }), { type: 'auth_success' })
    t.same(await live.request({ type: 'subscribe', sessionId: session.id }), { type: 'subscribed', sessionId: session.id })
    return { session, live }
  }
  const voter = (event: Record<string, unknown>) => (event.data as { vote: { username: string } }).vote.username
  const votes = async () => (await api('GET', '/api/votes?limit=100')).body as { votes: { username: string, vote_type: string }[] }

  t.test('votes typed in the channel are live votes: stored, counted, broadcast; other messages are not', async (t) => {
    const { id } = await addSource('jackbox_night')
    await connected(id, 'jackbox_night')
    const { live } = await night()
    const before = await findGame(app, 5)
    const now = Date.now()
    fake.say('jackbox_night', 'alice', 'THISGAME++ love it', { sentAt: now })
    fake.say('jackbox_night', 'carol', 'hello chat', { sentAt: now })
    fake.say('jackbox_night', 'bob', 'meh thisgame-- no wait thisgame++', { sentAt: now + 10 })

    // Two chatters' votes are cast side by side, so they may commit (and be broadcast) in either order.
    const received = (await live.take(2)).sort((a, b) => voter(a).localeCompare(voter(b)))
    t.match(received, [
      { type: 'vote.received', data: { vote: { username: 'alice', type: 'up', timestamp: new Date(now).toISOString() }, game: { id: 5 } } },
      { type: 'vote.received', data: { vote: { username: 'bob', type: 'down', timestamp: new Date(now + 10).toISOString() }, game: { id: 5 } } }
    ])
    t.same((await votes()).votes.map((v) => [v.username, v.vote_type]), [['bob', 'down'], ['alice', 'up']])
    const after = await findGame(app, 5)
    t.same([after.upvotes - before.upvotes, after.downvotes - before.downvotes], [1, 1])
    const row = await waitFor('last_message_at', async () => { const s = await source(id); return s.last_message_at && s })
    t.match(row, { status: 'connected', status_message: null, votes_counted: 2, votes_refused: 0, last_message_at: new Date(now + 10).toISOString() })
    const metrics = await app.inject({ method: 'GET', url: '/metrics' })
    t.match(metrics.body, /chat_source_messages_total\{source="twitch\/jackbox_night"\} 3/)
    t.match(metrics.body, /chat_source_votes_total\{source="twitch\/jackbox_night",result="counted"\} 2/)
  })

  t.test('votes the rules refuse are dropped and counted; the connection stays', async (t) => {
    const { id } = await addSource('refusals')
    await connected(id, 'refusals')
    const { session, live } = await night()
    const now = Date.now()
    fake.say('refusals', 'alice', 'thisgame++', { sentAt: now })
    fake.say('refusals', 'alice', 'thisgame-- changed my mind', { sentAt: now + 400 }) // the same chatter within a second
    fake.say('refusals', 'dave', 'thisgame++', { sentAt: now - 3_600_000 }) // no game playing an hour ago
    t.match(await live.next(), { type: 'vote.received', data: { vote: { username: 'alice', type: 'up' } } })
    await waitFor('two refused', async () => (await source(id)).votes_refused === 2)
    await app.db.updateTable('sessions').set({ is_active: 0, closed_at: new Date() }).where('id', '=', session.id).execute()
    fake.say('refusals', 'erin', 'thisgame++', { sentAt: Date.now() }) // no active session
    await waitFor('three refused', async () => (await source(id)).votes_refused === 3)
    t.match(await source(id), { status: 'connected', votes_counted: 1, votes_refused: 3 })
    t.equal(fake.joins('refusals'), 1, 'never reconnected')
    t.same((await votes()).votes.map((v) => v.username), ['alice'])
    const metrics = await app.inject({ method: 'GET', url: '/metrics' })
    t.match(metrics.body, /chat_source_votes_total\{source="twitch\/refusals",result="refused"\} 3\n/)
    t.match(metrics.body, /chat_source_votes_total\{source="twitch\/refusals",result="counted"\} 1\n/)
  })

  t.test('a server-side close and a RECONNECT are survived: nothing lost that the server re-sends, nothing counted twice', async (t) => {
    const { id } = await addSource('flaky')
    await connected(id, 'flaky')
    const { live } = await night()
    fake.replayOnJoin = 3 // every JOIN re-sends the last three messages delivered before it
    t.teardown(() => { fake.replayOnJoin = 0 })
    let at = Date.now()
    const typed: string[] = []
    const vote = (who: string) => { typed.push(who); fake.say('flaky', who, 'thisgame++', { sentAt: at += 5 }) }
    vote('v1')
    vote('v2')
    await live.take(2)

    fake.drop()
    vote('v3') // typed while no one reads the channel: delivered at the next JOIN
    vote('v4')
    await waitFor('rejoined after the close', () => fake.joins('flaky') === 2 && fake.inChannel('flaky') === 1)
    await live.take(2)
    vote('v5')
    await live.take(1)

    fake.reconnect()
    vote('v6')
    await waitFor('rejoined after RECONNECT', () => fake.joins('flaky') === 3 && fake.inChannel('flaky') === 1)
    await live.take(1)
    await connected(id, 'flaky')
    await live.assertNothingPending(t, 'no vote counted twice')
    t.same((await votes()).votes.map((v) => v.username).sort(), typed.sort())
    t.match(await source(id), { votes_counted: 6, votes_refused: 0 })
  })

  t.test("the server's PING is answered with PONG (Twitch drops a connection that stays silent)", async (t) => {
    const { id } = await addSource('pinged')
    await connected(id, 'pinged')
    const before = fake.received.length
    fake.ping()
    await waitFor('a PONG', () => fake.received.slice(before).some((line) => /^PONG :?tmi\.twitch\.tv$/.test(line)))
    t.match(await source(id), { status: 'connected' })
    t.equal(fake.joins('pinged'), 1, 'the same connection')
  })

  t.test('a channel the platform refuses is an error status in its words, retried with backoff', async (t) => {
    fake.refusals.set('gone_channel', { msgId: 'msg_channel_suspended', text: 'This channel does not exist or has been suspended.' })
    fake.refusals.set('banned_here', { msgId: 'msg_banned', text: 'You are permanently banned from talking in banned_here.' })
    const gone = await addSource('gone_channel')
    const banned = await addSource('banned_here')
    await waitFor('errors', async () => (await source(gone.id)).status === 'error' && (await source(banned.id)).status === 'error')
    t.match(await source(gone.id), { status: 'error', status_message: 'This channel does not exist or has been suspended.' })
    t.match(await source(banned.id), { status: 'error', status_message: 'You are permanently banned from talking in banned_here.' })
    await waitFor('a retry', () => fake.joins('gone_channel') >= 2)
    fake.refusals.delete('gone_channel')
    await connected(gone.id, 'gone_channel')
  })

  t.test('disabling or deleting a source closes its connection; enabling opens it again', async (t) => {
    const { id } = await addSource('toggled')
    await connected(id, 'toggled')
    t.match((await api('PATCH', `/api/chat-sources/${id}`, { enabled: false })).body, { enabled: 0, status: 'disabled' })
    await waitFor('the connection closed', () => fake.inChannel('toggled') === 0)
    await night()
    fake.say('toggled', 'zed', 'thisgame++')
    await new Promise((resolve) => setTimeout(resolve, 300))
    t.match(await source(id), { status: 'disabled', votes_counted: 0 })
    t.equal(fake.joins('toggled'), 1)

    await api('PATCH', `/api/chat-sources/${id}`, { enabled: true })
    await connected(id, 'toggled')
    t.equal(fake.joins('toggled'), 2)
    t.equal((await api('DELETE', `/api/chat-sources/${id}`)).status, 204)
    await waitFor('the connection closed', () => fake.inChannel('toggled') === 0)
    t.same(app.chatReader.reading(), [])
  })

  t.test('shutdown closes every connection', async (t) => {
    const { id } = await addSource('last_one')
    await connected(id, 'last_one')
    await app.close()
    t.equal(fake.inChannel('last_one'), 0)
    t.ok(fake.received.includes('QUIT'), 'the client said QUIT before closing')
  })
})

t.test('enabled sources start at boot, a disabled one does not; a graceful stop lets the channel go at once', async (t) => {
  const fake = await FakeTwitch.start()
  t.teardown(() => fake.close())
  // On disk (or one PostgreSQL database), so a second boot finds the sources the first one stored.
  const dbEnv = await testDatabase(t, { onDisk: true })
  const boot = () => build(t, { TWITCH_CHAT_URL: fake.url, ...dbEnv }, { chatReader: { beatMs: 100, leaseTtlMs: 1000, flushMs: 50 } })
  const first = await boot()
  const add = async (channel: string) => {
    const res = await first.inject({ method: 'POST', url: '/api/chat-sources', headers: authHeaders(first), payload: { platform: 'twitch', channel } })
    if (res.statusCode !== 201) throw new Error(`could not add a chat source: ${res.statusCode} ${res.body}`)
    return res.json() as { id: number }
  }
  await add('at_boot')
  const off = await add('kept_off')
  const patched = await first.inject({ method: 'PATCH', url: `/api/chat-sources/${off.id}`, headers: authHeaders(first), payload: { enabled: false } })
  t.equal(patched.statusCode, 200)
  await waitFor('the enabled source read', () => fake.inChannel('at_boot') === 1 && fake.inChannel('kept_off') === 0)
  await first.close()
  t.equal(fake.inChannel('at_boot'), 0, 'the first process closed its connection')
  const offJoins = fake.joins('kept_off')

  await boot()
  // Its lease was let go at the stop, so the next boot takes the channel at its first beat.
  await waitFor('the enabled source read again after the boot', () => fake.inChannel('at_boot') === 1, 5000)
  t.equal(fake.joins('at_boot'), 2)
  await new Promise((resolve) => setTimeout(resolve, 500)) // a few beats
  t.equal(fake.joins('kept_off'), offJoins, 'the disabled source stays closed')
})
