// What a user does against a running container, for .ci/containers.sh (plain JavaScript: runs on the CI's node
// without the project's loader). Every command prints one line and exits non-zero when the service answers otherwise.
//   login <base>                     → the admin token
//   new-session <base> <token>       → the id of a new active session (an active one is closed first)
//   has-session <base> <token> <id>  → "ok" when the session exists
//   live <base> <token>              → the live socket gets session.started for a session created by another request;
//                                      prints the instances that answered /api/health
const [command, base, token, id] = process.argv.slice(2)
const fail = (message) => { console.error(message); process.exit(1) }
const api = async (method, path, body) => {
  const res = await fetch(base + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(15000)
  })
  const text = await res.text()
  return { status: res.status, json: text ? JSON.parse(text) : undefined }
}
const newSession = async () => {
  let res = await api('POST', '/api/sessions', {})
  if (res.json?.activeSessionId) { // "An active session already exists": close it
    const closed = await api('POST', `/api/sessions/${res.json.activeSessionId}/close`)
    if (closed.status !== 200) fail(`close: ${closed.status} ${JSON.stringify(closed.json)}`)
    res = await api('POST', '/api/sessions', {})
  }
  if (res.status !== 201) fail(`POST /api/sessions: ${res.status} ${JSON.stringify(res.json)}`)
  return res.json.id
}

if (command === 'login') {
  const res = await api('POST', '/api/auth/login', { key: process.env.ADMIN_KEY })
  if (res.status !== 200 || !res.json.token) fail(`login: ${res.status} ${JSON.stringify(res.json)}`)
  console.log(res.json.token)
} else if (command === 'new-session') {
  console.log(await newSession())
} else if (command === 'has-session') {
  const res = await api('GET', `/api/sessions/${id}`)
  if (res.status !== 200 || res.json.id !== Number(id)) fail(`GET /api/sessions/${id}: ${res.status} ${JSON.stringify(res.json)}`)
  console.log('ok')
} else if (command === 'live') {
  const instances = new Set()
  for (let i = 0; i < 9; i++) {
    const res = await api('GET', '/api/health')
    if (res.status !== 200) fail(`health: ${res.status}`)
    instances.add(res.json.instance)
  }
  const socket = new WebSocket(base.replace(/^http/, 'ws') + '/api/sessions/live')
  let authenticated
  const authed = new Promise((resolve) => { authenticated = resolve })
  const started = new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error('no session.started on the live socket within 20 s')), 20000).unref()
    socket.addEventListener('error', () => reject(new Error('live socket error')))
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(event.data)
      if (message.type === 'auth_success') authenticated()
      if (message.type === 'session.started') resolve(message.data.session.id)
    })
  })
  await new Promise((resolve, reject) => { socket.addEventListener('open', resolve); socket.addEventListener('error', reject) })
  socket.send(JSON.stringify({ type: 'auth', token }))
  await Promise.race([authed, started])
  const created = await newSession()
  const seen = await started.catch((err) => fail(err.message))
  if (seen !== created) fail(`session.started for ${seen}, created ${created}`)
  socket.close()
  console.log(`session.started ${seen} through the proxy; ${instances.size} instances answered`)
  if (instances.size < 2) fail('the proxy reached only one replica')
} else {
  fail(`unknown command ${command}`)
}
