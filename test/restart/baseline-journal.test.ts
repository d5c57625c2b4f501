import t from 'tap'
import { mirroredCluster, until, watchFor } from '../helpers/watch-app.js'
import { Cluster, USERS, R } from '../helpers/cluster.js'
import { testApp, type TestApp } from '../helpers/app.js'
import type { JournalEntry } from '../../src/store/state.js'

// A fresh store's first list is journaled as it arrives (a crash mid-sync
// must not turn the next start's list into creates). What a Pod, a
// ReplicaSet or an Event contributes to the state is small (owner links and
// labels; a dedup key), and so must be its journal entry: at 100,000 objects
// these kinds were 48 of the 122 MB journaled. The journal alone, replayed
// after a SIGKILL, must rebuild exactly the state the live run had.

function coreEvent (c: Cluster, pod: any, n: number): any {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${String(pod.metadata.name)}.${n.toString(16)}`, namespace: 'shop', uid: c.uid(), resourceVersion: c.nextRV(), creationTimestamp: c.ts() },
    involvedObject: { kind: 'Pod', namespace: 'shop', name: pod.metadata.name, uid: pod.metadata.uid, apiVersion: 'v1', resourceVersion: pod.metadata.resourceVersion, fieldPath: 'spec.containers{web}' },
    reason: 'Pulled',
    message: 'Container image "web:1.4" already present on machine',
    source: { component: 'kubelet', host: 'node-1' },
    firstTimestamp: c.ts(),
    lastTimestamp: c.ts(),
    count: n,
    type: 'Normal',
    eventTime: null,
    reportingComponent: 'kubelet',
    reportingInstance: 'node-1'
  }
}

function journal (a: TestApp): JournalEntry[] {
  const rows = a.app.store.db.prepare('SELECT entries FROM state_journal ORDER BY seq').all() as Array<{ entries: string }>
  return rows.flatMap(r => JSON.parse(r.entries) as JournalEntry[])
}

// (The clock a restart resumes at is the only part of the state that differs.)
const comparable = (s: unknown): unknown => { const { resumedAt: _r, ...rest } = JSON.parse(JSON.stringify(s)); return rest }

t.setTimeout(5 * 60_000)

t.test('a fresh first list journals what each object contributes, and the journal alone rebuilds the state', async t => {
  const { dir, c, api } = await mirroredCluster(t, 'kc-baseline-journal-')
  c.service(USERS.alice, 'shop', 'web', { app: 'web' })
  c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1.4', 3))
  c.runDeploymentController('shop', 'web', { service: 'web' })
  // (The simulated cluster writes pods to audit only: their objects, as the API lists them.)
  const pods = [...c.pods].map(([name, p]) => {
    const rs = c.get(R.replicasets, p.ns, p.rs)
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name, namespace: p.ns, uid: p.uid, resourceVersion: c.nextRV(), creationTimestamp: c.ts(), generateName: `${String(p.rs)}-`,
        labels: rs.spec.template.metadata.labels,
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: p.rs, uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true }]
      },
      spec: { containers: [{ name: 'web', image: 'web:1.4' }], nodeName: 'node-1' },
      status: { phase: 'Running', podIP: p.ip }
    }
    api.mirror('/api/v1/pods', 'ADDED', pod)
    return pod
  })
  t.equal(pods.length, 3, 'the cluster runs three pods')
  for (const [i, pod] of pods.entries()) api.mirror('/api/v1/events', 'ADDED', coreEvent(c, pod, i + 1))
  c.take()

  const a = await testApp({ dir, start: c.t })
  const w = await watchFor(a, api)
  await until(() => w.informers.every(i => i.informer.list().length === api.list(i.path).length), 'informers converge')
  const live = comparable(a.app.pipeline.exportState())

  const baselines = journal(a).filter((e): e is Extract<JournalEntry, { k: 'b' }> => e.k === 'b')
  const of = (kind: string): Array<Extract<JournalEntry, { k: 'b' }>> => baselines.filter(e => e.o.ref.kind === kind)
  t.equal(of('Pod').length, 3, 'each pod is journaled once')
  for (const e of of('Pod')) {
    t.same(e.o.object, { metadata: { labels: e.o.object?.metadata?.labels } }, `pod ${e.o.ref.name}: its labels only`)
    t.match(e.o.owners, [{ kind: 'ReplicaSet', controller: true }], `pod ${e.o.ref.name}: and its owner`)
  }
  t.ok(of('ReplicaSet').length >= 1, 'the replica set is journaled')
  for (const e of of('ReplicaSet')) t.same(Object.keys(e.o.object ?? {}), ['metadata'], `replica set ${e.o.ref.name}: its labels only`)
  t.equal(of('Event').length, 3, 'each event is journaled once')
  for (const e of of('Event')) t.same(Object.keys(e.o.object ?? {}).filter(k => k !== 'series'), ['count'], `event ${e.o.ref.name}: its count only`)
  const deployment = of('Deployment')
  t.equal(deployment.length, 1)
  t.equal(deployment[0].o.object?.spec?.template?.spec?.containers?.[0]?.image, 'web:1.4', 'a root keeps its template (a later rollout diffs against it)')
  const podBytes = Math.max(...of('Pod').map(e => JSON.stringify(e).length))
  t.ok(podBytes < 600, `a pod's entry is ${podBytes} bytes (736 before: the object's identity and owners twice)`)

  // SIGKILL: no snapshot, the journal is all the next start has.
  await w.stop()
  a.app.store.db.close()
  const b = await testApp({ dir, start: c.t })
  t.teardown(b.close)
  t.equal(b.app.restored.snapshot, false, 'restored from the journal alone')
  t.same(comparable(b.app.pipeline.exportState()), live, 'the same state as the live run')

  // And the next first list, compared with it, is nothing new.
  const w2 = await watchFor(b, api)
  t.teardown(w2.stop)
  for (let i = 0; i < 4; i++) await b.advance(10_000)
  t.same(b.stored(), [], 'no change invented')
})
