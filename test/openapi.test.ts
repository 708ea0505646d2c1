import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import SwaggerParser from '@apidevtools/swagger-parser'
import { build } from './helper.ts'

type Json = Record<string, any>

const REDOCLY = fileURLToPath(new URL('../node_modules/@redocly/cli/bin/cli.js', import.meta.url))
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']

// The Schema Object keywords of OpenAPI 3.0.3.
const OAS30_KEYWORDS = new Set(['title', 'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum',
  'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'maxProperties', 'minProperties',
  'required', 'enum', 'type', 'allOf', 'oneOf', 'anyOf', 'not', 'items', 'properties', 'additionalProperties',
  'description', 'format', 'default', 'nullable', 'discriminator', 'readOnly', 'writeOnly', 'xml', 'externalDocs',
  'example', 'deprecated', '$ref'])

function operations (spec: Json): Array<{ method: string, path: string, op: Json }> {
  return Object.entries(spec.paths as Json).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ method, path, op: item[method] as Json })))
}

/** Every schema of the document, nested ones included, with where it is. */
function schemas (spec: Json): Array<{ at: string, schema: Json }> {
  const out: Array<{ at: string, schema: Json }> = []
  const visit = (schema: unknown, at: string) => {
    if (typeof schema !== 'object' || schema === null) return
    const s = schema as Json
    out.push({ at, schema: s })
    for (const key of ['items', 'additionalProperties', 'not']) visit(s[key], `${at}/${key}`)
    for (const key of ['allOf', 'anyOf', 'oneOf']) (s[key] ?? []).forEach((m: unknown, i: number) => visit(m, `${at}/${key}/${i}`))
    for (const [name, p] of Object.entries(s.properties ?? {})) visit(p, `${at}/properties/${name}`)
  }
  for (const [name, s] of Object.entries(spec.components.schemas as Json)) visit(s, `#/components/schemas/${name}`)
  for (const { method, path, op } of operations(spec)) {
    const at = `${method.toUpperCase()} ${path}`
    for (const p of op.parameters ?? []) visit(p.schema, `${at} parameter ${p.name}`)
    for (const [type, m] of Object.entries(op.requestBody?.content ?? {})) visit((m as Json).schema, `${at} body ${type}`)
    for (const [status, r] of Object.entries(op.responses as Json)) {
      for (const [type, m] of Object.entries((r as Json).content ?? {})) visit((m as Json).schema, `${at} ${status} ${type}`)
    }
  }
  return out
}

t.test('the published OpenAPI document', async (t) => {
  const app = await build(t)
  const res = await app.inject('/docs/json')
  t.equal(res.statusCode, 200)
  const spec = res.json() as Json
  const ops = operations(spec)
  t.ok(ops.length >= 40, `${ops.length} operations`)

  t.test('is valid OpenAPI (swagger-parser)', async (t) => {
    const api = await SwaggerParser.validate(structuredClone(spec) as never) as Json
    t.equal(api.openapi, '3.0.3')
  })

  t.test('lints with zero errors (@redocly/cli, recommended rules)', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'openapi-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'openapi.json')
    writeFileSync(file, JSON.stringify(spec))
    // redocly exits 1 when it finds errors; the JSON report on stdout is what counts.
    const { stdout } = await promisify(execFile)(process.execPath, [REDOCLY, 'lint', file, '--format=json'], {
      cwd: dir,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
      maxBuffer: 16 * 1024 * 1024
    }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }))
    const report = JSON.parse(stdout) as { totals: { errors: number }, problems: Array<{ ruleId: string, severity: string, message: string, location: Array<{ pointer: string }> }> }
    const errors = report.problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)
    t.same(errors, [])
    t.equal(report.totals.errors, 0)
    // The warnings the README lists as expected: GETs that can only succeed have no 4XX response.
    const warnings = report.problems.filter((p) => p.severity !== 'error' && p.ruleId !== 'operation-4xx-response')
    t.same(warnings.map((p) => `${p.ruleId}: ${p.message}`), [])
  })

  t.test('relative server, so Try it out works from any address', async (t) => {
    t.same(spec.servers, [{ url: '/' }])
  })

  t.test('every operation has a unique camelCase operationId, a summary, a description, tags and security', async (t) => {
    const ids = new Map<string, string>()
    for (const { method, path, op } of ops) {
      const at = `${method.toUpperCase()} ${path}`
      t.match(op.operationId, /^[a-z][a-zA-Z0-9]*$/, `${at} has a camelCase operationId`)
      t.notOk(ids.has(op.operationId), `${at}: operationId ${op.operationId} is also ${ids.get(op.operationId)}`)
      ids.set(op.operationId, at)
      t.ok(op.summary?.trim(), `${at} has a summary`)
      t.ok(op.description?.trim(), `${at} has a description`)
      t.ok(op.tags?.length, `${at} has a tag`)
      t.ok(Array.isArray(op.security), `${at} states its security`)
      for (const [status, response] of Object.entries(op.responses as Json)) {
        t.ok(response.description && response.description !== 'Default Response', `${at} ${status} has a real description`)
      }
    }
  })

  t.test('an operation is public exactly when it says `security: []`', async (t) => {
    for (const { method, path, op } of ops) {
      const url = path.replace(/\{[^}]+\}/g, '1')
      const payload = ['post', 'put', 'patch'].includes(method) ? {} : undefined
      const res = await app.inject({ method: method.toUpperCase() as 'GET', url, payload })
      if (op.security.length === 0) {
        t.not(res.statusCode, 401, `${method.toUpperCase()} ${path} is public`)
      } else {
        t.same(op.security, [{ bearer: [] }], `${method.toUpperCase()} ${path} needs a bearer token`)
        t.equal(res.statusCode, 401, `${method.toUpperCase()} ${path} refuses a request without a token`)
      }
    }
  })

  t.test('no path has a trailing slash, and both forms are still served', async (t) => {
    t.same(Object.keys(spec.paths).filter((p) => p.endsWith('/')), [])
    for (const url of ['/api/games', '/api/games/', '/api/sessions', '/api/sessions/', '/api/stats', '/api/stats/']) {
      t.equal((await app.inject(url)).statusCode, 200, url)
    }
  })

  t.test('domain objects are named components, referenced by $ref', async (t) => {
    const names = Object.keys(spec.components.schemas)
    for (const name of ['Error', 'Game', 'Session', 'SessionGame', 'Vote', 'Webhook', 'WebhookLog', 'Stats', 'PickResult',
      'ChatImportResult', 'SessionExport', 'Pack', 'VoteList', 'LiveVoteResult', 'SessionVotes', 'CsvImportResult']) {
      t.ok(names.includes(name), `${name} is a component`)
    }
    const json = (o: unknown) => JSON.stringify(o)
    const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
    const schemaOf = (path: string, method: string, status: string) => spec.paths[path][method].responses[status].content['application/json'].schema
    t.same(schemaOf('/api/games/{id}', 'get', '200'), ref('Game'))
    t.same(schemaOf('/api/games/{id}', 'get', '404'), ref('Error'))
    t.same(schemaOf('/api/sessions/{id}', 'get', '200'), ref('Session'))
    t.same(schemaOf('/api/sessions', 'get', '200').items, ref('Session'))
    t.same(schemaOf('/api/sessions/{id}/games', 'get', '200').items, ref('SessionGame'))
    t.same(schemaOf('/api/stats', 'get', '200'), ref('Stats'))
    t.same(schemaOf('/api/pick', 'post', '200'), ref('PickResult'))
    t.same(schemaOf('/api/sessions/{id}/chat-import', 'post', '200'), ref('ChatImportResult'))
    t.same(schemaOf('/api/webhooks/{id}/logs', 'get', '200').items, ref('WebhookLog'))
    t.same(spec.components.schemas.VoteList.properties.votes.items, ref('Vote'))
    t.same(spec.components.schemas.PickResult.properties.game, ref('Game'))
    // Every error response of every operation is Error, or (where a seed adds fields) an object with its `error`.
    for (const { method, path, op } of ops) {
      for (const [status, response] of Object.entries(op.responses as Json)) {
        const schema = response.content?.['application/json']?.schema
        if (Number(status) < 400 || op.operationId === 'getHealth' || !schema) continue
        const isError = json(schema) === json(ref('Error')) || (schema.properties?.error?.type === 'string' && schema.required?.includes('error'))
        t.ok(isError, `${method} ${path} ${status} is an error body`)
      }
    }
  })

  t.test('only standard keywords, and defaults are never required', async (t) => {
    for (const { at, schema } of schemas(spec)) {
      const extra = Object.keys(schema).filter((k) => !OAS30_KEYWORDS.has(k))
      t.same(extra, [], `${at} has only OpenAPI 3.0 keywords`)
    }
    for (const { method, path, op } of ops) {
      for (const p of op.parameters ?? []) {
        if (p.schema?.default !== undefined) t.notOk(p.required, `${method} ${path} ${p.name} has a default, so it is optional`)
      }
    }
    t.notMatch(JSON.stringify(spec), /errorMessage|x-flag/)
  })

  t.test('request bodies are closed objects, as the validator enforces', async (t) => {
    for (const { method, path, op } of ops) {
      const schema = op.requestBody?.content?.['application/json']?.schema
      if (schema?.type === 'object' && schema.properties) {
        t.equal(schema.additionalProperties, false, `${method} ${path}`)
      }
    }
  })

  t.test('the live tag links the AsyncAPI document', async (t) => {
    const live = spec.tags.find((tag: Json) => tag.name === 'live')
    t.match(live.description, '/docs/asyncapi.json')
    t.equal(live.externalDocs.url, '/docs/asyncapi.json')
  })
})
