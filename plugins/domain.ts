import fp from 'fastify-plugin'
import { Picker } from '../domain/picker.ts'

// The domain layer is a folder of plain modules whose operations take the database first (domain/*.ts); this plugin
// holds the little per-process state some of them keep, so every route of this instance shares it.
export default fp(async function domain (app) {
  app.decorate('picker', new Picker(app.db))
}, { name: 'domain', dependencies: ['db'] })

declare module 'fastify' {
  interface FastifyInstance {
    picker: Picker
  }
}
