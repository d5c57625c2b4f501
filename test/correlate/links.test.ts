import t from 'tap'
import { Dedup } from '../../src/correlate/dedup.js'
import type { Observation, Source } from '../../src/model.js'
import { Cluster, R, USERS, watchObservation } from '../helpers/cluster.js'
import { eventList, testApp } from '../helpers/app.js'

// A write remembers the change it went to only while that change is open. The
// change's key is its object's uid, under which the object's next change opens
// again: a link kept longer would hand a late second sighting of an old write
// to the next change, and would hold memory for every write remembered.

const obs = (source: Source, uid: string, rv: string, auditID?: string): Observation => ({
  source, at: 0, action: 'update', ref: { kind: 'ConfigMap', apiGroup: '', version: 'v1', resource: 'configmaps', namespace: 'shop', name: 'app', uid }, resourceVersion: rv, owners: [], ...(auditID !== undefined ? { auditID } : {})
})

t.test('a late watch sighting of a write whose change has closed does not join the object\'s next change', async t => {
  const c = new Cluster()
  const a = await testApp({ start: c.t })
  t.teardown(() => a.close())
  c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'shop' }, data: { mode: 'a' } })
  a.app.inTransaction(() => { a.app.pipeline.baseline(watchObservation(R.configmaps, c.get(R.configmaps, 'shop', 'app'), 'create', c.t)) })
  c.take()
  c.patch(USERS.bob, R.configmaps, 'shop', 'app', { data: { mode: 'b' } }, o => { o.data.mode = 'b' })
  const bobs = watchObservation(R.configmaps, c.get(R.configmaps, 'shop', 'app'), 'update', 0).object
  t.equal((await a.post(eventList(c.take()))).statusCode, 200)
  await a.advance(60_000)
  c.advance(60_000)
  c.patch(USERS.alice, R.configmaps, 'shop', 'app', { data: { mode: 'c' } }, o => { o.data.mode = 'c' })
  t.equal((await a.post(eventList(c.take()))).statusCode, 200)
  // The watch, far behind, now shows bob's write: audit already reported it.
  a.app.pipeline.ingest(watchObservation(R.configmaps, bobs, 'update', c.t))
  await a.advance(60_000)
  t.same(a.stored().map(x => [x.actor?.username, x.details.diff, x.timeline.map(e => [e.source, e.user])]), [
    [USERS.bob.username, [{ path: 'data.mode' }], [['audit', USERS.bob.username]]],
    [USERS.alice.username, [{ path: 'data.mode' }], [['audit', USERS.alice.username]]]
  ], 'alice\'s change has her write only')
  t.equal(a.app.pipeline.correlator.openCount, 0)
})

t.test('a change leaving the window takes its links along; a loaded state keeps only open changes\' links', async t => {
  const d = new Dedup(10)
  const w1 = d.check(obs('audit', 'u1', '5', 'a1'))
  const w2 = d.check(obs('audit', 'u1', '6', 'a2'))
  if (w1.kind !== 'new' || w2.kind !== 'new') throw new Error('not new')
  w1.record!.changeKey = 'u1'
  w1.record!.claimedBy = 'alice'
  w2.record!.changeKey = 'u1'
  const w3 = d.check(obs('audit', 'u3', '1', 'a3'))
  if (w3.kind !== 'new') throw new Error('not new')
  w3.record!.claimedBy = 'bob'
  t.equal(d.links, 2, 'a claim without a change is not kept: nothing reads it')
  w3.record!.changeKey = 'u3'
  t.equal(d.links, 3)

  const saved = JSON.parse(JSON.stringify(d.dump()))
  d.forget('u1')
  t.equal(d.links, 1)
  const late = d.check(obs('watch', 'u1', '5'))
  t.same(late.kind === 'merge' ? [late.record.changeKey, late.record.claimedBy, late.record.sources] : late.kind, [undefined, undefined, 1 | 4], 'still one write, but of no open change')
  d.forget('u1')
  t.equal(d.links, 1, 'forgetting twice is harmless')

  const loaded = new Dedup(10)
  loaded.load(saved)
  t.equal(loaded.links, 3)
  loaded.retainLinks(key => key === 'u3')
  t.equal(loaded.links, 1, 'only the open change u3 keeps its link')
  loaded.forget('u3')
  t.equal(loaded.links, 0, 'and a loaded link is forgotten with its change')
})

t.test('under traffic, links stay with the open changes instead of growing with the writes remembered', async t => {
  const c = new Cluster()
  const a = await testApp({ start: c.t })
  t.teardown(() => a.close())
  const answers: number[] = []
  for (let i = 0; i < 40; i++) {
    const name = `app-${i}`
    c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'shop' }, data: { n: '0' } })
    for (let k = 1; k <= 3; k++) c.patch(USERS.bob, R.configmaps, 'shop', name, { data: { n: String(k) } }, o => { o.data.n = String(k) })
    answers.push((await a.post(eventList(c.take()))).statusCode)
    c.advance(10_000)
    await a.advance(10_000)
  }
  t.same(new Set(answers), new Set([200]))
  t.equal(a.stored().length, 40, 'one change per ConfigMap')
  t.equal(a.app.pipeline.correlator.openCount, 0)
  t.equal(a.app.pipeline.correlator.linkCount, 0, '160 writes remembered, none linked to a closed change')
})
