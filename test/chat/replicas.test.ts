import t from 'tap'
import { FakeTwitch } from '../fixtures/fake-twitch.ts'
import { until } from '../fixtures/event-log.ts'
import { adminToken, api, pgClient, replicasSkip, startReplicas } from '../server-process.ts'

// Three real service processes (server.ts) on one PostgreSQL database read one Twitch channel as one service. PGlite
// is one process by design, so this file needs TEST_DATABASE_URL.
const FAILOVER_MS = 10_000

t.test('three processes read a chat source as one', { skip: replicasSkip() }, async (t) => {
  const fake = await FakeTwitch.start()
  t.teardown(() => fake.close())
  const { servers, databaseUrl } = await startReplicas(t, 3, { TWITCH_CHAT_URL: fake.url, LOG_LEVEL: 'info' })
  const [a, b] = servers
  const db = await pgClient(t, databaseUrl)
  const token = await adminToken(a)

  // "One connection per channel at any moment", sampled every few milliseconds for the whole test.
  let most = 0
  const sampler = setInterval(() => { most = Math.max(most, fake.inChannel('party_night')) }, 5)
  t.teardown(() => clearInterval(sampler))

  const session = await api(a, '/api/sessions', { method: 'POST', token, body: {} })
  t.equal(session.status, 201)
  const game = await api(b, `/api/sessions/${session.body.id}/games`, { method: 'POST', token, body: { game_id: 7 } })
  t.equal(game.status, 201)
  const before = (await api(a, '/api/games/7')).body
  const created = await api(b, '/api/chat-sources', { method: 'POST', token, body: { platform: 'twitch', channel: 'Party_Night' } })
  t.equal(created.status, 201)
  await until('one process in the channel', () => fake.inChannel('party_night') === 1, 15_000)

  let accepted = 0
  let at = Date.now() + 1000
  const chat = (n: number, prefix: string) => {
    for (let i = 0; i < n; i++) {
      fake.say('party_night', `${prefix}${i}`, i % 3 ? 'thisgame++' : 'THISGAME-- nope', { sentAt: at += 3 })
      accepted++
      // The same chatter again within a second: refused by the rules, in every process alike.
      if (i % 5 === 0) fake.say('party_night', `${prefix}${i}`, 'thisgame++ again', { sentAt: at + 100 })
    }
  }
  chat(20, 'early')
  const counted = async () => Number((await db.query('select count(*) from live_votes where chat_source_id = $1', [created.body.id])).rows[0].count)
  await until('the first votes counted', async () => await counted() === accepted, 15_000)
  await new Promise((resolve) => setTimeout(resolve, 1500)) // a few heartbeats: nobody else joins a held channel
  t.equal(fake.joins('party_night'), 1, 'joined once, by one process')

  const owner = (await db.query('select lease_owner from chat_sources where id = $1', [created.body.id])).rows[0].lease_owner as string
  const holder = servers.find((server) => owner.includes(`-${server.pid}-`))
  if (!holder) throw new Error(`no process holds the source (${owner})`)
  // The new owner's JOIN re-sends the last messages the dead one read: they must not count again.
  fake.replayOnJoin = 10
  holder.kill('SIGKILL')
  const killedAt = Date.now()
  await holder.exited
  chat(5, 'gap') // typed while no one reads: delivered at the next JOIN
  await until('another process in the channel', () => fake.inChannel('party_night') === 1, FAILOVER_MS + 5000)
  const failover = Date.now() - killedAt
  t.ok(failover < FAILOVER_MS, `the channel moved ${failover} ms after the SIGKILL (at most ${FAILOVER_MS} ms)`)
  t.equal(fake.joins('party_night'), 2)
  const survivor = servers.find((server) => server !== holder)!
  chat(10, 'late')
  await until('every accepted vote counted', async () => await counted() >= accepted, 15_000)
  await new Promise((resolve) => setTimeout(resolve, 1000))

  t.equal(await counted(), accepted, 'each accepted vote counted once')
  const votes = await api(survivor, '/api/votes?limit=1', {})
  t.equal(votes.body.pagination.total, accepted)
  const played = (await api(survivor, '/api/games/7')).body
  t.equal(played.upvotes + played.downvotes - before.upvotes - before.downvotes, accepted, 'the game\'s counters')
  // The status is written by the holder a moment after it joined (once, under load, the votes were in first).
  const status = async () => (await api(survivor, `/api/chat-sources/${created.body.id}`, { token })).body.status
  await until('the new holder says connected', async () => await status() === 'connected', 10_000)
  const source = await api(survivor, `/api/chat-sources/${created.body.id}`, { token })
  t.match(source.body, { status: 'connected', votes_counted: accepted })
  t.ok(source.body.votes_refused >= 7, `refused votes counted (${source.body.votes_refused})`)
  t.equal(most, 1, 'never two connections in the channel at once')
})
