import { createServer } from 'node:net'
import t, { type Test } from 'tap'
import { TwitchConnection, type ConnectionStatus } from '../../chat/twitch-connection.ts'
import { twitchClientTarget } from '../../chat/twitch-url.ts'

// The reconnection backoff as a source's status shows it: 1 s, doubling, up to the cap (60 s unless told).

/** A loopback port where nothing listens: every connection attempt is refused at once. */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** A connection to nowhere, its statuses recorded (with when they came) until `count` of them arrived. */
async function statuses (t: Test, count: number, backoff: { maxBackoffMs?: number } = {}) {
  const seen: Array<{ status: ConnectionStatus, message: string | null, at: number }> = []
  let done: () => void
  const enough = new Promise<void>((resolve) => { done = resolve })
  const connection = new TwitchConnection({
    channel: 'nowhere',
    target: twitchClientTarget(`ws://127.0.0.1:${await closedPort()}`),
    message: () => { throw new Error('no message can come from a closed port') },
    status: (status, message) => {
      seen.push({ status, message, at: performance.now() })
      if (seen.length === count) done()
    },
    log: { info () {}, warn () {} },
    ...backoff
  })
  t.teardown(() => connection.stop())
  // The connection's retry timer is unref'd (it never holds a process open): this one keeps the test's alive, and
  // fails it if the statuses never come.
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${seen.length} statuses of ${count}: ${JSON.stringify(seen)}`)), 20_000)
  })
  connection.start()
  try {
    await Promise.race([enough, late])
  } finally {
    clearTimeout(timer)
    await connection.stop()
  }
  return seen
}

t.test('the first wait is 1 s, then 2 s, each said in the status', async (t) => {
  const seen = await statuses(t, 4)
  t.match(seen, [
    { status: 'connecting', message: null },
    { status: 'connecting', message: /; reconnecting in 1 s$/ },
    { status: 'connecting', message: 'Reconnecting' },
    { status: 'connecting', message: /; reconnecting in 2 s$/ }
  ])
  // A lower bound only: a loaded machine makes the timer late, never early.
  t.ok(seen[2].at - seen[1].at >= 950, `waited ${Math.round(seen[2].at - seen[1].at)} ms before trying again`)
})

t.test('the wait doubles up to the cap and stays there', async (t) => {
  const seen = await statuses(t, 6, { maxBackoffMs: 2000 })
  t.same(seen.map((s) => s.message?.replace(/^.*; /, '') ?? null),
    [null, 'reconnecting in 1 s', 'Reconnecting', 'reconnecting in 2 s', 'Reconnecting', 'reconnecting in 2 s'])
})
