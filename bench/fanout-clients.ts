import WebSocket from 'ws'

// The client side of bench/fanout.ts, in its own process so its work is not charged to the server being measured.
// argv: <ws url> <count> [sessionId]. With a sessionId each client subscribes (the token rides in the URL);
// without one it only connects (the bare broadcast server). Over IPC: {ready}, then per event n, once the last client
// has it, {event: n, lastAt, stampedAt} (ms on the shared wall clock; stampedAt: the event's `timestamp`, NaN
// without one), plus the first event's text as {sample}.

const [url, countArg, sessionArg] = process.argv.slice(2)
const count = Number(countArg)
const sessionId = sessionArg ? Number(sessionArg) : undefined
const send = (message: unknown) => process.send!(message)
const now = () => performance.timeOrigin + performance.now()

const receivedBy: number[] = [] // per event index: how many clients have it
const stampedAt: number[] = []
let ready = 0
const sockets: WebSocket[] = []

function onReady () {
  if (++ready === count) send({ ready: true })
}

function connect (i: number): Promise<void> {
  const ws = new WebSocket(url, { perMessageDeflate: false })
  sockets.push(ws)
  let seen = 0
  let subscribed = sessionId === undefined
  ws.on('error', (err) => { console.error(`client ${i}: ${err.message}`); process.exit(1) })
  ws.on('open', () => {
    if (sessionId === undefined) onReady()
  })
  ws.on('message', (data) => {
    if (!subscribed) {
      const message = JSON.parse(data.toString()) as { type: string }
      if (message.type === 'auth_success') ws.send(JSON.stringify({ type: 'subscribe', sessionId }))
      else if (message.type === 'subscribed') { subscribed = true; onReady() } else throw new Error(`client ${i}: unexpected ${data.toString()}`)
      return
    }
    const at = now()
    const n = seen++
    if (n === 0 && i === 0) send({ sample: data.toString() })
    receivedBy[n] = (receivedBy[n] ?? 0) + 1
    // The event's own timestamp (the service stamps it as its transaction commits), read from one copy.
    if (receivedBy[n] === 1) stampedAt[n] = Date.parse((JSON.parse(data.toString()) as { timestamp?: string }).timestamp ?? '')
    if (receivedBy[n] === count) send({ event: n, lastAt: at, stampedAt: stampedAt[n] })
  })
  return new Promise((resolve) => ws.once('open', () => resolve()))
}

// In batches, so a thousand simultaneous handshakes do not overflow the server's accept backlog.
for (let i = 0; i < count; i += 100) {
  await Promise.all(Array.from({ length: Math.min(100, count - i) }, (_, j) => connect(i + j)))
}

process.on('message', (message: { close?: boolean }) => {
  if (!message.close) return
  for (const ws of sockets) ws.terminate()
  process.disconnect()
})
