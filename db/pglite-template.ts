// Writes a freshly initialised embedded database directory as a gzipped tarball (`npm run build` puts it in
// dist/db/). The service unpacks it into an empty DATA_DIR instead of running PGlite's initdb at first boot: initdb
// is what made a first boot peak at ~1.1 GB RSS, where opening an existing directory peaks at ~0.35 GB.
import { writeFileSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'

const out = process.argv[2] ?? 'dist/db/pglite-template.tar.gz'
const db = new PGlite() // in memory: only its files are wanted
await db.waitReady
const tarball = await db.dumpDataDir('gzip')
writeFileSync(out, Buffer.from(await tarball.arrayBuffer()))
await db.close()
console.log(`wrote ${out} (${Math.round(tarball.size / 1024)} KB)`)
