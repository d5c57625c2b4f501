import t from 'tap'
import { Dedup } from '../../src/correlate/dedup.js'
import type { Observation, Source } from '../../src/model.js'

// One observation per auditID and per write (uid + resourceVersion), within
// fixed memory: the last `max` of each are remembered, and what a snapshot
// keeps of them (including a store written before fingerprints) continues
// exactly.

const obs = (source: Source, uid: string, rv: string, auditID?: string): Observation => ({
  source, at: 0, action: 'update', ref: { kind: 'Deployment', apiGroup: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: 'web', uid }, resourceVersion: rv, owners: [], ...(auditID !== undefined ? { auditID } : {})
})

t.test('a write seen by the watch and then by audit is one write; the same sighting twice is a duplicate', async t => {
  const d = new Dedup()
  const first = d.check(obs('watch', 'u1', '10'))
  t.equal(first.kind, 'new')
  if (first.kind === 'new') first.record!.changeKey = 'rollout:u1'
  t.equal(d.check(obs('watch', 'u1', '10')).kind, 'duplicate')
  const audit = d.check(obs('audit', 'u1', '10', 'a-1'))
  t.equal(audit.kind, 'merge')
  if (audit.kind === 'merge') {
    t.equal(audit.record.changeKey, 'rollout:u1', 'the change the first sighting went to')
    t.equal(audit.record.sources, 1 | 4)
  }
  t.equal(d.check(obs('audit', 'u1', '10', 'a-1')).kind, 'duplicate', 'the apiserver re-sending the same event')
  t.equal(d.check(obs('watch', 'u1', '11')).kind, 'new', 'the next resourceVersion is another write')
})

t.test('bounded: the oldest writes and auditIDs are forgotten first, the newest still dedup', async t => {
  const d = new Dedup(3)
  for (let i = 0; i < 5; i++) t.equal(d.check(obs('watch', `u${i}`, '1')).kind, 'new')
  t.same(d.size, { auditIDs: 0, writes: 3 })
  t.equal(d.check(obs('watch', 'u4', '1')).kind, 'duplicate')
  t.equal(d.check(obs('watch', 'u0', '1')).kind, 'new', 'u0 fell out')
  for (const id of ['a', 'b', 'c', 'd']) t.ok(d.noteAuditID(id))
  t.notOk(d.noteAuditID('d'))
  t.notOk(d.seenAudit('a'))
  t.ok(d.seenAudit('b'))
})

t.test('a record whose entry was reused reads and writes nothing', async t => {
  const d = new Dedup(1)
  const v = d.check(obs('watch', 'old', '1'))
  d.check(obs('watch', 'new', '1'))
  if (v.kind !== 'new') throw new Error(v.kind)
  v.record!.changeKey = 'late'
  t.equal(v.record!.changeKey, undefined)
  const again = d.check(obs('audit', 'new', '1', 'x'))
  t.equal(again.kind === 'merge' ? again.record.changeKey : 'not a merge', undefined, 'the new write did not inherit it')
})

t.test('a dump loads into an equal Dedup; a store from before fingerprints loads too', async t => {
  const d = new Dedup(10)
  const v = d.check(obs('watch', 'u1', '5'))
  if (v.kind === 'new') { v.record!.changeKey = 'k1'; v.record!.claimedBy = 'alice' }
  d.check(obs('audit', 'u2', '7', 'id-2'))
  const dump = d.dump()
  const copy = new Dedup(10)
  copy.load(JSON.parse(JSON.stringify(dump)))
  t.same(copy.dump(), dump)
  const m = copy.check(obs('audit', 'u1', '5', 'id-3'))
  t.same(m.kind === 'merge' ? [m.record.changeKey, m.record.claimedBy] : m.kind, ['k1', 'alice'])
  t.equal(copy.check(obs('audit', 'u9', '1', 'id-2')).kind, 'duplicate')

  const legacy = new Dedup(10)
  legacy.load({ auditIDs: ['id-old'], writes: [['w/u3/8', { sources: 4, changeKey: 'k3' }], ['w/u4/1', { sources: 1 }]] })
  t.equal(legacy.check(obs('audit', 'u9', '1', 'id-old')).kind, 'duplicate', 'an auditID of the old store')
  const l = legacy.check(obs('audit', 'u3', '8', 'id-new'))
  t.same(l.kind === 'merge' ? l.record.changeKey : l.kind, 'k3', 'a write of the old store, with its change')
  t.equal(legacy.check(obs('watch', 'u4', '1')).kind, 'merge')
})
