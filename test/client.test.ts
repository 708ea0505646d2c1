import t from 'tap'
import { readFileSync } from 'node:fs'
import { build } from './helper.ts'
import { CLIENT_TYPES, clientTypes } from '../client/generate.ts'

// client/api.d.ts is generated from /docs/json; a route or schema change must come with `npm run gen:client`.
t.test('the committed client types match what the service publishes now', async (t) => {
  const app = await build(t)
  const spec = (await app.inject('/docs/json')).json()
  const generated = (await clientTypes(spec)).split('\n')
  const committed = readFileSync(CLIENT_TYPES, 'utf8').split('\n')
  const line = generated.findIndex((text, i) => text !== committed[i])
  const first = line === -1 && generated.length === committed.length ? undefined : (line === -1 ? Math.min(generated.length, committed.length) : line)
  t.equal(first, undefined, first === undefined
    ? 'client/api.d.ts is current'
    : `client/api.d.ts is stale from line ${first + 1}: committed ${JSON.stringify(committed[first])}, published ${JSON.stringify(generated[first])}; run npm run gen:client`)
})
