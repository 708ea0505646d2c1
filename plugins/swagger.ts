import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { COMPONENTS } from '../schemas/components.ts'
import { closeObjects } from './validation.ts'

type Json = Record<string, unknown>
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

export const ASYNCAPI_PATH = '/docs/asyncapi.json'

// The Schema Object keywords of OpenAPI 3.0.3; anything else (Ajv's `errorMessage`, our `x-flag`) is stripped.
const OAS30_KEYWORDS = new Set(['title', 'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum',
  'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'maxProperties', 'minProperties',
  'required', 'enum', 'type', 'allOf', 'oneOf', 'anyOf', 'not', 'items', 'properties', 'additionalProperties',
  'description', 'format', 'default', 'nullable', 'discriminator', 'readOnly', 'writeOnly', 'xml', 'externalDocs',
  'example', 'deprecated', '$ref'])

const ERROR_DESCRIPTIONS: Record<string, string> = {
  400: 'Bad input: `error` names the field or the rule that failed',
  401: 'No token, or a malformed, expired or wrongly signed one',
  403: 'The token is valid but its role does not allow this',
  404: 'No such resource: `error` says which',
  408: 'The request body did not arrive in time',
  409: 'Conflicts with the current state: `error` says how',
  413: 'The body is too large',
  414: 'The URL is too long',
  415: 'Unsupported content type',
  429: 'Too many attempts: try again later',
  503: 'A dependency (the database) is unavailable'
}

const componentIds = new Set(COMPONENTS.map((schema) => schema.$id as string))

/** A JSON copy of a schema where each subschema that is a registered component becomes a `$ref` to it. */
function refComponents (schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(refComponents)
  if (!isObject(schema)) return schema
  if (typeof schema.$id === 'string' && componentIds.has(schema.$id)) return { $ref: schema.$id }
  const out: Json = {}
  for (const [key, value] of Object.entries(schema)) out[key] = refComponents(value)
  return out
}

/** Properties with a default are never required from a client: the server fills them in. */
function optionalDefaults (schema: unknown): unknown {
  if (!isObject(schema) || !isObject(schema.properties) || !Array.isArray(schema.required)) return schema
  const properties = schema.properties
  return { ...schema, required: schema.required.filter((name) => !(isObject(properties[name]) && 'default' in properties[name])) }
}

/** Rewrites one OpenAPI 3.0 schema in place into standard keywords only. */
function cleanSchema (schema: unknown): void {
  if (Array.isArray(schema)) return schema.forEach(cleanSchema)
  if (!isObject(schema)) return
  if ('const' in schema) {
    schema.enum = [schema.const]
    delete schema.const
  }
  if (Array.isArray(schema.examples)) {
    if (!('example' in schema) && schema.examples.length) schema.example = schema.examples[0]
    delete schema.examples
  }
  for (const key of Object.keys(schema)) if (!OAS30_KEYWORDS.has(key)) delete schema[key]
  for (const key of ['items', 'additionalProperties', 'not', 'allOf', 'anyOf', 'oneOf']) cleanSchema(schema[key])
  if (isObject(schema.properties)) Object.values(schema.properties).forEach(cleanSchema)
  collapseEnumUnion(schema)
}

// TypeBox writes 0 | 1 as anyOf [{const: 0}, {const: 1}]; one enum reads better and generates the same type.
function collapseEnumUnion (schema: Json): void {
  const members = schema.anyOf
  if (!Array.isArray(members) || members.length < 2) return
  const single = (m: unknown): m is { type?: unknown, enum: [unknown] } => isObject(m) && Array.isArray(m.enum) &&
    m.enum.length === 1 && Object.keys(m).every((k) => k === 'enum' || k === 'type')
  if (!members.every(single)) return
  const types = new Set(members.map((m) => m.type))
  if (types.size !== 1) return
  const values = members.map((m) => m.enum[0])
  let type = members[0].type
  if (type === 'number' && values.every(Number.isInteger)) type = 'integer'
  delete schema.anyOf
  if (type !== undefined) schema.type = type
  schema.enum = values
}

function cleanDocument (doc: Json): void {
  const components = doc.components as Json
  Object.values((components.schemas ?? {}) as Json).forEach(cleanSchema)
  for (const pathItem of Object.values(doc.paths as Json)) {
    for (const operation of Object.values(pathItem as Json)) {
      if (!isObject(operation)) continue
      for (const parameter of (operation.parameters ?? []) as Json[]) cleanSchema(parameter.schema)
      const media = [
        ...Object.values(((operation.requestBody as Json | undefined)?.content ?? {}) as Json),
        ...Object.values((operation.responses ?? {}) as Json).flatMap((r) => Object.values(((r as Json).content ?? {}) as Json))
      ]
      for (const m of media) cleanSchema((m as Json).schema)
    }
  }
}

export default fp(async function openapi (app) {
  // Shared schemas become named components; routes may inline them or point at them with Type.Ref.
  // A component inside another is registered as a $ref to it, so the document names it there too.
  for (const schema of COMPONENTS) {
    const inner = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, refComponents(value)]))
    app.addSchema(inner)
  }

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Jackbox game night API',
        description: 'Catalog, picker, sessions, votes, live room monitor and real-time events for Jackbox game nights. ' +
          'Write routes need a bearer token from `POST /api/auth/login`. Every error is `{"error": "<sentence>"}`. ' +
          `The live WebSocket protocol is described in AsyncAPI 3.0 at [${ASYNCAPI_PATH}](${ASYNCAPI_PATH}).`,
        version: '1.0.0',
        license: { name: 'UNLICENSED', url: 'https://choosealicense.com/no-permission/' }
      },
      // Relative, so "Try it out" calls whatever address served the page.
      servers: [{ url: '/' }],
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } }
      },
      tags: [
        { name: 'auth', description: 'Admin login and token checks' },
        { name: 'games', description: 'The game catalog' },
        { name: 'picker', description: 'Pick what to play next' },
        { name: 'sessions', description: 'Game nights' },
        { name: 'session-games', description: 'Games played in a session' },
        { name: 'room monitor', description: 'Watching a session game\'s live Jackbox room' },
        { name: 'votes', description: 'Audience votes' },
        { name: 'stats', description: 'Totals and rankings' },
        { name: 'webhooks', description: 'Outbound event deliveries' },
        { name: 'chat-sources', description: 'Live chats the service reads itself, counting their votes' },
        {
          name: 'live',
          description: 'Real-time events over WebSocket. Every message in both directions, and every event with its ' +
            `data, is described in the AsyncAPI 3.0 document at [${ASYNCAPI_PATH}](${ASYNCAPI_PATH}).`,
          externalDocs: { description: 'AsyncAPI 3.0 description of the live protocol', url: ASYNCAPI_PATH }
        },
        { name: 'clients', description: 'Bots and overlays connected to the live socket: list, disconnect and run their functions' },
        { name: 'health', description: 'Liveness and database status' }
      ]
    },
    // Shared schemas carry an $id and become named components instead of being inlined everywhere.
    refResolver: {
      buildLocalReference (json, _baseUri, _fragment, i) {
        return typeof json.$id === 'string' ? json.$id : `def-${i}`
      }
    },
    transform ({ schema, url }) {
      // Fastify serves `/api/games` and `/api/games/` alike; the document names the one without the slash.
      const path = url.length > 1 ? url.replace(/\/+$/, '') : url
      if (!schema) return { schema, url: path }
      const s = { ...schema } as Json
      for (const part of ['querystring', 'params', 'headers', 'body']) if (s[part]) s[part] = refComponents(s[part])
      s.security ??= []
      for (const part of ['querystring', 'params', 'headers']) if (s[part]) s[part] = optionalDefaults(s[part])
      // The body validator refuses unknown fields (plugins/validation.ts): publish the same closed objects.
      if (s.body) s.body = optionalDefaults(closeObjects(s.body))
      if (isObject(s.response)) {
        const responses: Json = {}
        for (const [status, response] of Object.entries(s.response)) {
          // swagger takes a response's description from its schema's top level, beside a $ref too;
          // a shared schema's own description says what it is, not what this status means
          const own = isObject(response) && typeof response.description === 'string' ? response.description : undefined
          const shared = isObject(response) && typeof response.$id === 'string'
          const description = (shared && ERROR_DESCRIPTIONS[status]) || own || ERROR_DESCRIPTIONS[status]
          const ref = refComponents(response)
          responses[status] = description === undefined || !isObject(ref) ? ref : { ...ref, description }
        }
        s.response = responses
      }
      return { schema: s as typeof schema, url: path }
    },
    transformObject (documentObject) {
      const doc = (documentObject as { openapiObject: Json }).openapiObject
      cleanDocument(doc)
      return doc
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
}, { name: 'swagger' })
