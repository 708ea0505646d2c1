import t from 'tap'
import { build, authHeaders } from '../helper.ts'
import { claimRoomLease } from '../../db/room-leases.ts'

// Prometheus text format 0.0.4: `# HELP`/`# TYPE` lines and `name{labels} value` samples.
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.]+(?:e[+-]?[0-9]+)?|NaN|[+-]Inf)$/

function parse (text: string): Map<string, number> {
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue
    const m = SAMPLE.exec(line)
    if (!m) throw new Error(`not Prometheus text: ${line}`)
    samples.set(m[1] + (m[2] ?? ''), Number(m[3]))
  }
  return samples
}

t.test('GET /metrics', async (t) => {
  const app = await build(t)
  const headers = authHeaders(app)
  const scrape = async () => {
    const res = await app.inject('/metrics')
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
    return { text: res.body, samples: parse(res.body) }
  }

  const before = await scrape()
  for (const name of ['http_request_duration_seconds', 'live_clients_connected', 'rooms_watched', 'ecast_request_failures_total',
    'webhook_deliveries_total', 'chat_import_rows_total']) {
    t.match(before.text, `# TYPE ${name} `, `${name} is exposed`)
  }
  t.equal(before.samples.get('live_clients_connected'), 0)
  t.equal(before.samples.get('rooms_watched'), 0)

  const countOf = (samples: Map<string, number>) => samples.get('http_request_duration_seconds_count{method="GET",route="/api/games",status_code="200"}') ?? 0
  await app.inject('/api/games')
  await app.inject('/api/games')
  await app.inject('/api/games/99999')

  const ws = await app.injectWS('/api/sessions/live')
  t.teardown(() => ws.terminate())

  const session = (await app.inject({ method: 'POST', url: '/api/sessions', headers, payload: {} })).json()
  await app.inject({ method: 'POST', url: `/api/sessions/${session.id}/games`, headers, payload: { game_id: 1 } })
  const chatData = [
    { username: 'a', message: 'thisgame++', timestamp: new Date(Date.now() + 1000).toISOString() },
    { username: 'b', message: 'hello', timestamp: new Date(Date.now() + 2000).toISOString() }
  ]
  for (let i = 0; i < 2; i++) {
    const res = await app.inject({ method: 'POST', url: `/api/sessions/${session.id}/chat-import`, headers, payload: { chatData } })
    t.equal(res.statusCode, 200)
  }

  const after = await scrape()
  t.equal(countOf(after.samples) - countOf(before.samples), 2, 'two GET /api/games 200s observed')
  t.equal(after.samples.get('http_request_duration_seconds_count{method="GET",route="/api/games/:id",status_code="404"}'), 1)
  t.ok((after.samples.get('http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/api/games",status_code="200"}') ?? 0) >= 2)
  t.equal(after.samples.get('live_clients_connected'), 1)
  t.equal(after.samples.get('chat_import_rows_total{result="stored"}'), 2)
  t.equal(after.samples.get('chat_import_rows_total{result="duplicate"}'), 2)

  // rooms_watched and /api/health's rooms are one number: this process's room leases in the database.
  const game = (await app.inject({ method: 'GET', url: `/api/sessions/${session.id}/games`, headers })).json()[0]
  t.match(await claimRoomLease(app.db, game.id, 'ABCD', app.instance), { claimed: true })
  const health = (await app.inject('/api/health')).json()
  t.equal(health.rooms, 1)
  t.equal((await scrape()).samples.get('rooms_watched'), health.rooms, 'the same count as /api/health')
})
