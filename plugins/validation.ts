import AjvCompiler from '@fastify/ajv-compiler'
import type { FastifyServerOptions } from 'fastify'

const buildCompiler = AjvCompiler()

// Fastify's Ajv options, plus: `errorMessage` carries the seeds' exact sentences, and `verbose` hands the
// failing schema to the error handler so it can find them.
export const ajv: FastifyServerOptions['ajv'] = {
  customOptions: { keywords: ['errorMessage'], verbose: true }
}

/**
 * Query strings and path params arrive as text and must be coerced ("5" → 5). JSON bodies already carry their
 * types, so coercing them would only hide mistakes (true → 1, "12" → 12): bodies get a validator without coercion.
 */
export const schemaController: FastifyServerOptions['schemaController'] = {
  compilersFactory: {
    // Fastify calls the compiler with the route definition ({ schema, httpPart, … }), which the declared type omits.
    buildValidator: ((externalSchemas: Parameters<typeof buildCompiler>[0], ajvServerOptions: { customOptions: Record<string, unknown> }) => {
      const coercing = buildCompiler(externalSchemas, ajvServerOptions)
      const strict = buildCompiler(externalSchemas, { ...ajvServerOptions, customOptions: { ...ajvServerOptions.customOptions, coerceTypes: false } })
      return (route: { httpPart?: string }) => (route.httpPart === 'body' ? strict : coercing)(route as never)
    }) as never
  }
}
