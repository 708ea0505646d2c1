import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { basename, join, relative } from 'node:path'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import * as esbuild from 'esbuild'

// Builds the two pages into pages/dist: each entry bundled and minified under a content-hashed name in assets/
// (served as immutable), its HTML rewritten to point at those names, and every file precompressed (.br, .gz) so the
// server sends bytes without compressing per request. The runtime needs none of this: it serves the files.

const ROOT = new URL('.', import.meta.url).pathname
export const DIST = join(ROOT, 'dist')
const PAGES = ['console', 'overlay'] as const
const STAMP = '.source-hash'

/** A hash of everything the output depends on: the sources, the HTML, this script and the bundler's version. */
function sourceHash (): string {
  const hash = createHash('sha256').update(esbuild.version)
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else hash.update(relative(ROOT, path)).update('\0').update(readFileSync(path))
    }
  }
  walk(join(ROOT, 'src'))
  for (const page of PAGES) hash.update(readFileSync(join(ROOT, `${page}.html`)))
  hash.update(readFileSync(new URL(import.meta.url)))
  return hash.digest('hex')
}

export function isStale (): boolean {
  try {
    return readFileSync(join(DIST, STAMP), 'utf8') !== sourceHash()
  } catch {
    return true
  }
}

// Written next to the target and renamed over it, so a server (or a parallel build) never reads half a file.
function writeAtomic (path: string, data: string | Buffer) {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, data)
  renameSync(tmp, path)
}

function precompress (path: string) {
  const data = readFileSync(path)
  writeAtomic(`${path}.br`, brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } }))
  writeAtomic(`${path}.gz`, gzipSync(data, { level: 9 }))
}

export async function buildPages ({ ifStale = false, quiet = false } = {}): Promise<boolean> {
  if (ifStale && !isStale()) return false
  const hash = sourceHash()
  const assets = join(DIST, 'assets')
  mkdirSync(assets, { recursive: true })
  // Written to a directory of our own first: parallel builds (test files started together) never see each other's.
  const out = join(DIST, `.build-${process.pid}`)
  rmSync(out, { recursive: true, force: true })
  const result = await esbuild.build({
    entryPoints: Object.fromEntries(PAGES.map((page) => [page, join(ROOT, 'src', page, 'main.tsx')])),
    absWorkingDir: join(ROOT, '..'),
    outdir: out,
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome103', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    sourcemap: 'linked',
    legalComments: 'none',
    metafile: true,
    logLevel: quiet ? 'silent' : 'warning'
  })
  const outputs = Object.entries(result.metafile.outputs)
  for (const [file] of outputs) {
    const name = basename(file)
    renameSync(join(ROOT, '..', file), join(assets, name))
    if (!name.endsWith('.map')) precompress(join(assets, name))
  }
  rmSync(out, { recursive: true, force: true })
  for (const page of PAGES) {
    const entry = join(ROOT, 'src', page, 'main.tsx')
    const [js, output] = outputs.find(([, o]) => o.entryPoint && join(ROOT, '..', o.entryPoint) === entry)!
    let html = readFileSync(join(ROOT, `${page}.html`), 'utf8')
      .replace(`/assets/${page}.js`, `/assets/${basename(js)}`)
    html = output.cssBundle
      ? html.replace(`/assets/${page}.css`, `/assets/${basename(output.cssBundle)}`)
      : html.replace(new RegExp(`\\s*<link rel="stylesheet" href="/assets/${page}.css">`), '')
    writeAtomic(join(DIST, `${page}.html`), html)
    precompress(join(DIST, `${page}.html`))
  }
  // Assets of older builds are left in place: a tab opened before a rebuild may still ask for them.
  writeAtomic(join(DIST, STAMP), hash)
  if (!quiet) console.log(`pages built into ${relative(process.cwd(), DIST) || '.'}`)
  return true
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const built = await buildPages({ ifStale: process.argv.includes('--if-stale') })
  if (!built) console.log('pages are up to date')
  if (!existsSync(join(DIST, 'console.html'))) process.exitCode = 1
}
