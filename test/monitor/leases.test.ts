import t, { type Test } from 'tap'
import pg from 'pg'
import { build, resetDb } from '../helper.ts'
import { until } from '../fixtures/event-log.ts'
import { RoomLeases } from '../../monitor/leases.ts'
import { recordMonitorCount, recordRoomEvents } from '../../domain/player-check.ts'
import type { App } from '../../app.ts'

// Two keepers with different owners on one database stand for two processes (the lease logic is all in SQL, so one
// app's connection serves both). The real-process failover is in test/replicas.test.ts.
const app = await build(t)
// The app's own room monitor would take free leases too: only the keepers below may.
await app.roomMonitor.stopAll()
const silent = { info () {}, warn () {} }

interface Keeper { leases: RoomLeases, acquired: number[], lost: { sessionGameId: number, deleted: boolean }[] }

function keeper (t: Test, app: App, owner: string, ttlMs: number): Keeper {
  const k: Keeper = { leases: undefined as unknown as RoomLeases, acquired: [], lost: [] }
  k.leases = new RoomLeases({
    db: app.db,
    listen: app.dbListen,
    owner,
    ttlMs,
    log: silent,
    async acquired (taken) { k.acquired.push(...taken.map((l) => l.sessionGameId)) },
    async lost (lost) { k.lost.push(...lost) }
  })
  t.teardown(() => k.leases.stop({ release: false }))
  return k
}

/** Keepers A and B, started, whose leases last a minute (neither expires during a test). */
async function twoKeepers (t: Test): Promise<[Keeper, Keeper]> {
  const a = keeper(t, app, 'A', 60_000)
  const b = keeper(t, app, 'B', 60_000)
  await a.leases.start()
  await b.leases.start()
  return [a, b]
}

// One session each: a session has one playing game at a time.
async function sessionGames (count: number): Promise<number[]> {
  const ids: number[] = []
  for (let i = 0; i < count; i++) {
    const session = await app.db.insertInto('sessions').values({ is_active: 0 }).returning('id').executeTakeFirstOrThrow()
    const row = await app.db.insertInto('session_games').values({ session_id: session.id, game_id: i + 1, room_code: `R${i}AA` })
      .returning('id').executeTakeFirstOrThrow()
    ids.push(row.id)
  }
  return ids
}

const owners = () => app.db.selectFrom('room_leases').select(['session_game_id', 'room_code', 'owner']).orderBy('session_game_id').execute()

t.beforeEach(() => resetDb(app, { catalog: true }))

t.test('a claim holds against another live owner of the same room; a new room code takes it over', async (t) => {
  const [id] = await sessionGames(1)
  const [a, b] = await twoKeepers(t)
  t.match(await a.leases.claim(id, 'ROOM'), { claimed: true, fence: String, displaced: [] })
  t.same(await b.leases.claim(id, 'ROOM'), { claimed: false }, 'A watches that room already')
  t.same([...b.leases.owned], [])
  t.match(await b.leases.claim(id, 'NEWC'), { claimed: true, fence: String, displaced: [] }, 'the room code changed: B restarts the watch')
  await until('A hears it lost the lease', () => a.lost.length === 1, 5000)
  t.same(a.lost, [{ sessionGameId: id, deleted: false }])
  t.same([...a.leases.owned], [])
  t.same(await owners(), [{ session_game_id: id, room_code: 'NEWC', owner: 'B' }])
})

t.test('one lease per room code: claiming it for another session game displaces the first', async (t) => {
  const [first, second] = await sessionGames(2)
  const [a, b] = await twoKeepers(t)
  await a.leases.claim(first, 'SAME')
  t.match(await b.leases.claim(second, 'SAME'), { claimed: true, fence: String, displaced: [first] })
  await until('A hears its lease was deleted', () => a.lost.length === 1, 5000)
  t.same(a.lost, [{ sessionGameId: first, deleted: true }])
  t.same(await owners(), [{ session_game_id: second, room_code: 'SAME', owner: 'B' }])
})

t.test('a dead owner\'s leases are taken once expired, each by exactly one of the others', async (t) => {
  const ids = await sessionGames(6)
  // DEAD's leases outlive the claims and the others' start by far, even on a loaded machine; B and C beat every 100 ms.
  const dead = keeper(t, app, 'DEAD', 1500)
  for (const id of ids) await dead.leases.claim(id, `C${id}`)
  const b = keeper(t, app, 'B', 400)
  const c = keeper(t, app, 'C', 400)
  const started = Date.now()
  await b.leases.start()
  await c.leases.start()
  t.same(b.acquired.length + c.acquired.length, 0, 'nothing is taken while the lease is live')
  // DEAD never renews (no start): its leases expire 1500 ms after the claims.
  await until('every room taken over', () => b.acquired.length + c.acquired.length === ids.length, 5000)
  t.ok(Date.now() - started < 1500 + 2 * 100 + 1000, 'within the lease plus a beat (with slack for a loaded machine)')
  t.same([...b.acquired, ...c.acquired].sort((x, y) => x - y), ids, 'each room once')
  const rows = await owners()
  t.same(rows.filter((r) => r.owner === 'DEAD'), [])
  t.same(rows.filter((r) => r.owner === 'B').map((r) => r.session_game_id).sort(), [...b.acquired].sort())
  await new Promise((resolve) => setTimeout(resolve, 600))
  t.same(b.lost.concat(c.lost), [], 'the new owners keep them: their heartbeat renews')
})

t.test('a graceful stop hands the leases over at once (NOTIFY, not expiry)', async (t) => {
  const ids = await sessionGames(2)
  const [a, b] = await twoKeepers(t)
  for (const id of ids) await a.leases.claim(id, `C${id}`)
  await a.leases.stop()
  // The leases would last a minute and B beats every 15 s: only the release's notification can wake B in time.
  await until('B takes both', () => b.acquired.length === 2, 5000)
  t.same(b.acquired.sort(), ids)
  t.same((await owners()).map((r) => r.owner), ['B', 'B'])
})

t.test('a dropped lease is gone for good; `any` drops another owner\'s, which hears it was deleted', async (t) => {
  const [mine, theirs] = await sessionGames(2)
  const [a, b] = await twoKeepers(t)
  await a.leases.claim(mine, 'MINE')
  await a.leases.claim(theirs, 'THRS')
  await b.leases.drop(mine)
  t.same((await owners()).length, 2, 'without `any`, only the own lease is dropped')
  await b.leases.drop(theirs, { any: true })
  await until('A hears it', () => a.lost.length === 1, 5000)
  t.same(a.lost, [{ sessionGameId: theirs, deleted: true }])
  await a.leases.drop(mine)
  t.same(await owners(), [])
  t.same(b.acquired, [], 'nothing to take over')
})

t.test('writes under a lease hold only while its row has the same owner and fence: a takeover or a new claim fences the old holder off', async (t) => {
  const [id] = await sessionGames(1)
  await app.db.updateTable('session_games').set({ player_count_check_status: 'checking' }).where('id', '=', id).execute()
  const { session_id: sessionId } = await app.db.selectFrom('session_games').select('session_id').where('id', '=', id).executeTakeFirstOrThrow()
  const room = { sessionId, sessionGameId: id, roomCode: 'FNCE' }
  const a = keeper(t, app, 'A', 100)
  const first = await a.leases.claim(id, 'FNCE')
  if (!first.claimed) throw new Error('not claimed')
  const held = a.leases.held(id)!
  t.same(held, { owner: 'A', fence: first.fence })
  t.equal(await recordRoomEvents(app.db, room, [{ type: 'room.connected', data: { appTag: 'x', maxPlayers: 8 } }], held), true, 'written while held')
  t.equal(await recordMonitorCount(app.db, room, 2, 'checking', held), true)

  // A never renews: its lease expires and B takes it over.
  const b = keeper(t, app, 'B', 60_000)
  await new Promise((resolve) => setTimeout(resolve, 150))
  await b.leases.start()
  t.same(b.acquired, [id])
  t.equal(await recordRoomEvents(app.db, room, [{ type: 'game.started', data: { playerCount: 3 } }], held), false, 'A is fenced off')
  t.equal(await recordMonitorCount(app.db, room, 3, 'completed', held), false)
  t.equal(await recordRoomEvents(app.db, room, [{ type: 'game.started', data: { playerCount: 2 } }], b.leases.held(id)), true, 'B writes')

  // The same owner claiming again (a restarted watch) gets a new fence: its older watch is fenced off too.
  const taken = b.leases.held(id)!
  const again = await b.leases.claim(id, 'FNCE')
  if (!again.claimed) throw new Error('not claimed')
  t.not(again.fence, taken.fence, 'a new fence')
  t.equal(await recordRoomEvents(app.db, room, [{ type: 'game.ended', data: { playerCount: 2 } }], taken), false)
  const events = await app.db.selectFrom('events').select(['type', 'data']).orderBy('id').execute()
  t.same(events.map((e) => [e.type, (e.data as { playerCount?: number }).playerCount]),
    [['room.connected', undefined], ['player-count.updated', 2], ['game.started', 2]], 'only the holders\' writes')
  t.same(await app.db.selectFrom('session_games').select(['player_count', 'player_count_check_status']).where('id', '=', id).executeTakeFirstOrThrow(),
    { player_count: 2, player_count_check_status: 'checking' })
})

// A stalled holder's write can reach the database while another process is taking its room over. Unlocked, the write
// read the lease as of its snapshot and went in beside the takeover, which then read the log without it and repeated
// the event. Two connections racing need a server: PGlite has one connection.
t.test('a write under a lease that meets a takeover in flight waits for it, then is fenced off', {
  skip: app.config.DATABASE_URL ? false : 'needs TEST_DATABASE_URL (a PostgreSQL server)'
}, async (t) => {
  const [id] = await sessionGames(1)
  const { session_id: sessionId } = await app.db.selectFrom('session_games').select('session_id').where('id', '=', id).executeTakeFirstOrThrow()
  const room = { sessionId, sessionGameId: id, roomCode: 'R0AA' }
  const a = keeper(t, app, 'A', 60_000)
  const claimed = await a.leases.claim(id, 'R0AA')
  if (!claimed.claimed) throw new Error('not claimed')
  const held = a.leases.held(id)!

  const takeover = new pg.Client({ connectionString: app.config.DATABASE_URL })
  await takeover.connect()
  t.teardown(() => takeover.end())
  await takeover.query('begin')
  await takeover.query('update room_leases set owner = $2, fence = nextval($3) where session_game_id = $1', [id, 'B', 'room_lease_fence'])
  let settled = false
  const write = recordRoomEvents(app.db, room, [{ type: 'game.started', data: { playerCount: 3 } }], held).finally(() => { settled = true })
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(settled, false, 'the write waits for the takeover to commit')
  await takeover.query('commit')
  t.equal(await write, false, 'then sees the new holder and writes nothing')
  t.same(await app.db.selectFrom('events').select('type').where('type', '=', 'game.started').execute(), [])
})
