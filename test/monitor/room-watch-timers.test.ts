import t from 'tap'
import { RoomWatch } from '../../monitor/room-watch.ts'
import type { WatchTimers } from '../../monitor/watch-types.ts'
import type { RoomInfo } from '../../monitor/ecast-client.ts'
import type { AudienceHandlers } from '../../monitor/audience-socket.ts'
import { ROOM_INFO as ROOM } from '../fixtures/ecast-room.ts'

// RoomWatch's own schedule, on the injected clock and timers: which delay each poll is set for, without sleeping.

function harness () {
  const h = {
    now: 0,
    room: null as RoomInfo | null | Error,
    polls: 0,
    timers: new Map<number, { fn: () => void, delayMs: number }>(),
    socket: null as AudienceHandlers | null,
    watch: null as unknown as RoomWatch,
    /** The one pending timer's delay. */
    pending (): number[] {
      return [...h.timers.values()].map((timer) => timer.delayMs)
    },
    /** Fires the pending timer and waits for the tick it starts and the next timer it sets. */
    async fire () {
      const [[id, timer]] = [...h.timers]
      h.timers.delete(id)
      timer.fn()
      for (let i = 0; i < 20 && h.timers.size === 0; i++) await new Promise((resolve) => setImmediate(resolve))
    }
  }
  let ids = 0
  const timers: WatchTimers = {
    set: (fn, delayMs) => {
      h.timers.set(++ids, { fn, delayMs })
      return ids
    },
    clear: (id) => { h.timers.delete(id as number) }
  }
  h.watch = new RoomWatch({
    code: 'ABCD',
    api: {
      getRoom: async () => {
        h.polls++
        if (h.room instanceof Error) throw h.room
        return h.room
      },
      getConnections: async () => 3
    },
    openSocket: (_url, handlers) => {
      h.socket = handlers
      return { audienceCount: async () => 1, close: async () => {} }
    },
    socketUrl: (host) => `ws://${host}/play`,
    pollIntervalMs: 1000,
    roomWaitMs: 60_000,
    sink: { events: () => {}, count: async () => {}, status: async () => {}, finished: () => {} },
    log: { info: () => {}, warn: () => {} },
    now: () => h.now,
    random: () => 0.5,
    timers
  })
  return h
}

t.test('polls land on the quarter-period grid of the injected clock', async (t) => {
  const h = harness()
  h.now = 1100
  h.watch.start()
  t.same(h.pending(), [0], 'the first poll at once')
  await h.fire()
  t.equal(h.polls, 1)
  t.same(h.pending(), [900], '1100 + 1000 rounds to 2000 on a 250 ms grid')
  h.now = 2000
  await h.fire()
  t.same(h.pending(), [1000], 'on the grid already')
  await h.watch.stop()
  t.same(h.pending(), [], 'stop clears the timer')
})

t.test('REST failures back off; recovery returns to the period', async (t) => {
  const h = harness()
  h.room = new Error('ECONNREFUSED')
  h.watch.start()
  await h.fire()
  t.same(h.pending(), [750], 'half to all of one period, random 0.5')
  await h.fire()
  t.same(h.pending(), [1500], 'then of two')
  h.room = { ...ROOM, audienceEnabled: false }
  await h.fire()
  t.equal(h.watch.state, 'lobby')
  t.same(h.pending(), [1000])
  await h.watch.stop()
})

t.test('socket news replaces the pending timer with an immediate poll', async (t) => {
  const h = harness()
  h.room = { ...ROOM }
  h.watch.start()
  await h.fire()
  t.same(h.pending(), [1000])
  h.socket!.welcome({ id: 1, entities: { room: { key: 'room', val: { state: 'Lobby', lobbyState: 'WaitingForMore' }, version: 1 } }, here: null })
  t.same(h.pending(), [0], 'a welcome is worth a poll now')
  await h.fire()
  h.socket!.entity({ key: 'room', val: { state: 'Lobby', lobbyState: 'WaitingForMore', analytics: [] }, version: 2 })
  t.same(h.pending(), [1000], 'an unchanged lobby is not')
  h.socket!.entity({ key: 'room', val: { state: 'Gameplay' }, version: 3 })
  t.same(h.pending(), [0], 'Gameplay is')
  await h.fire()
  t.equal(h.watch.state, 'started')
  await h.watch.stop()
})
