import t from 'tap'
import { exceedsDepth } from '../../src/http/json-depth.js'

const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n)
const parsed = (s: string): unknown => JSON.parse(s)

t.test('nesting of objects and arrays is counted, not brackets inside strings', async t => {
  t.equal(exceedsDepth(parsed(deep(3)), 3), false)
  t.equal(exceedsDepth(parsed(deep(4)), 3), true)
  t.equal(exceedsDepth(parsed('{"a":{"b":{"c":1}}}'), 3), false)
  t.equal(exceedsDepth(parsed('{"a":{"b":{"c":{}}}}'), 3), true)
  t.equal(exceedsDepth(parsed(JSON.stringify({ s: '[[[[[[{{{{' })), 2), false, 'brackets in a string')
  t.equal(exceedsDepth(parsed(JSON.stringify({ s: '\\"', t: [[[[1]]]] })), 3), true, 'deep after an escaped quote')
  t.equal(exceedsDepth(parsed(JSON.stringify([deep(10)]) + ''), 2), false)
  t.equal(exceedsDepth(parsed('[1, {"a": [2, {"b": [3]}]}, 4]'), 5), false)
  t.equal(exceedsDepth(parsed('[1, {"a": [2, {"b": [3]}]}, 4]'), 4), true, 'a deep branch after shallow siblings')
  t.equal(exceedsDepth(parsed('{"__proto__": {"x": {"y": {}}}}'), 3), true, 'a __proto__ key is an own property like any other')
  t.equal(exceedsDepth(parsed('"text"'), 1), false)
  t.equal(exceedsDepth(null, 1), false)
})

t.test('a hostile depth is answered without recursion', async t => {
  t.equal(exceedsDepth(parsed(deep(200_000)), 64), true)
  t.equal(exceedsDepth(parsed(deep(64)), 64), false)
})
