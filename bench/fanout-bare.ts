import Fastify from 'fastify'
import websocket from '@fastify/websocket'
import type { WebSocket } from 'ws'

// The reference for bench/fanout.ts: a bare @fastify/websocket server that writes the bytes POSTed to /broadcast to
// every connected client, then answers. No auth, no subscriptions, no database.

const app = Fastify({ logger: false })
await app.register(websocket)
const clients = new Set<WebSocket>()

app.get('/ws', { websocket: true }, (socket) => {
  clients.add(socket)
  socket.on('close', () => clients.delete(socket))
})

app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => done(null, body))
app.post('/broadcast', async (request) => {
  const bytes = Buffer.from(request.body as string)
  for (const socket of clients) socket.send(bytes, { binary: false })
  return { clients: clients.size }
})
app.get('/health', async () => ({ ok: true }))

await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.once('SIGTERM', () => { app.close().then(() => process.exit(0)) })
