import t from 'tap'
import { StringDecoder } from 'node:string_decoder'
import { JsonReader } from '../../plugins/streamed-json.ts'

/** Reads `text` as UTF-8 bytes split at `cuts` (byte offsets), the way a body arrives in chunks. */
function readInPieces (text: string, cuts: number[]): unknown {
  const bytes = Buffer.from(text)
  const decoder = new StringDecoder('utf8')
  const reader = new JsonReader()
  let from = 0
  for (const cut of [...cuts, bytes.length]) {
    reader.write(decoder.write(bytes.subarray(from, cut)))
    from = cut
  }
  reader.write(decoder.end())
  return reader.end()
}

const VALID = [
  '{"csv": "a,b\\nc,d\\n", "mode": "append"}',
  ' \n{ } ',
  '{"a":1,"b":[1,{"c":"}]"}],"c":{"d":null},"e":true,"f":-1.5e3,"g":""}',
  '{"quote\\"key": "\\"\\\\\\"", "u": "\\u00e9\\u0000x\\ud83d\\ude00", "raw": "é€😀"}',
  '{"a": "x", "a": "last wins"}',
  '{"nested": {"__proto__x": 1}, "s": "\\\\"}',
  '"just a string"',
  '[1, 2, {"a": "b"}]',
  '42',
  '\uFEFF{"bom": "skipped"}'
]

const INVALID = [
  '', '   ', '{', '{"a"}', '{"a":}', '{"a":1,}', '{,}', '{"a":1 "b":2}', '{"a":"x"} x', '{"a":"x\ny"}', '{"a":"\\x"}',
  '{"a":"\\u12g4"}', '{"a":[1}', '{"a":tru}', "{'a':1}", '{"a":1}}', '{"__proto__": {"x": 1}}', '{"\\u005f_proto__": 1}',
  '{"constructor": {"prototype": {"x": 1}}}', '{"a": {"__proto__": 1}}', '[1,]', '{"a":"unterminated'
]

t.test('JsonReader parses like JSON.parse whatever the chunk boundaries', async (t) => {
  for (const text of VALID) {
    const expected = JSON.parse(text.replace(/^\uFEFF/, ''))
    const length = Buffer.byteLength(text)
    t.same(readInPieces(text, []), expected, `whole: ${text}`)
    const wrong = []
    for (let cut = 0; cut <= length; cut++) {
      if (JSON.stringify(readInPieces(text, [cut])) !== JSON.stringify(expected)) wrong.push(cut)
    }
    t.same(wrong, [], `the same at every split point: ${text}`)
    const everyByte = Array.from({ length }, (_, i) => i)
    t.same(readInPieces(text, everyByte), expected, `one byte at a time: ${text}`)
  }
})

t.test('JsonReader refuses what JSON.parse (with the prototype rules) refuses, whatever the chunk boundaries', async (t) => {
  for (const text of INVALID) {
    const length = Buffer.byteLength(text)
    for (let cut = 0; cut <= length; cut++) {
      t.throws(() => readInPieces(text, [cut]), SyntaxError, `split at byte ${cut}: ${JSON.stringify(text)}`)
    }
  }
})

t.test('a long string member arrives in pieces and comes out whole', async (t) => {
  const csv = Array.from({ length: 5000 }, (_, i) => `Pack "${i}",Title\\${i},é😀,1,2`).join('\n')
  const text = JSON.stringify({ csv, mode: 'replace' })
  const cuts = []
  for (let at = 7; at < Buffer.byteLength(text); at += 4093) cuts.push(at)
  t.same(readInPieces(text, cuts), { csv, mode: 'replace' })
})
