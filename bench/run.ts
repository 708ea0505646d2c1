import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

// `npm run bench` runs every benchmark in turn, each in its own process; `npm run bench -- pick` runs one.
const ALL = ['chat-import', 'csv-import', 'pick', 'live-votes', 'session-writes', 'fanout', 'monitor', 'replicas', 'pages', 'chat-sources', 'footprint', 'idle', 'stall', 'flags', 'cold-start']
const chosen = process.argv.slice(2).length ? process.argv.slice(2) : ALL

let failed = 0
for (const name of chosen) {
  const file = new URL(`./${name}.ts`, import.meta.url).pathname
  if (!existsSync(file)) {
    console.log(`\n== ${name}: missing (${file})`)
    failed++
    continue
  }
  console.log(`\n== ${name}`)
  const { status } = spawnSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit' })
  if (status !== 0) failed++
}
process.exitCode = failed ? 1 : 0
