import fp from 'fastify-plugin'
import { Picker } from '../domain/picker.ts'
import { seedCatalogIfEmpty } from '../domain/catalog.ts'

// The domain layer is a folder of plain modules whose operations take the database first (domain/*.ts); this plugin
// holds the little per-process state some of them keep, so every route of this instance shares it. At boot it loads
// the bundled game catalog into an empty database (after the db plugin's migrations, before any route is ready).
export default fp(async function domain (app) {
  const seeded = await seedCatalogIfEmpty(app.db)
  if (seeded) app.log.info({ games: seeded }, 'loaded the bundled game catalog')
  app.decorate('picker', new Picker(app.db))
}, { name: 'domain', dependencies: ['db'] })

declare module 'fastify' {
  interface FastifyInstance {
    picker: Picker
  }
}
