// A list page parsed item by item gives exactly what JSON.parse of the whole
// page gives, in order, and rejects exactly what JSON.parse rejects.

import t from 'tap'
import fc from 'fast-check'
import { parseListItems } from '../../../src/sources/watch/list-items.js'

function parsedBoth (text: string): { items: unknown[], rest: Record<string, unknown> } {
  const items: unknown[] = []
  const rest = parseListItems(text, it => { items.push(it) })
  return { items, rest }
}

t.test('a PodList as the apiserver sends it: every item, in order, and the other members', async t => {
  const page = {
    kind: 'PodList',
    apiVersion: 'v1',
    metadata: { resourceVersion: '1234', continue: 'eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ', remainingItemCount: 2 },
    items: [
      { metadata: { name: 'a', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"spec":{"x":"}]\\\\"}}\n' } } },
      { metadata: { name: 'b "quoted" \\ back' }, spec: { containers: [{ args: ['[', '{', '\\"', ''] }] } }
    ]
  }
  const heads: unknown[] = []
  const items: unknown[] = []
  const rest = parseListItems(JSON.stringify(page, null, 1), (it, head) => { items.push(it); heads.push({ ...head }) })
  t.same(items, page.items)
  t.same(rest, { kind: 'PodList', apiVersion: 'v1', metadata: page.metadata, items: true })
  t.same(heads[0], { kind: 'PodList', apiVersion: 'v1', metadata: page.metadata }, 'the members before items are known to each item')
})

t.test('an empty or null items, and none', async t => {
  t.same(parsedBoth('{"kind":"PodList","items":[]}'), { items: [], rest: { kind: 'PodList', items: true } })
  t.same(parsedBoth('{"kind":"PodList","items":null}'), { items: [], rest: { kind: 'PodList', items: null } })
  t.same(parsedBoth(' { } '), { items: [], rest: {} })
  t.same(parsedBoth('{"items":{"a":1}}'), { items: [], rest: { items: { a: 1 } } }, 'items that are not an array are returned as parsed')
})

t.test('same as JSON.parse for any object with an items array', async t => {
  fc.assert(fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.array(fc.jsonValue()), fc.boolean(), (members, items, pretty) => {
    const page = { ...members, items }
    const text = pretty ? JSON.stringify(page, null, 2) : JSON.stringify(page)
    const expected = JSON.parse(text) as Record<string, unknown>
    const got = parsedBoth(text)
    t.same(got.items, expected.items)
    const { items: _items, ...others } = expected
    t.same(got.rest, { ...others, items: true })
  }), { numRuns: 200 })
})

t.test('rejects what JSON.parse rejects', async t => {
  const good = JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: '1' }, items: [{ metadata: { name: 'a"b' } }, { metadata: { name: 'c' } }] })
  for (const other of ['[]', '"x"', '1', 'null']) t.throws(() => parseListItems(other, () => {}), SyntaxError, `not an object: ${other}`)
  for (const bad of ['', '{', '{"items":[', '{"items":[{"a":1},]}', '{"items":[{"a":1}]', '{"items":[{"a":1}]} x', '{"kind":"PodList",}', '{kind:1}', '{"a" 1}', '{"items":[{"a":"\\x"}]}']) {
    t.throws(() => JSON.parse(bad), SyntaxError, `JSON.parse rejects ${bad}`)
    t.throws(() => parseListItems(bad, () => {}), SyntaxError, `rejects ${bad}`)
  }
  fc.assert(fc.property(fc.nat(good.length - 1), fc.constantFrom('', '}', ']', '"', ',', ':', '\\', '{', '['), (at, insert) => {
    const text = good.slice(0, at) + insert + good.slice(at + 1)
    let parses = true
    try { JSON.parse(text) } catch { parses = false }
    let ours = true
    try { parseListItems(text, () => {}) } catch (err) { ours = false; t.ok(err instanceof SyntaxError) }
    t.equal(ours, parses, `same verdict for ${text}`)
  }), { numRuns: 300 })
})

t.test('members of each item\'s metadata can be left out unparsed: the rest is as JSON.parse gives it', async t => {
  const drop = new Set(['managedFields'])
  const without = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v
    const o = { ...(v as Record<string, unknown>) }
    if (o.metadata !== null && typeof o.metadata === 'object' && !Array.isArray(o.metadata)) {
      const { managedFields: _mf, ...meta } = o.metadata as Record<string, unknown>
      o.metadata = meta
    }
    return o
  }
  const items = [
    { metadata: { name: 'a', managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:metadata': { '}': {} } } }], uid: '1' }, spec: { managedFields: 'kept: not metadata' } },
    { metadata: { managedFields: [] } },
    { metadata: { name: 'last', managedFields: [{ a: '"]' }] } },
    { managedFields: 'kept: not in metadata', metadata: { labels: { managedFields: 'kept: deeper' } } },
    'not an object', 3, null, []
  ]
  for (const pretty of [false, true]) {
    const got: unknown[] = []
    parseListItems(JSON.stringify({ kind: 'PodList', items }, null, pretty ? 2 : undefined), it => { got.push(it) }, drop)
    t.same(got, items.map(without), pretty ? 'pretty-printed' : 'compact')
  }
  fc.assert(fc.property(fc.array(fc.record({ metadata: fc.dictionary(fc.constantFrom('name', 'managedFields', 'uid', 'labels', 'x'), fc.jsonValue()), spec: fc.jsonValue() }, { requiredKeys: [] })), fc.boolean(), (page, pretty) => {
    const text = JSON.stringify({ kind: 'PodList', items: page }, null, pretty ? 1 : undefined)
    const got: unknown[] = []
    parseListItems(text, it => { got.push(it) }, drop)
    t.same(got, (JSON.parse(text).items as unknown[]).map(without))
  }), { numRuns: 200 })
})
