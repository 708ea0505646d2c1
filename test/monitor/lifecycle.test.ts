import t from 'tap'
import { buildApp, type App } from '../../app.ts'
import { loadConfig } from '../../plugins/config.ts'
import { ADMIN_KEY, TEST_SECRET, authHeaders, testDatabase } from '../helper.ts'
import { FakeEcast } from '../fixtures/fake-ecast.ts'
import { until } from '../fixtures/event-log.ts'

// Two apps in turn on one database (a PGlite directory, or a database on TEST_DATABASE_URL's server): the first is
// shut down mid-watch, the second must resume the watch the database still marks as `checking`.
t.test('shutdown closes every socket; a restart resumes checking games', async (t) => {
  const fake = await FakeEcast.start()
  t.teardown(() => fake.close())
  const dbEnv = await testDatabase(t, { onDisk: true })
  const boot = async () => {
    const app = buildApp(loadConfig({
      LOG_LEVEL: 'silent', JWT_SECRET: TEST_SECRET, ADMIN_KEY, ECAST_BASE_URL: fake.url, ECAST_POLL_INTERVAL_MS: '200', ...dbEnv
    }))
    await app.ready()
    return app
  }
  const row = (app: App, id: number) => app.db.selectFrom('session_games')
    .select(['player_count', 'player_count_check_status']).where('id', '=', id).executeTakeFirstOrThrow()

  fake.createRoom('RSME')
  fake.createRoom('OTHR')
  fake.addPlayer('RSME', 'alice')
  fake.addPlayer('RSME', 'bob')
  fake.addPlayer('OTHR', 'carol')

  const first = await boot()
  let closed = false
  t.teardown(async () => { if (!closed) await first.close() })
  const auth = authHeaders(first)
  const session = await first.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: {} })
  const sessionId = session.json().id as number
  const added = await first.inject({ method: 'POST', url: `/api/sessions/${sessionId}/games`, headers: auth, payload: { game_id: 9, room_code: 'RSME' } })
  const sessionGameId = added.json().id as number
  // A game no longer playing is not resumed even if its status says checking.
  const old = await first.db.insertInto('session_games')
    .values({ session_id: sessionId, game_id: 4, room_code: 'OTHR', status: 'played', player_count_check_status: 'checking' })
    .returning('id').executeTakeFirstOrThrow()
  await until('the first count', async () => (await row(first, sessionGameId)).player_count === 2)
  await until('the audience socket', () => fake.openSockets() === 1)

  await first.close()
  closed = true
  await until('every socket closed', () => fake.openSockets() === 0, 5000)
  const polls = fake.totalRequests()
  await new Promise((resolve) => setTimeout(resolve, 600))
  t.equal(fake.totalRequests(), polls, 'no poll after shutdown')

  fake.addPlayer('RSME', 'dave')
  const second = await boot()
  t.teardown(() => second.close())
  t.same(second.roomMonitor.watching(), new Map([[sessionGameId, 'RSME']]), 'only the playing, checking game resumes')
  await until('the count after the restart', async () => (await row(second, sessionGameId)).player_count === 3)
  t.same(await row(second, sessionGameId), { player_count: 3, player_count_check_status: 'checking' })
  t.same(await row(second, old.id), { player_count: null, player_count_check_status: 'checking' })
  t.equal(fake.rooms.get('OTHR')!.sockets.size, 0)
})
