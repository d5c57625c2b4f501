import t from 'tap'
import { exceedsDepth } from '../../src/http/json-depth.js'

const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n)

t.test('nesting is counted outside strings only, escapes included', async t => {
  t.equal(exceedsDepth(Buffer.from(deep(3)), 3), false)
  t.equal(exceedsDepth(Buffer.from(deep(4)), 3), true)
  t.equal(exceedsDepth(Buffer.from('{"a":{"b":{"c":1}}}'), 3), false)
  t.equal(exceedsDepth(Buffer.from('{"a":{"b":{"c":{}}}}'), 3), true)
  t.equal(exceedsDepth(Buffer.from(JSON.stringify({ s: '[[[[[[{{{{' })), 2), false, 'brackets in a string')
  t.equal(exceedsDepth(Buffer.from(JSON.stringify({ s: 'say "[[[[" \\' })), 2), false, 'escaped quotes and a trailing backslash')
  t.equal(exceedsDepth(Buffer.from(JSON.stringify({ s: '\\"' , t: [[[[1]]]] })), 3), true, 'an escaped backslash before a quote ends the string')
  t.equal(exceedsDepth(Buffer.from('{"unterminated": "[[[['), 1), false, 'left for JSON.parse to reject')
  t.equal(exceedsDepth(Buffer.from(JSON.stringify([deep(10)]) + deep(2)), 2), false)
})
