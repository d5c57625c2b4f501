import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, CONTROLLERS, R, USERS, type AuditEvent } from '../helpers/cluster.js'
import { eventList, testApp } from '../helpers/app.js'

// Most of a busy cluster's audit events are controllers' writes to pods that
// the policy logs at Metadata level: no body, so no uid and no owner to follow.
// They can never be part of a change (the rules say "bookkeeping"), so what
// they leave in the state, the object index and the journal must be their
// auditID only: otherwise memory and the journal grow with every pod ever named.

function bookkeeping (c: Cluster, n: number): AuditEvent[] {
  for (let i = 0; i < n; i++) {
    const pod = `web-7d4f9c-${String(i).padStart(5, '0')}`
    c.request({ user: CONTROLLERS.replicaset, verb: 'create', r: R.pods, ns: 'shop', name: pod, level: 'Metadata' })
    c.request({ user: CONTROLLERS.scheduler, verb: 'create', r: R.pods, ns: 'shop', name: pod, sub: 'binding', level: 'Metadata' })
    c.request({ user: CONTROLLERS.kubelet('node-1'), verb: 'patch', r: R.pods, ns: 'shop', name: pod, sub: 'status', level: 'Metadata' })
    c.advance(10)
  }
  return c.take()
}

async function dropped (a: Awaited<ReturnType<typeof testApp>>, reason: string): Promise<number> {
  const m = await a.app.metrics.registry.getSingleMetric('kubechanges_events_dropped_total')!.get()
  return m.values.find(v => v.labels.reason === reason)?.value ?? 0
}

t.test('controllers\' Metadata-level pod writes leave only their auditIDs, also across a restart', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-bookkeeping-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const c = new Cluster()
  const a = await testApp({ dir, start: c.t })
  const batches = [bookkeeping(c, 100), bookkeeping(c, 100)]
  for (const b of batches) {
    const res = await a.post(eventList(b))
    t.same(res, { statusCode: 200, json: { received: 300, observations: 300, dropped: 0, malformed: 0 } })
  }
  await a.advance(60_000)
  t.equal(a.app.pipeline.correlator.indexSize, 0, 'no object index entry for pods whose uid nobody knows')
  t.same(a.stored(), [], 'no change')
  const rows = a.app.store.db.prepare('SELECT entries FROM state_journal ORDER BY seq').all() as Array<{ entries: string }>
  const entries = rows.flatMap(r => JSON.parse(r.entries) as Array<{ k: string, id?: string }>)
  const seen = entries.filter(e => e.k === 's')
  t.equal(seen.length, 600, 'one journal entry per event')
  t.same(new Set(seen.map(e => e.id)), new Set(batches.flat().map(e => e.auditID)), 'each names its auditID')
  t.same(entries.filter(e => e.k !== 's' && e.k !== 'a' && e.k !== 't'), [], 'and nothing else was journaled')
  const bytes = rows.reduce((n, r) => n + r.entries.length, 0)
  t.ok(bytes < 600 * 80, `the journal holds ${bytes} bytes for 600 events (under 80 per event)`)

  // SIGKILL-like: no snapshot at close, the journal is all there is.
  a.app.store.db.close()
  const b = await testApp({ dir, start: a.clock.now })
  t.teardown(() => b.close())
  const res = await b.post(eventList(batches[1]))
  t.equal(res.statusCode, 200)
  t.equal(await dropped(b, 'duplicate'), 300, 'the re-sent batch is recognised as already seen')
  await b.advance(60_000)
  t.same(b.stored(), [], 'and still no change')
})

t.test('a person deleting a pod by hand is still a change, though audit names no uid', async t => {
  const c = new Cluster()
  const a = await testApp({ start: c.t })
  t.teardown(() => a.close())
  c.request({ user: CONTROLLERS.replicaset, verb: 'create', r: R.pods, ns: 'shop', name: 'web-1', level: 'Metadata' })
  c.advance(1000)
  c.request({ user: USERS.alice, verb: 'delete', r: R.pods, ns: 'shop', name: 'web-1', level: 'Metadata' })
  await a.post(eventList(c.take()))
  await a.advance(60_000)
  t.same(a.stored().map(x => [x.type, x.object.kind, x.object.name, x.actor?.username]), [['delete', 'Pod', 'web-1', USERS.alice.username]])
})

t.test('a pod known by name is never bookkeeping: its Metadata-level writes join the rollout it belongs to', async t => {
  const c = new Cluster()
  const a = await testApp({ start: c.t })
  t.teardown(() => a.close())
  c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1.4', 1))
  c.runDeploymentController('shop', 'web')
  await a.post(eventList(c.take()))
  await a.advance(60_000)
  c.patch(USERS.alice, R.deployments, 'shop', 'web', { spec: { template: { spec: { containers: [{ name: 'web', image: 'web:1.5' }] } } } }, o => { o.spec.template.spec.containers[0].image = 'web:1.5' })
  // A pod the policy logged once with its body (so its uid and owner are known), then a kubelet's Metadata-level patch of it.
  const rs = [...c.objects.values()].find(o => o.kind === 'ReplicaSet')
  c.create(CONTROLLERS.replicaset, R.pods, { metadata: { name: 'web-extra', namespace: 'shop', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid, controller: true }] }, spec: { containers: [{ name: 'web', image: 'web:1.4' }] } })
  c.advance(500)
  c.request({ user: CONTROLLERS.kubelet('node-1'), verb: 'patch', r: R.pods, ns: 'shop', name: 'web-extra', sub: 'status', level: 'Metadata' })
  c.runDeploymentController('shop', 'web')
  await a.post(eventList(c.take()))
  await a.advance(60_000)
  const rollout = a.stored().find(x => x.type === 'rollout')
  t.ok(rollout, 'the rollout is reported')
  t.same(rollout!.timeline.filter(e => e.name === 'web-extra').map(e => [e.action, e.subresource, e.user]),
    [['create', undefined, CONTROLLERS.replicaset.username], ['status', 'status', CONTROLLERS.kubelet('node-1').username]],
    'with the known pod\'s writes in its timeline, the kubelet\'s Metadata-level patch included')
})
