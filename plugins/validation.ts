import AjvCompiler from '@fastify/ajv-compiler'
import type { FastifyServerOptions } from 'fastify'
import type { Ajv } from 'ajv'

const buildCompiler = AjvCompiler()

/**
 * `x-flag`: a flag written in a body may be `true`/`false` as well as `0`/`1`, as a person would write it;
 * the validator stores it back as 0/1, so handlers and the database only ever see 0/1 integers.
 * The schema beside it (see `FlagInput`) decides what is accepted; this only rewrites what was.
 */
function flagKeyword (ajv: Ajv): Ajv {
  ajv.addKeyword({
    keyword: 'x-flag',
    modifying: true,
    schemaType: 'boolean',
    validate (_schema: boolean, data: unknown, _parent: unknown, ctx?: { parentData: Record<string | number, unknown>, parentDataProperty: string | number }) {
      if (typeof data === 'boolean' && ctx) ctx.parentData[ctx.parentDataProperty] = data ? 1 : 0
      return true
    }
  })
  return ajv
}

// Fastify's Ajv options, plus: `errorMessage` carries the documented sentences clients match, and `verbose` hands the
// failing schema to the error handler so it can find them. Unknown body fields are refused, never dropped
// (Fastify's default `removeAdditional` would drop them silently).
export const ajv: FastifyServerOptions['ajv'] = {
  customOptions: { keywords: ['errorMessage'], verbose: true, removeAdditional: false },
  plugins: [flagKeyword as never]
}

type Json = Record<string, unknown>
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

// Keywords whose values are data, not schemas.
const VALUES = new Set(['enum', 'const', 'default', 'example', 'examples', 'required', 'errorMessage'])

/**
 * A copy of a body schema in which every object that lists its properties and says nothing about others refuses
 * others (`additionalProperties: false`): a typo in a field name is a 400 naming it, for every route, also the
 * routes added later. The OpenAPI document publishes the same closed schemas (plugins/swagger.ts).
 */
export function closeObjects<T> (schema: T): T {
  if (Array.isArray(schema)) return schema.map(closeObjects) as T
  if (!isObject(schema)) return schema
  const out: Json = {}
  for (const [key, value] of Object.entries(schema)) {
    if (VALUES.has(key)) out[key] = value
    else if (key === 'properties' && isObject(value)) out[key] = Object.fromEntries(Object.entries(value).map(([name, s]) => [name, closeObjects(s)]))
    // The copy differs from the $id'd original, and Ajv refuses two schemas under one id.
    else if (key !== '$id') out[key] = closeObjects(value)
  }
  if (isObject(schema.properties) && !('additionalProperties' in schema) && !('patternProperties' in schema)) {
    out.additionalProperties = false
  }
  return out as T
}

/**
 * Query strings and path params arrive as text and must be coerced ("5" → 5). JSON bodies already carry their
 * types, so coercing them would only hide mistakes (true → 1, "12" → 12): bodies get a validator without coercion,
 * over closed objects.
 */
export const schemaController: FastifyServerOptions['schemaController'] = {
  compilersFactory: {
    // Fastify calls the compiler with the route definition ({ schema, httpPart, … }), which the declared type omits.
    buildValidator: ((externalSchemas: Parameters<typeof buildCompiler>[0], ajvServerOptions: { customOptions: Record<string, unknown> }) => {
      const coercing = buildCompiler(externalSchemas, ajvServerOptions)
      const strict = buildCompiler(externalSchemas, { ...ajvServerOptions, customOptions: { ...ajvServerOptions.customOptions, coerceTypes: false } })
      return (route: { httpPart?: string, schema?: unknown }) => route.httpPart === 'body'
        ? strict({ ...route, schema: closeObjects(route.schema) } as never)
        : coercing(route as never)
    }) as never
  }
}
