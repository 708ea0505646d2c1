import t, { type Test } from 'tap'
import pg from 'pg'
import { build, resetDb } from '../helper.ts'
import { until } from '../fixtures/event-log.ts'
import { RoomLeases } from '../../monitor/leases.ts'
import { ProcessHeartbeat } from '../../plugins/process-heartbeat.ts'
import { beatLiveProcess } from '../../db/live-processes.ts'
import { recordMonitorCount, recordRoomEvents } from '../../domain/player-check.ts'
import type { App } from '../../app.ts'
import { sql, type Kysely, type KyselyPlugin } from 'kysely'
import type { Database } from '../../db/types.ts'

// Two keepers with different owners on one database stand for two processes (the lease logic is all in SQL, so one
// app's connection serves both), each with its process heartbeat, off whose row its leases hang. The real-process
// failover is in test/room-takeover.test.ts.
const app = await build(t)
// The app's own room monitor would take free leases too: only the keepers below may.
await app.roomMonitor.stopAll()
const silent = { info () {}, warn () {} }

interface Keeper {
  leases: RoomLeases
  heartbeat: ProcessHeartbeat
  acquired: number[]
  lost: { sessionGameId: number, deleted: boolean }[]
  /** Starts the heartbeat (the process row) and then the leases. */
  start (): Promise<void>
}

/** A process whose leases last `leaseTtlMs` past each beat of its heartbeat (a beat every third of it). */
function keeper (t: Test, app: App, owner: string, leaseTtlMs: number, db: Kysely<Database> = app.db): Keeper {
  const heartbeat = new ProcessHeartbeat(db, owner, 60_000, app.log)
  heartbeat.holdLeases(leaseTtlMs)
  const k: Keeper = {
    leases: undefined as unknown as RoomLeases,
    heartbeat,
    acquired: [],
    lost: [],
    async start () {
      await heartbeat.start()
      await k.leases.start()
    }
  }
  k.leases = new RoomLeases({
    db,
    listen: app.dbListen,
    owner,
    heartbeat,
    retryMs: 100,
    log: silent,
    async acquired (taken) { k.acquired.push(...taken.map((l) => l.sessionGameId)) },
    async lost (lost) { k.lost.push(...lost) }
  })
  t.teardown(async () => {
    await k.leases.stop({ release: false })
    await heartbeat.stop()
  })
  return k
}

/** Keepers A and B, started, whose leases last a minute (neither expires during a test). */
async function twoKeepers (t: Test): Promise<[Keeper, Keeper]> {
  const a = keeper(t, app, 'A', 60_000)
  const b = keeper(t, app, 'B', 60_000)
  await a.start()
  await b.start()
  return [a, b]
}

/** A process that beat once and then died: its row holds its leases for `leaseTtlMs`, and is never renewed. */
async function deadProcess (t: Test, owner: string, leaseTtlMs: number): Promise<void> {
  await beatLiveProcess(app.db, owner, 60_000, leaseTtlMs)
  t.teardown(() => app.db.deleteFrom('live_processes').where('instance', '=', owner).execute())
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

t.beforeEach(async () => {
  await resetDb(app, { catalog: true })
  await app.db.deleteFrom('live_processes').where('instance', '!=', app.instance).execute()
})

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
  // DEAD's leases outlive the claims and the others' start by far, even on a loaded machine; B and C beat every 133 ms.
  await deadProcess(t, 'DEAD', 1500)
  const dead = keeper(t, app, 'DEAD', 1500)
  for (const id of ids) await dead.leases.claim(id, `C${id}`)
  const b = keeper(t, app, 'B', 400)
  const c = keeper(t, app, 'C', 400)
  const started = Date.now()
  await b.start()
  await c.start()
  t.same(b.acquired.length + c.acquired.length, 0, 'nothing is taken while the lease is live')
  // DEAD's row is never renewed (its heartbeat never starts): its leases lapse 1500 ms after its one beat.
  await until('every room taken over', () => b.acquired.length + c.acquired.length === ids.length, 5000)
  t.ok(Date.now() - started < 1500 + 2 * 133 + 1000, 'within the lease plus a beat (with slack for a loaded machine)')
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
  await deadProcess(t, 'A', 100)
  const a = keeper(t, app, 'A', 100)
  const first = await a.leases.claim(id, 'FNCE')
  if (!first.claimed) throw new Error('not claimed')
  const held = a.leases.held(id)!
  t.same(held, { owner: 'A', fence: first.fence })
  t.equal(await recordRoomEvents(app.db, room, [{ type: 'room.connected', data: { appTag: 'x', maxPlayers: 8 } }], held), true, 'written while held')
  t.equal(await recordMonitorCount(app.db, room, 2, 'checking', held), true)

  // A never renews: its lease lapses and B takes it over.
  const b = keeper(t, app, 'B', 60_000)
  await new Promise((resolve) => setTimeout(resolve, 150))
  await b.start()
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
  const b = keeper(t, app, 'B', 60_000) // the new holder must be a live process
  await a.start()
  await b.start()
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

t.test('the leases hang off the process row: one heartbeat statement per beat keeps them all, no lease row is written', async (t) => {
  const ids = await sessionGames(5)
  // A's statements, every one of them (its heartbeat's and its leases'), are counted by their text.
  const statements: string[] = []
  const counting: KyselyPlugin = {
    transformQuery (args) { statements.push(args.node.kind); return args.node },
    async transformResult (args) { return args.result }
  }
  // Leases of 1200 ms, a beat every 400 ms: long enough that a loaded machine's stalls never let one lapse.
  const a = keeper(t, app, 'A', 1200, app.db.withPlugin(counting))
  // B stands by to take any lease of A's that lapses.
  const b = keeper(t, app, 'B', 1200)
  await a.start()
  await b.start()
  for (const id of ids) await a.leases.claim(id, `C${id}`)
  const rows = () => sql<{ session_game_id: number, owner: string, version: string }>`
    select session_game_id, owner, xmin::text as version from room_leases order by session_game_id`.execute(app.db).then((r) => r.rows)
  const before = await rows()
  t.same(before.map((r) => r.owner), ['A', 'A', 'A', 'A', 'A'])
  // Every claim NOTIFYs (its statement deletes the leases it displaces): let both look at their leases once more
  // before counting A's statements from here on.
  await new Promise((resolve) => setTimeout(resolve, 300))
  await Promise.all([a.leases.look(), b.leases.look()])
  statements.length = 0
  // Two lease ttls and a half: with no renewal of its own a lease would have lapsed twice over.
  await new Promise((resolve) => setTimeout(resolve, 3000))
  const after = await rows()
  t.same(after, before, 'every lease is still A\'s, and no lease row was written (same row versions)')
  t.same(a.lost, [], 'A lost none')
  t.same(b.acquired, [], 'B took none')
  t.ok(statements.length >= 3, `A's heartbeat beat (${statements.length} statements in 3 s)`)
  t.same([...new Set(statements)], ['RawNode'], 'A ran nothing but its heartbeat\'s one statement per beat (no lease renewal, no lease query)')

  // A's row goes (as a prune deletes a dead process's row): its leases are free at once, and B takes them all.
  await a.heartbeat.stop()
  await until('B takes every room', () => b.acquired.length === ids.length, 5000)
  t.same([...b.acquired].sort((x, y) => x - y), ids)
  t.same((await rows()).map((r) => r.owner), ['B', 'B', 'B', 'B', 'B'])
})
