import t from 'tap'
import type { Test } from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import pino from 'pino'
import { FakeApiServer, type FakeApiServerOptions } from '../helpers/fake-apiserver.js'
import { Cluster, CONTROLLERS, USERS, R } from '../helpers/cluster.js'
import { eventList, testApp, type TestApp } from '../helpers/app.js'
import { createWatchSource, type WatchSource } from '../../src/sources/watch.js'
import type { Change } from '../../src/model.js'
import { collection } from '../helpers/watch-app.js'

// Scenarios through the real informers against the fake apiserver: every
// write is made by the cluster simulator (test/helpers/cluster.ts) the way
// people and controllers make it, and mirrored into the fake apiserver with
// the same uid and resourceVersion. Each scenario asserts the exact set of
// changes the pipeline reports: no more, no less.
//
// Time: a watch observation is stamped with the app's clock when the informer
// receives it. `phase(gap, writes)` moves the simulator's time by `gap`, sets
// the app's clock to it, makes the writes and waits until every informer has
// delivered them, so the durations in the reports are the phases' times.

async function sleep (ms: number): Promise<void> { await new Promise(r => setTimeout(r, ms)) }

async function until (f: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!f()) {
    if (Date.now() > end) throw new Error(`condition not met in time: ${what}`)
    await sleep(15)
  }
}

interface World {
  c: Cluster
  api: FakeApiServer
  a: TestApp
  watch: WatchSource
  /** Wait until every informer holds exactly what the apiserver holds. */
  settle: () => Promise<void>
  /** Move time by gapMs, stamp the app's clock, make the writes, settle. Returns the phase's time. */
  phase: (gapMs: number, writes: () => void) => Promise<number>
  /** Restarts of every informer, by reason (from the metrics). */
  restarts: () => Promise<Record<string, number>>
}

async function world (t: Test, opts: { preload?: (c: Cluster, api: FakeApiServer) => void, api?: FakeApiServerOptions, watchdogMs?: number } = {}): Promise<World> {
  const c = new Cluster()
  const api = await FakeApiServer.create(opts.api ?? {})
  t.teardown(async () => { await api.close() })
  c.onWrite = (type, r, obj) => { api.mirror(collection(r), type, obj) }
  opts.preload?.(c, api)
  const a = await testApp({ start: c.t })
  t.teardown(a.close)
  const kc = new KubeConfig()
  kc.loadFromOptions(api.kubeConfigOptions())
  const watch = createWatchSource({
    kc,
    pipeline: a.app.pipeline,
    log: pino({ level: 'silent' }),
    registry: a.app.metrics.registry,
    now: () => a.clock.now,
    backoff: { initialMs: 20, maxMs: 100 },
    ...(opts.watchdogMs !== undefined ? { watchdogMs: opts.watchdogMs } : {})
  })
  a.app.readiness.push(watch.readiness)
  t.teardown(watch.stop)
  watch.start()
  let synced = false
  void watch.synced().then(() => { synced = true })
  await until(() => synced, 'every informer listed')
  // Listed is not watching yet: a fault injected before the watches are open would test nothing.
  await until(() => api.openWatches() === watch.informers.length, 'every watch open')
  c.take() // the audit stream of the preload: not posted unless a scenario says so
  a.clock.now = Math.max(a.clock.now, c.t)
  const state = (objs: any[]): string => objs.map(o => `${o.metadata.uid as string}@${o.metadata.resourceVersion as string}`).sort().join()
  const settle = async (): Promise<void> => {
    await until(() => watch.informers.every(i => state(i.informer.list()) === state(api.list(i.path))), 'informers converge')
    await sleep(30)
  }
  const phase = async (gapMs: number, writes: () => void): Promise<number> => {
    c.advance(gapMs)
    a.clock.now = Math.max(a.clock.now, c.t)
    const at = a.clock.now
    writes()
    await settle()
    return at
  }
  const restarts = async (): Promise<Record<string, number>> => {
    const m = await a.app.metrics.registry.getSingleMetric('kubechanges_informer_restarts_total')?.get()
    const out: Record<string, number> = {}
    for (const v of m?.values ?? []) out[String(v.labels.reason)] = (out[String(v.labels.reason)] ?? 0) + v.value
    return out
  }
  return { c, api, a, watch, settle, phase, restarts }
}

/** The part of a change a person reads: what, how it ended, who, the summary. */
function brief (ch: Change): { type: string, outcome: string, object: string, actor: string | null, summary: string } {
  return { type: ch.type, outcome: ch.outcome, object: `${ch.object.kind} ${ch.object.namespace}/${ch.object.name}`, actor: ch.actor?.username ?? null, summary: ch.summary }
}

/** Every printed change is stored once and has its own id. */
function noDuplicates (t: Test, a: TestApp): void {
  const ids = a.printed.map(x => x.id)
  t.equal(new Set(ids).size, ids.length, 'no change printed twice')
  t.equal(a.stored().length, a.printed.length, 'the store holds exactly what was printed')
}

// ---- objects as the apiserver stores them --------------------------------------

const ownerRef = (o: any): any => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, uid: o.metadata.uid, controller: true, blockOwnerDeletion: true })

function statefulSet (ns: string, name: string, image: string, replicas: number, partition = 0): any {
  return {
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      podManagementPolicy: 'OrderedReady',
      // kube-apiserver defaults rollingUpdate.partition to 0.
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition } },
      revisionHistoryLimit: 10,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      template: {
        metadata: { creationTimestamp: null, labels: { app: name } },
        spec: { containers: [{ name, image, ports: [{ containerPort: 5432, name: 'pg', protocol: 'TCP' }], resources: {} }], restartPolicy: 'Always', terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst' }
      }
    }
  }
}

function daemonSet (ns: string, name: string, image: string): any {
  return {
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: {
      selector: { matchLabels: { app: name } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      revisionHistoryLimit: 10,
      template: {
        metadata: { creationTimestamp: null, labels: { app: name } },
        spec: { containers: [{ name, image, resources: {} }], restartPolicy: 'Always', terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst' }
      }
    }
  }
}

/** A pod as its controller creates it and the kubelet reports it. */
function createPod (c: Cluster, owner: any, name: string, opts: { ip?: string, ready?: boolean, labels?: Record<string, string>, node?: string, image?: string } = {}): any {
  const ns = owner.metadata.namespace
  const user = owner.kind === 'StatefulSet' ? CONTROLLERS.statefulset : owner.kind === 'DaemonSet' ? CONTROLLERS.daemonset : owner.kind === 'Job' ? CONTROLLERS.job : CONTROLLERS.replicaset
  const image = opts.image ?? owner.spec.template.spec.containers[0].image
  const pod = c.create(user, R.pods, {
    metadata: { name, namespace: ns, labels: { ...owner.spec.template.metadata.labels, ...(opts.labels ?? {}) }, ownerReferences: [ownerRef(owner)] },
    spec: { containers: [{ name: owner.spec.template.spec.containers[0].name, image }], nodeName: opts.node ?? 'node-1', restartPolicy: 'Always' },
    status: { phase: 'Pending' }
  }, { level: 'Metadata' })
  if (opts.ready !== false) {
    return c.update(CONTROLLERS.kubelet(opts.node ?? 'node-1'), R.pods, ns, name, o => {
      o.status = { phase: 'Running', podIP: opts.ip ?? c.podIP(), hostIP: '172.18.0.3', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: o.spec.containers[0].name, image, ready: true, restartCount: 0 }] }
    }, { sub: 'status', level: 'Metadata' })
  }
  return pod
}

/** The endpointslice controller's slice of a Service, from the ready pods given. */
function writeSlice (c: Cluster, svc: any, sliceName: string, pods: any[]): any {
  const ns = svc.metadata.namespace
  const endpoints = pods.filter(p => p.status?.podIP !== undefined).map(p => ({
    addresses: [p.status.podIP],
    conditions: { ready: true, serving: true, terminating: false },
    nodeName: p.spec.nodeName,
    targetRef: { kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid }
  }))
  if (c.get(R.endpointslices, ns, sliceName) === undefined) {
    return c.create(CONTROLLERS.endpointslice, R.endpointslices, {
      metadata: { name: sliceName, namespace: ns, generateName: `${svc.metadata.name as string}-`, labels: { 'kubernetes.io/service-name': svc.metadata.name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' }, ownerReferences: [ownerRef(svc)] },
      addressType: 'IPv4',
      endpoints,
      ports: [{ name: '', port: 8080, protocol: 'TCP' }]
    })
  }
  return c.update(CONTROLLERS.endpointslice, R.endpointslices, ns, sliceName, o => { o.endpoints = endpoints })
}

/** Pods the simulator's ReplicaSets made (c.pods, audit only) as objects in the apiserver, with their owner. */
function mirrorPods (c: Cluster, api: FakeApiServer, mirrored: Set<string>): void {
  for (const [name, p] of c.pods) {
    if (mirrored.has(name)) continue
    mirrored.add(name)
    const rs = c.get(R.replicasets, p.ns, p.rs)
    api.mirror('/api/v1/pods', 'ADDED', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: p.ns, uid: p.uid, resourceVersion: c.nextRV(), labels: { ...rs.spec.template.metadata.labels, 'pod-template-hash': rs.metadata.labels['pod-template-hash'] }, ownerReferences: [ownerRef(rs)] },
      spec: { containers: rs.spec.template.spec.containers, nodeName: 'node-1' },
      status: { phase: 'Running', podIP: p.ip, conditions: [{ type: 'Ready', status: 'True' }] }
    })
  }
  for (const name of [...mirrored]) {
    if (c.pods.has(name)) continue
    mirrored.delete(name)
    const cur = api.list('/api/v1/pods').find(o => o.metadata?.name === name)
    if (cur !== undefined) api.mirror('/api/v1/pods', 'DELETED', { ...cur, metadata: { ...cur.metadata, resourceVersion: c.nextRV() } })
  }
}

/** After a write made with the apiserver's own create(): the simulator's next resourceVersion must be newer. */
function syncRV (c: Cluster, api: FakeApiServer): void {
  while (Number(c.nextRV()) < api.rv) { /* skip */ }
}

/** A core v1 Event made by a controller or kubelet, as kube-apiserver stores it; also served by events.k8s.io/v1 (same uid). */
let eventSeq = 0

function recordEvent (c: Cluster, api: FakeApiServer, involved: any, e: { reason: string, message: string, type?: 'Normal' | 'Warning', component: string, count?: number }): any {
  const ns = involved.metadata.namespace
  const ts = new Date(c.t).toISOString().replace(/\.\d+Z$/, 'Z')
  const ev = api.create(`/api/v1/namespaces/${ns as string}/events`, {
    metadata: { name: `${involved.metadata.name as string}.${(0x17a3f00000000 + ++eventSeq).toString(16)}`, namespace: ns },
    involvedObject: { kind: involved.kind, namespace: ns, name: involved.metadata.name, uid: involved.metadata.uid, apiVersion: involved.apiVersion, resourceVersion: involved.metadata.resourceVersion },
    reason: e.reason,
    message: e.message,
    type: e.type ?? 'Warning',
    source: { component: e.component },
    firstTimestamp: ts,
    lastTimestamp: ts,
    count: e.count ?? 1,
    reportingComponent: e.component,
    reportingInstance: ''
  })
  // The same object through events.k8s.io/v1: regarding/note/deprecatedCount.
  api.mirror('/apis/events.k8s.io/v1/events', 'ADDED', {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: ev.metadata,
    eventTime: null,
    regarding: ev.involvedObject,
    reason: e.reason,
    note: e.message,
    type: e.type ?? 'Warning',
    reportingController: e.component,
    reportingInstance: '',
    deprecatedSource: { component: e.component },
    deprecatedFirstTimestamp: ts,
    deprecatedLastTimestamp: ts,
    deprecatedCount: e.count ?? 1
  })
  syncRV(c, api)
  return ev
}

// ---- StatefulSet and DaemonSet rollouts -------------------------------------------

function stsStatus (c: Cluster, ns: string, name: string, s: { ready: number, updated: number, current: number, currentRevision: string, updateRevision: string }): any {
  return c.update(CONTROLLERS.statefulset, R.statefulsets, ns, name, o => {
    o.status = {
      observedGeneration: o.metadata.generation,
      replicas: o.spec.replicas,
      readyReplicas: s.ready,
      availableReplicas: s.ready,
      currentReplicas: s.current,
      updatedReplicas: s.updated,
      currentRevision: s.currentRevision,
      updateRevision: s.updateRevision,
      collisionCount: 0
    }
  }, { sub: 'status' })
}

t.test('StatefulSet rollouts: kubectl\'s rule, plain and partitioned → one rollout succeeded each', async t => {
  const pods = new Map<string, any>()
  const cachePods = new Map<string, any>()
  let svc: any
  const { c, a, phase } = await world(t, {
    preload: c => {
      svc = c.service(USERS.alice, 'shop', 'db', { app: 'db' }, { clusterIP: 'None', clusterIPs: ['None'] })
      const sts = c.create(USERS.alice, R.statefulsets, statefulSet('shop', 'db', 'postgres:15.6', 3))
      for (let i = 0; i < 3; i++) pods.set(`db-${i}`, createPod(c, sts, `db-${i}`, { labels: { 'controller-revision-hash': 'db-5d8f7c9b4' } }))
      stsStatus(c, 'shop', 'db', { ready: 3, updated: 3, current: 3, currentRevision: 'db-5d8f7c9b4', updateRevision: 'db-5d8f7c9b4' })
      writeSlice(c, svc, 'db-x7k2p', [...pods.values()])
      const cache = c.create(USERS.alice, R.statefulsets, statefulSet('shop', 'cache', 'redis:7.2', 4, 2))
      for (let i = 0; i < 4; i++) cachePods.set(`cache-${i}`, createPod(c, cache, `cache-${i}`, { labels: { 'controller-revision-hash': 'cache-6b7d' } }))
      stsStatus(c, 'shop', 'cache', { ready: 4, updated: 4, current: 4, currentRevision: 'cache-6b7d', updateRevision: 'cache-6b7d' })
    }
  })
  await a.advance(60_000)
  t.same(a.printed, [], 'the baseline is not a change')
  const sts = c.get(R.statefulsets, 'shop', 'db')
  const oldIPs = [...pods.values()].map(p => p.status.podIP as string).sort()

  const OLD = 'db-5d8f7c9b4'
  const NEW = 'db-7f9c8d6b5'
  const t0 = await phase(60_000, () => {
    c.patch(USERS.alice, R.statefulsets, 'shop', 'db', { spec: { template: { spec: { containers: [{ name: 'db', image: 'postgres:16.2' }] } } } },
      o => { o.spec.template.spec.containers[0].image = 'postgres:16.2' })
  })
  await phase(500, () => {
    // The controller sees the new revision; pods are replaced from the highest ordinal down.
    stsStatus(c, 'shop', 'db', { ready: 3, updated: 0, current: 3, currentRevision: OLD, updateRevision: NEW })
    c.delete(CONTROLLERS.statefulset, R.pods, 'shop', 'db-2', { level: 'Metadata' })
    pods.delete('db-2')
    writeSlice(c, svc, 'db-x7k2p', [...pods.values()])
    stsStatus(c, 'shop', 'db', { ready: 2, updated: 0, current: 2, currentRevision: OLD, updateRevision: NEW })
  })
  let tEnd = 0
  for (const [i, step] of [[2, 1], [1, 2], [0, 3]] as const) {
    tEnd = await phase(10_000, () => {
      pods.set(`db-${i}`, createPod(c, sts, `db-${i}`, { labels: { 'controller-revision-hash': NEW }, image: 'postgres:16.2' }))
      writeSlice(c, svc, 'db-x7k2p', [...pods.values()])
      if (step < 3) {
        stsStatus(c, 'shop', 'db', { ready: 3, updated: step, current: 3 - step, currentRevision: OLD, updateRevision: NEW })
        c.delete(CONTROLLERS.statefulset, R.pods, 'shop', `db-${i - 1}`, { level: 'Metadata' })
        pods.delete(`db-${i - 1}`)
        writeSlice(c, svc, 'db-x7k2p', [...pods.values()])
        stsStatus(c, 'shop', 'db', { ready: 2, updated: step, current: 2 - step, currentRevision: OLD, updateRevision: NEW })
      } else {
        // All updated and ready: currentRevision catches up with updateRevision.
        stsStatus(c, 'shop', 'db', { ready: 3, updated: 3, current: 3, currentRevision: NEW, updateRevision: NEW })
      }
    })
    if (step < 3) {
      await a.advance(1000)
      t.equal(a.printed.length, 0, `not done at ${step}/3 updated`)
    }
  }
  a.clock.now = Math.max(a.clock.now, tEnd)
  await a.advance(4000)
  t.equal(a.printed.length, 0, 'the quiet period has not passed')
  await a.advance(2000)
  t.same(a.printed.map(brief), [{ type: 'rollout', outcome: 'succeeded', object: 'StatefulSet shop/db', actor: null, summary: `StatefulSet shop/db rolled out, image postgres:15.6 → postgres:16.2, 3/3 available in ${Math.round((tEnd - t0) / 1000)} s` }])
  const r = a.printed[0]!
  t.equal(r.object.uid, sts.metadata.uid)
  t.equal(r.durationMs, tEnd - t0)
  t.same(r.details.images, [{ container: 'db', from: 'postgres:15.6', to: 'postgres:16.2' }])
  t.same(r.details.replicas, { desired: 3, ready: 3, available: 3, updated: 3 })
  t.equal(r.details.revision, undefined, 'revision numbers are a Deployment thing')
  const newIPs = [...pods.values()].map(p => p.status.podIP as string).sort()
  t.same(r.details.endpoints, [{ service: 'shop/db', added: newIPs, removed: oldIPs }], 'the headless Service\'s endpoints fold into the rollout')
  t.ok((r.counts.watch ?? 0) >= 15, 'status writes, pods and slices folded in')

  // Partitioned: partition 2 of 4 → done once 2 pods run the new revision; currentRevision never catches up.
  const cache = c.get(R.statefulsets, 'shop', 'cache')
  const p0 = await phase(3_600_000, () => {
    c.patch(USERS.alice, R.statefulsets, 'shop', 'cache', { spec: { template: { spec: { containers: [{ name: 'cache', image: 'redis:7.4' }] } } } },
      o => { o.spec.template.spec.containers[0].image = 'redis:7.4' })
  })
  await phase(1000, () => {
    stsStatus(c, 'shop', 'cache', { ready: 4, updated: 0, current: 4, currentRevision: 'cache-6b7d', updateRevision: 'cache-9c1e' })
    c.delete(CONTROLLERS.statefulset, R.pods, 'shop', 'cache-3', { level: 'Metadata' })
    stsStatus(c, 'shop', 'cache', { ready: 3, updated: 0, current: 3, currentRevision: 'cache-6b7d', updateRevision: 'cache-9c1e' })
  })
  await phase(8000, () => {
    createPod(c, cache, 'cache-3', { labels: { 'controller-revision-hash': 'cache-9c1e' }, image: 'redis:7.4' })
    stsStatus(c, 'shop', 'cache', { ready: 4, updated: 1, current: 3, currentRevision: 'cache-6b7d', updateRevision: 'cache-9c1e' })
    c.delete(CONTROLLERS.statefulset, R.pods, 'shop', 'cache-2', { level: 'Metadata' })
    stsStatus(c, 'shop', 'cache', { ready: 3, updated: 1, current: 2, currentRevision: 'cache-6b7d', updateRevision: 'cache-9c1e' })
  })
  await a.advance(10_000)
  t.equal(a.printed.length, 1, '1 of 2 partitioned pods updated: not done')
  const p1 = await phase(20_000, () => {
    createPod(c, cache, 'cache-2', { labels: { 'controller-revision-hash': 'cache-9c1e' }, image: 'redis:7.4' })
    stsStatus(c, 'shop', 'cache', { ready: 4, updated: 2, current: 2, currentRevision: 'cache-6b7d', updateRevision: 'cache-9c1e' })
  })
  await a.advance(6000)
  t.equal(a.printed.length, 2)
  t.same(brief(a.printed[1]!), { type: 'rollout', outcome: 'succeeded', object: 'StatefulSet shop/cache', actor: null, summary: `StatefulSet shop/cache rolled out, image redis:7.2 → redis:7.4, 4/4 available in ${Math.round((p1 - p0) / 1000)} s` })
  t.same(a.printed[1]!.details.replicas, { desired: 4, ready: 4, available: 4, updated: 2 })
  noDuplicates(t, a)
})

t.test('DaemonSet rollout: updatedNumberScheduled and numberAvailable reach desiredNumberScheduled → one rollout succeeded', async t => {
  const nodes = ['node-1', 'node-2', 'node-3']
  const pods = new Map<string, any>()
  const dsStatus = (c: Cluster, s: { updated: number, available: number }): void => {
    c.update(CONTROLLERS.daemonset, R.daemonsets, 'kube-system', 'node-agent', o => {
      o.status = {
        observedGeneration: o.metadata.generation,
        desiredNumberScheduled: 3,
        currentNumberScheduled: 3,
        numberMisscheduled: 0,
        numberReady: s.available,
        numberAvailable: s.available,
        ...(s.available < 3 ? { numberUnavailable: 3 - s.available } : {}),
        updatedNumberScheduled: s.updated
      }
    }, { sub: 'status' })
  }
  const { c, a, phase } = await world(t, {
    preload: c => {
      const ds = c.create(USERS.alice, R.daemonsets, daemonSet('kube-system', 'node-agent', 'agent:1.0'))
      for (const n of nodes) pods.set(n, createPod(c, ds, `node-agent-${n.slice(-1)}a`, { node: n }))
      dsStatus(c, { updated: 3, available: 3 })
    }
  })
  await a.advance(60_000)
  t.same(a.printed, [])
  const ds = c.get(R.daemonsets, 'kube-system', 'node-agent')
  const t0 = await phase(60_000, () => {
    c.patch(USERS.bob, R.daemonsets, 'kube-system', 'node-agent', { spec: { template: { spec: { containers: [{ name: 'node-agent', image: 'agent:1.1' }] } } } },
      o => { o.spec.template.spec.containers[0].image = 'agent:1.1' })
  })
  await phase(200, () => { dsStatus(c, { updated: 0, available: 3 }) })
  let tEnd = 0
  for (const [i, n] of nodes.entries()) {
    await phase(1000, () => {
      c.delete(CONTROLLERS.daemonset, R.pods, 'kube-system', pods.get(n).metadata.name, { level: 'Metadata' })
      dsStatus(c, { updated: i, available: 2 })
    })
    tEnd = await phase(6000, () => {
      pods.set(n, createPod(c, ds, `node-agent-${n.slice(-1)}b`, { node: n, image: 'agent:1.1' }))
      dsStatus(c, { updated: i + 1, available: 3 })
    })
    if (i < 2) {
      await a.advance(500)
      t.equal(a.printed.length, 0, `${i + 1}/3 nodes updated: not done`)
    }
  }
  a.clock.now = Math.max(a.clock.now, tEnd)
  await a.advance(6000)
  t.same(a.printed.map(brief), [{ type: 'rollout', outcome: 'succeeded', object: 'DaemonSet kube-system/node-agent', actor: null, summary: `DaemonSet kube-system/node-agent rolled out, image agent:1.0 → agent:1.1, 3/3 available in ${Math.round((tEnd - t0) / 1000)} s` }])
  t.same(a.printed[0]!.details.images, [{ container: 'node-agent', from: 'agent:1.0', to: 'agent:1.1' }])
  t.same(a.printed[0]!.details.replicas, { desired: 3, ready: 3, available: 3, updated: 3 })
  t.equal(a.printed[0]!.durationMs, tEnd - t0)
  noDuplicates(t, a)
})

// ---- Services ---------------------------------------------------------------------

t.test('Service cluster IP change (delete + re-create) and type change to LoadBalancer, then its ingress IP', async t => {
  const { c, a, phase } = await world(t, {
    preload: c => {
      const svc = c.service(USERS.alice, 'shop', 'api', { app: 'api' }, { clusterIP: '10.96.0.50', clusterIPs: ['10.96.0.50'] })
      writeSlice(c, svc, 'api-8sj2k', [
        { metadata: { name: 'api-1', uid: c.uid() }, spec: { nodeName: 'node-1' }, status: { podIP: '10.1.3.1' } },
        { metadata: { name: 'api-2', uid: c.uid() }, spec: { nodeName: 'node-1' }, status: { podIP: '10.1.3.2' } }
      ])
      c.service(USERS.alice, 'shop', 'front', { app: 'front' }, { clusterIP: '10.96.0.60', clusterIPs: ['10.96.0.60'] })
    }
  })
  const old = c.get(R.services, 'shop', 'api')
  const endpointsOf = (slice: any): any[] => slice.endpoints.map((e: any) => ({ metadata: { name: e.targetRef.name, uid: e.targetRef.uid }, spec: { nodeName: e.nodeName }, status: { podIP: e.addresses[0] } }))
  const podsBehind = endpointsOf(c.get(R.endpointslices, 'shop', 'api-8sj2k'))

  // clusterIP is immutable: changing it is a delete and a create; the GC removes the old slice,
  // the endpointslice controller writes a new one for the new Service.
  await phase(60_000, () => { c.delete(USERS.alice, R.services, 'shop', 'api') })
  await phase(300, () => { c.delete(CONTROLLERS.gc, R.endpointslices, 'shop', 'api-8sj2k') })
  await phase(4000, () => {
    c.service(USERS.alice, 'shop', 'api', { app: 'api' }, { clusterIP: '10.96.0.77', clusterIPs: ['10.96.0.77'] })
  })
  const fresh = c.get(R.services, 'shop', 'api')
  await phase(200, () => { writeSlice(c, fresh, 'api-p9x4t', podsBehind) })
  await a.advance(30_000)
  t.same(a.printed.map(brief), [
    { type: 'create', outcome: 'applied', object: 'Service shop/api', actor: null, summary: 'Service shop/api re-created: cluster IP 10.96.0.50 → 10.96.0.77 (ClusterIP 10.96.0.77, port 80/TCP, selector app=api)' }
  ], 'deleted and created again within the quiet period: one change, the re-created Service with the address move; the endpoints that went and came with them are not a change of their own')
  t.equal(a.printed[0]?.details.recreated?.uid, old.metadata.uid, 'it names the old Service')
  t.equal(a.printed[0]?.object.uid, fresh.metadata.uid, 'the change is the new one')

  // ClusterIP → LoadBalancer: the apiserver allocates a node port; the service controller
  // writes the load balancer's IP into status later; then the IP moves.
  const n = a.printed.length
  await phase(3_600_000, () => {
    c.patch(USERS.bob, R.services, 'shop', 'front', { spec: { type: 'LoadBalancer' } }, o => {
      o.spec.type = 'LoadBalancer'
      o.spec.ports[0].nodePort = 31380
      o.spec.externalTrafficPolicy = 'Cluster'
      o.spec.allocateLoadBalancerNodePorts = true
    })
  })
  await phase(45_000, () => {
    c.update({ username: 'system:serviceaccount:kube-system:service-controller', groups: [] }, R.services, 'shop', 'front', o => {
      o.status = { loadBalancer: { ingress: [{ ip: '203.0.113.7', ipMode: 'VIP' }] } }
    }, { sub: 'status' })
  })
  await phase(3_600_000, () => {
    c.update({ username: 'system:serviceaccount:kube-system:service-controller', groups: [] }, R.services, 'shop', 'front', o => {
      o.status = { loadBalancer: { ingress: [{ ip: '203.0.113.9', ipMode: 'VIP' }] } }
    }, { sub: 'status' })
  })
  await a.advance(6000)
  t.same(a.printed.slice(n).map(brief), [
    { type: 'update', outcome: 'applied', object: 'Service shop/front', actor: null, summary: 'Service shop/front updated: type ClusterIP → LoadBalancer, ports 80/TCP → 80:31380/TCP (LoadBalancer 10.96.0.60)' },
    { type: 'update', outcome: 'applied', object: 'Service shop/front', actor: null, summary: 'Service shop/front updated: load-balancer IP ∅ → 203.0.113.7 (LoadBalancer 10.96.0.60)' },
    { type: 'update', outcome: 'applied', object: 'Service shop/front', actor: null, summary: 'Service shop/front updated: load-balancer IP 203.0.113.7 → 203.0.113.9 (LoadBalancer 10.96.0.60)' }
  ])
  t.same(a.printed[n]?.details.diff, [
    { path: 'spec.type', from: 'ClusterIP', to: 'LoadBalancer' },
    { path: 'spec.ports', from: [{ port: 80, targetPort: 8080, protocol: 'TCP' }], to: [{ port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 31380 }] }
  ])
  t.same(a.printed[n + 1]?.details.diff, [{ path: 'status.loadBalancer.ingress', from: [], to: ['203.0.113.7'] }])
  t.same(a.printed[n + 2]?.details.diff, [{ path: 'status.loadBalancer.ingress', from: ['203.0.113.7'], to: ['203.0.113.9'] }])
  noDuplicates(t, a)
})

t.test('endpoints moved by a pod rescheduled with no rollout → exactly one endpoints change, net diff, after the quiet period', async t => {
  const mirrored = new Set<string>()
  const { c, api, a, phase } = await world(t, {
    preload: (c, api) => {
      c.service(USERS.alice, 'shop', 'db', { app: 'db' })
      c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'db', 'db:15', 2))
      c.runDeploymentController('shop', 'db', { service: 'db' })
      mirrorPods(c, api, mirrored)
    }
  })
  await a.advance(60_000)
  t.same(a.printed, [])
  const svc = c.get(R.services, 'shop', 'db')
  const rs = [...c.objects.values()].find(o => o.kind === 'ReplicaSet' && o.metadata.name.startsWith('db-'))
  const [victim, vp] = [...c.pods.entries()][0]!
  // The node is lost: the slice drops the pod, the pod is deleted, the ReplicaSet
  // makes a new one elsewhere, which becomes ready and joins the slice.
  const t0 = await phase(3_600_000, () => {
    c.update(CONTROLLERS.endpointslice, R.endpointslices, 'shop', 'db-abcde', o => { o.endpoints = o.endpoints.filter((e: any) => e.targetRef.name !== victim) })
    c.pods.delete(victim)
    mirrorPods(c, api, mirrored)
    c.update(CONTROLLERS.replicaset, R.replicasets, 'shop', rs.metadata.name, o => { o.status = { ...o.status, readyReplicas: 1, availableReplicas: 1 } }, { sub: 'status' })
  })
  const t1 = await phase(2000, () => {
    c.pods.set('db-new', { rs: rs.metadata.name, ip: '10.1.2.99', ns: 'shop', uid: c.uid() })
    mirrorPods(c, api, mirrored)
    c.update(CONTROLLERS.endpointslice, R.endpointslices, 'shop', 'db-abcde', o => {
      o.endpoints.push({ addresses: ['10.1.2.99'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-2', targetRef: { kind: 'Pod', namespace: 'shop', name: 'db-new', uid: c.pods.get('db-new')!.uid } })
    })
    c.update(CONTROLLERS.replicaset, R.replicasets, 'shop', rs.metadata.name, o => { o.status = { ...o.status, readyReplicas: 2, availableReplicas: 2 } }, { sub: 'status' })
  })
  t.ok(t1 > t0)
  await a.advance(4000)
  t.equal(a.printed.length, 0, 'still inside the quiet period')
  await a.advance(2000)
  t.same(a.printed.map(brief), [{ type: 'endpoints', outcome: 'applied', object: 'Service shop/db', actor: null, summary: `shop/db endpoints changed +10.1.2.99 −${vp.ip}` }])
  t.equal(a.printed[0]?.object.uid, svc.metadata.uid)
  t.same(a.printed[0]?.details.endpoints, [{ service: 'shop/db', added: ['10.1.2.99'], removed: [vp.ip] }])

  // Unready and back within the quiet period: net zero, no change.
  await phase(60_000, () => { c.update(CONTROLLERS.endpointslice, R.endpointslices, 'shop', 'db-abcde', o => { o.endpoints[0].conditions.ready = false }) })
  await phase(1000, () => { c.update(CONTROLLERS.endpointslice, R.endpointslices, 'shop', 'db-abcde', o => { o.endpoints[0].conditions.ready = true }) })
  await a.advance(60_000)
  t.equal(a.printed.length, 1, 'net zero is not a change')
  noDuplicates(t, a)
})

// ---- Deployments: failure with Events, in progress at start-up, deletes ----------------

t.test('a rollout that fails (ProgressDeadlineExceeded) says why from the Events', async t => {
  const mirrored = new Set<string>()
  const { c, api, a, phase } = await world(t, {
    preload: (c, api) => {
      c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1.4', 3))
      c.runDeploymentController('shop', 'web')
      c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'api', 'api:2.0', 2))
      c.runDeploymentController('shop', 'api')
      mirrorPods(c, api, mirrored)
    }
  })
  await a.advance(60_000)
  t.same(a.printed, [])
  const web = c.get(R.deployments, 'shop', 'web')
  const api1 = c.get(R.deployments, 'shop', 'api')

  let backOff: any
  // web: the new ReplicaSet cannot create pods (quota): FailedCreate on the ReplicaSet.
  // api: the new image does not exist: the kubelet's BackOff / Failed events on the pod.
  const t0 = await phase(60_000, () => {
    c.setImage(USERS.alice, 'shop', 'web', 'web:1.5')
    c.setImage(USERS.alice, 'shop', 'api', 'api:nope')
  })
  await phase(1000, () => {
    c.runDeploymentController('shop', 'web', { stall: true })
    c.runDeploymentController('shop', 'api', { stall: true })
    mirrorPods(c, api, mirrored)
  })
  await phase(2000, () => {
    const webRS = [...c.objects.values()].find(o => o.kind === 'ReplicaSet' && o.metadata.ownerReferences[0].uid === web.metadata.uid && o.metadata.annotations['deployment.kubernetes.io/revision'] === '2')
    recordEvent(c, api, c.get(R.deployments, 'shop', 'web'), { type: 'Normal', reason: 'ScalingReplicaSet', message: `Scaled up replica set ${webRS.metadata.name as string} to 1`, component: 'deployment-controller' })
    recordEvent(c, api, webRS, { reason: 'FailedCreate', message: `Error creating: pods "${webRS.metadata.name as string}-x2x9z" is forbidden: exceeded quota: compute, requested: cpu=500m, used: cpu=4, limited: cpu=4`, component: 'replicaset-controller' })
    const apiRS = [...c.objects.values()].find(o => o.kind === 'ReplicaSet' && o.metadata.ownerReferences[0].uid === api1.metadata.uid && o.metadata.annotations['deployment.kubernetes.io/revision'] === '2')
    const pod = api.list('/api/v1/pods').find(p => p.metadata?.ownerReferences?.[0]?.uid === apiRS.metadata.uid)
    t.ok(pod, 'the new ReplicaSet\'s pod is in the apiserver')
    recordEvent(c, api, pod, { type: 'Normal', reason: 'Pulling', message: 'Pulling image "api:nope"', component: 'kubelet' })
    recordEvent(c, api, pod, { reason: 'Failed', message: 'Error: ImagePullBackOff', component: 'kubelet' })
    backOff = recordEvent(c, api, pod, { type: 'Normal', reason: 'BackOff', message: 'Back-off pulling image "api:nope"', component: 'kubelet' })
  })
  await phase(60_000, () => {
    // The kubelet repeats itself: the same Event, its count 1 → 3 (both APIs show the update).
    const ts = new Date(c.t).toISOString().replace(/\.\d+Z$/, 'Z')
    const ev = api.patch('/api/v1/namespaces/shop/events', backOff.metadata.name, o => { o.count = 3; o.lastTimestamp = ts })
    const ek = api.get('/apis/events.k8s.io/v1/events', backOff.metadata.name, 'shop')!
    api.mirror('/apis/events.k8s.io/v1/events', 'MODIFIED', { ...ek, metadata: ev.metadata, deprecatedCount: 3, deprecatedLastTimestamp: ts, series: { count: 3, lastObservedTime: new Date(c.t).toISOString().replace('Z', '000Z') } })
    syncRV(c, api)
  })
  await a.advance(120_000)
  t.same(a.printed, [], 'a stalled rollout is not over')
  const t1 = await phase(600_000, () => {
    c.failDeployment('shop', 'web')
    c.failDeployment('shop', 'api')
  })
  await a.advance(6000)
  const mins = Math.round((t1 - t0) / 60_000)
  t.same(a.printed.map(brief).sort((x, y) => x.object.localeCompare(y.object)), [
    { type: 'rollout', outcome: 'failed', object: 'Deployment shop/api', actor: null, summary: `Deployment shop/api rolled out revision 2, image api:2.0 → api:nope, failed after ${mins} min: ProgressDeadlineExceeded` },
    { type: 'rollout', outcome: 'failed', object: 'Deployment shop/web', actor: null, summary: `Deployment shop/web rolled out revision 2, image web:1.4 → web:1.5, failed after ${mins} min: ProgressDeadlineExceeded` }
  ])
  const byName = new Map(a.printed.map(x => [x.object.name, x]))
  const w = byName.get('web')!
  t.equal(w.details.reason, 'ProgressDeadlineExceeded')
  t.match(w.details.message, /FailedCreate: Error creating: .*exceeded quota/, 'the Event says why')
  t.same(w.details.events?.map(e => [e.reason, e.count]).sort(), [['FailedCreate', 1], ['ScalingReplicaSet', 1]], 'each Event once, though served by both Event APIs')
  t.equal(w.counts.event, 2, 'core and events.k8s.io copies of one Event count once')
  const p = byName.get('api')!
  t.equal(p.details.reason, 'ProgressDeadlineExceeded')
  t.match(p.details.message, /BackOff: Back-off pulling image "api:nope"/)
  t.same(p.details.events?.map(e => [e.reason, e.count]).sort(), [['BackOff', 3], ['Failed', 1], ['Pulling', 1]], 'counts as the Events say them (BackOff happened 3 times)')
  noDuplicates(t, a)
})

t.test('a rollout already in progress at start-up is reported once, when it completes', async t => {
  let rsNew = ''
  let rsOld = ''
  const { c, a, phase } = await world(t, {
    preload: c => {
      c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1.4', 3))
      c.runDeploymentController('shop', 'web')
      rsOld = [...c.objects.values()].find(o => o.kind === 'ReplicaSet')!.metadata.name
      c.advance(60_000)
      c.setImage(USERS.alice, 'shop', 'web', 'web:1.5')
      c.runDeploymentController('shop', 'web', { stall: true })
      rsNew = [...c.objects.values()].find(o => o.kind === 'ReplicaSet' && o.metadata.name !== rsOld)!.metadata.name
    }
  })
  const t0 = a.clock.now
  await a.advance(60_000)
  t.same(a.printed, [], 'not reported while in progress')
  const t1 = await phase(120_000, () => {
    // The deployment controller carries on: the new ReplicaSet up, the old one down.
    c.update(CONTROLLERS.deployment, R.replicasets, 'shop', rsNew, o => { o.spec.replicas = 3 })
    c.update(CONTROLLERS.replicaset, R.replicasets, 'shop', rsNew, o => { o.status = { replicas: 3, readyReplicas: 3, availableReplicas: 3, fullyLabeledReplicas: 3, observedGeneration: o.metadata.generation } }, { sub: 'status' })
    c.update(CONTROLLERS.deployment, R.replicasets, 'shop', rsOld, o => { o.spec.replicas = 0 })
    c.update(CONTROLLERS.replicaset, R.replicasets, 'shop', rsOld, o => { o.status = { replicas: 0, observedGeneration: o.metadata.generation } }, { sub: 'status' })
    c.update(CONTROLLERS.deployment, R.deployments, 'shop', 'web', o => {
      o.status = {
        observedGeneration: o.metadata.generation,
        replicas: 3,
        updatedReplicas: 3,
        readyReplicas: 3,
        availableReplicas: 3,
        conditions: o.status.conditions.map((x: any) => x.type === 'Progressing' ? { ...x, reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsNew}" has successfully progressed.` } : x)
      }
    }, { sub: 'status' })
  })
  await a.advance(6000)
  t.equal(a.printed.length, 1, 'reported once')
  const r = a.printed[0]!
  t.same(brief(r), { type: 'rollout', outcome: 'succeeded', object: 'Deployment shop/web', actor: null, summary: r.summary })
  t.equal(r.details.revision, 2)
  t.same(r.details.replicas, { desired: 3, ready: 3, available: 3, updated: 3 })
  t.equal(r.startedAt, new Date(t0).toISOString(), 'known since start-up')
  t.equal(r.endedAt, new Date(t1).toISOString())
  // What the report may say about images: the old one is known (the old ReplicaSet's
  // template) or not said; never "∅ → web:1.5", which reads as a container added.
  const images = r.details.images ?? []
  t.notOk(images.some(i => i.from === null), `no invented "from" image: ${JSON.stringify(images)}`)
  t.notMatch(r.summary, /∅/, 'the summary does not claim a container was added')
  await a.advance(3_600_000)
  t.equal(a.printed.length, 1)
  noDuplicates(t, a)
})

t.test('Jobs through the watch: one change each when they end (also one running at start-up)', async t => {
  const job = (name: string): any => ({ metadata: { name, namespace: 'batch' }, spec: { backoffLimit: 2, completions: 1, parallelism: 1, template: { metadata: { labels: { 'job-name': name } }, spec: { containers: [{ name: 'r', image: 'report:1' }], restartPolicy: 'Never' } } } })
  let startedEarly = ''
  const { c, a, phase } = await world(t, {
    preload: c => {
      c.create(USERS.ci, R.jobs, job('backfill'))
      startedEarly = new Date(c.t).toISOString().replace(/\.\d+Z$/, 'Z')
      c.update(CONTROLLERS.job, R.jobs, 'batch', 'backfill', o => { o.status = { startTime: startedEarly, active: 1, ready: 1 } }, { sub: 'status' })
      c.create(USERS.ci, R.jobs, job('done-long-ago'))
      c.update(CONTROLLERS.job, R.jobs, 'batch', 'done-long-ago', o => { o.status = { startTime: startedEarly, completionTime: startedEarly, succeeded: 1, conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: startedEarly }] } }, { sub: 'status' })
    }
  })
  await a.advance(60_000)
  t.same(a.printed, [])
  let start = ''
  await phase(60_000, () => {
    const j = c.create(USERS.ci, R.jobs, job('nightly-report'))
    start = new Date(c.t).toISOString().replace(/\.\d+Z$/, 'Z')
    c.update(CONTROLLERS.job, R.jobs, 'batch', 'nightly-report', o => { o.status = { startTime: start, active: 1 } }, { sub: 'status' })
    createPod(c, j, 'nightly-report-x1x2c')
  })
  await a.advance(60_000)
  t.same(a.printed, [], 'a running Job is not reported')
  let end = ''
  await phase(12 * 60_000, () => {
    end = new Date(c.t).toISOString().replace(/\.\d+Z$/, 'Z')
    c.update(CONTROLLERS.job, R.jobs, 'batch', 'nightly-report', o => {
      o.status = { startTime: start, completionTime: end, succeeded: 1, ready: 0, conditions: [{ type: 'SuccessCriteriaMet', status: 'True', lastTransitionTime: end }, { type: 'Complete', status: 'True', lastTransitionTime: end }] }
    }, { sub: 'status' })
  })
  let failedAt = ''
  await phase(1000, () => {
    failedAt = new Date(c.t).toISOString().replace(/\.\d+Z$/, 'Z')
    c.update(CONTROLLERS.job, R.jobs, 'batch', 'backfill', o => {
      o.status = { startTime: startedEarly, failed: 3, ready: 0, conditions: [{ type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastTransitionTime: failedAt }, { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastTransitionTime: failedAt }] }
    }, { sub: 'status' })
  })
  await a.advance(6000)
  const mins = (from: string, to: string): number => Math.round((Date.parse(to) - Date.parse(from)) / 60_000)
  t.same(a.printed.map(brief), [
    { type: 'job', outcome: 'succeeded', object: 'Job batch/nightly-report', actor: null, summary: `Job batch/nightly-report succeeded in ${mins(start, end)} min` },
    { type: 'job', outcome: 'failed', object: 'Job batch/backfill', actor: null, summary: `Job batch/backfill failed after ${mins(startedEarly, failedAt)} min: BackoffLimitExceeded` }
  ])
  t.equal(a.printed[0]?.durationMs, Date.parse(end) - Date.parse(start), 'status.startTime to completionTime')
  t.equal(a.printed[1]?.details.message, 'Job has reached the specified backoff limit')
  noDuplicates(t, a)
})

t.test('a Deployment delete and its cascade (ReplicaSet and pods by the GC) → one delete', async t => {
  const mirrored = new Set<string>()
  const { c, api, a, phase } = await world(t, {
    preload: (c, api) => {
      c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'old', 'old:1', 2))
      c.runDeploymentController('shop', 'old')
      mirrorPods(c, api, mirrored)
    }
  })
  await a.advance(60_000)
  const d = c.get(R.deployments, 'shop', 'old')
  await phase(60_000, () => { c.delete(USERS.bob, R.deployments, 'shop', 'old') })
  await phase(100, () => {
    const rs = [...c.objects.values()].find(o => o.kind === 'ReplicaSet' && o.metadata.name.startsWith('old-'))
    c.delete(CONTROLLERS.gc, R.replicasets, 'shop', rs.metadata.name)
  })
  await phase(200, () => {
    c.pods.clear()
    mirrorPods(c, api, mirrored)
  })
  await a.advance(6000)
  t.same(a.printed.map(brief), [{ type: 'delete', outcome: 'applied', object: 'Deployment shop/old', actor: null, summary: 'Deployment shop/old deleted' }])
  t.equal(a.printed[0]?.object.uid, d.metadata.uid)
  t.equal(a.printed[0]?.counts.watch, 4, 'the Deployment, its ReplicaSet and both pods folded into one delete')
  noDuplicates(t, a)
})

// ---- failure modes: no duplicate, no missed change -----------------------------------

t.test('410 after compaction: changes made while the watch was cut come from the re-list diff, once', async t => {
  const { c, api, a, phase, settle, restarts } = await world(t, {
    preload: c => {
      c.service(USERS.alice, 'shop', 'a', { app: 'a' })
      c.service(USERS.alice, 'shop', 'b', { app: 'b' })
      c.service(USERS.alice, 'shop', 'gone', { app: 'gone' })
      c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1', 2))
      c.runDeploymentController('shop', 'web')
    }
  })
  await phase(60_000, () => {
    c.patch(USERS.alice, R.services, 'shop', 'a', {}, o => { o.spec.ports = [{ port: 81, targetPort: 8080, protocol: 'TCP' }] })
  })
  await a.advance(6000)
  t.same(a.printed.map(x => x.summary), ['Service shop/a updated: ports 80/TCP → 81/TCP (ClusterIP 10.96.0.20)'], 'a change before the cut')

  await api.stop()
  c.advance(60_000)
  a.clock.now = c.t
  c.patch(USERS.alice, R.services, 'shop', 'b', {}, o => { o.spec.selector = { app: 'b2' } })
  c.delete(USERS.alice, R.services, 'shop', 'gone')
  c.service(USERS.alice, 'shop', 'new', { app: 'new' })
  c.setImage(USERS.alice, 'shop', 'web', 'web:2')
  c.runDeploymentController('shop', 'web')
  api.compact()
  await sleep(150)
  await api.start()
  await settle()
  await a.advance(6000)
  t.same(a.printed.slice(1).map(brief).sort((x, y) => x.summary.localeCompare(y.summary)), [
    { type: 'rollout', outcome: 'succeeded', object: 'Deployment shop/web', actor: null, summary: 'Deployment shop/web rolled out revision 2, image web:1 → web:2, 2/2 available in 0 s' },
    { type: 'update', outcome: 'applied', object: 'Service shop/b', actor: null, summary: 'Service shop/b updated: selector app=b → app=b2 (ClusterIP 10.96.0.20)' },
    { type: 'delete', outcome: 'applied', object: 'Service shop/gone', actor: null, summary: 'Service shop/gone deleted: was ClusterIP 10.96.0.20, port 80/TCP, selector app=gone' },
    { type: 'create', outcome: 'applied', object: 'Service shop/new', actor: null, summary: 'Service shop/new created: ClusterIP 10.96.0.22, port 80/TCP, selector app=new' }
  ], 'what changed while the watch was cut, once each: the delete of an object unchanged since the first list included')
  t.same(a.printed.find(x => x.object.name === 'b')?.details.diff, [{ path: 'spec.selector', from: { app: 'b' }, to: { app: 'b2' } }])
  t.ok((await restarts()).expired !== undefined, 'the watches were refused with 410 and re-listed')

  // The watch resumed after the re-list: a later change arrives, once.
  await phase(60_000, () => { c.patch(USERS.alice, R.services, 'shop', 'a', {}, o => { o.spec.ports = [{ port: 82, targetPort: 8080, protocol: 'TCP' }] }) })
  await a.advance(6000)
  t.same(a.printed.filter(x => x.object.name === 'a').map(x => x.summary), ['Service shop/a updated: ports 80/TCP → 81/TCP (ClusterIP 10.96.0.20)', 'Service shop/a updated: ports 81/TCP → 82/TCP (ClusterIP 10.96.0.20)'], 'before and after the cut, once each')
  t.equal(a.printed.at(-1)?.summary, 'Service shop/a updated: ports 81/TCP → 82/TCP (ClusterIP 10.96.0.20)')
  noDuplicates(t, a)
})

/** A rollout with a Service, and a hook that injects `fault` after the n-th write of the rollout. */
async function rolloutUnderFault (t: Test, fault: (api: FakeApiServer) => void, at: number[]): Promise<World> {
  const w = await world(t, {
    preload: c => {
      c.service(USERS.alice, 'shop', 'web', { app: 'web' })
      c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1.4', 3))
      c.runDeploymentController('shop', 'web', { service: 'web' })
    }
  })
  const { c, api, a } = w
  await a.advance(60_000)
  t.same(a.printed, [])
  const oldIPs = c.get(R.endpointslices, 'shop', 'web-abcde').endpoints.map((e: any) => e.addresses[0]).sort()
  const t0 = await w.phase(60_000, () => { c.setImage(USERS.alice, 'shop', 'web', 'web:1.5') })
  const mirror = c.onWrite!
  let n = 0
  c.onWrite = (type, r, obj) => {
    mirror(type, r, obj)
    if (at.includes(++n)) fault(api)
  }
  // The controllers' writes, with the faults in the middle of them.
  const t1 = await w.phase(1000, () => { c.runDeploymentController('shop', 'web', { service: 'web' }) })
  t.ok(n > Math.max(...at), `the faults were injected mid-rollout (${n} writes)`)
  c.onWrite = mirror
  await a.advance(6000)
  t.same(a.printed.map(brief), [{ type: 'rollout', outcome: 'succeeded', object: 'Deployment shop/web', actor: null, summary: `Deployment shop/web rolled out revision 2, image web:1.4 → web:1.5, 3/3 available in ${Math.round((t1 - t0) / 1000)} s` }])
  const r = a.printed[0]
  t.equal(r?.startedAt, new Date(t0).toISOString())
  const newIPs = c.get(R.endpointslices, 'shop', 'web-abcde').endpoints.map((e: any) => e.addresses[0]).sort()
  t.same(r?.details.endpoints, [{ service: 'shop/web', added: newIPs, removed: oldIPs }])
  // And the next change after the faults, once.
  await w.phase(60_000, () => { c.patch(USERS.alice, R.services, 'shop', 'web', {}, o => { o.spec.ports = [{ port: 443, targetPort: 8080, protocol: 'TCP' }] }) })
  await a.advance(6000)
  t.same(a.printed.slice(1).map(x => x.summary), ['Service shop/web updated: ports 80/TCP → 443/TCP (ClusterIP 10.96.0.20)'])
  noDuplicates(t, a)
  return w
}

t.test('connections dropped mid-rollout (twice): the watches resume, one rollout', async t => {
  const w = await rolloutUnderFault(t, api => { api.dropConnections() }, [4, 15])
  t.ok((await w.restarts()).connection !== undefined, 'restarted on the dropped connections')
})

t.test('an ERROR 500 event mid-rollout: re-list diff, one rollout', async t => {
  const w = await rolloutUnderFault(t, api => { api.sendError({ code: 500, reason: 'InternalError', message: 'etcdserver: leader changed' }) }, [6])
  t.ok((await w.restarts())['error-event'] !== undefined, `re-listed after the ERROR event ${JSON.stringify(await w.restarts())}`)
})

t.test('one watch held back while the others flow (informers resume in any order): the rollout is still one change, its endpoints folded', async t => {
  const w = await world(t, {
    preload: c => {
      c.service(USERS.alice, 'shop', 'web', { app: 'web' })
      c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1.4', 3))
      c.runDeploymentController('shop', 'web', { service: 'web' })
    }
  })
  const { c, api, a, watch } = w
  await a.advance(60_000)
  const oldIPs = c.get(R.endpointslices, 'shop', 'web-abcde').endpoints.map((e: any) => e.addresses[0]).sort()
  // Every connection drops; the Deployments watch then gets 503 (its watch cache
  // re-initialising) until the EndpointSlices watch has caught up.
  let hold = true
  api.onRequest = r => { if (hold && r.path === '/apis/apps/v1/deployments') api.failRequests({ code: 503, count: 1 }) }
  api.dropConnections()
  c.advance(60_000)
  a.clock.now = c.t
  const t0 = a.clock.now
  c.setImage(USERS.alice, 'shop', 'web', 'web:1.5')
  c.runDeploymentController('shop', 'web', { service: 'web' })
  const slices = watch.informers.find(i => i.kind.kind === 'EndpointSlice')!
  const state = (objs: any[]): string => objs.map(o => `${o.metadata.uid as string}@${o.metadata.resourceVersion as string}`).sort().join()
  await until(() => state(slices.informer.list()) === state(api.list(slices.path)), 'the slices watch caught up')
  await sleep(50)
  hold = false
  await w.settle()
  t.ok(((await w.restarts())['http-error'] ?? 0) > 0, 'the Deployments watch was refused meanwhile')
  await a.advance(6000)
  t.same(a.printed.map(brief), [{ type: 'rollout', outcome: 'succeeded', object: 'Deployment shop/web', actor: null, summary: 'Deployment shop/web rolled out revision 2, image web:1.4 → web:1.5, 3/3 available in 0 s' }],
    'one rollout; its endpoint moves are not a change of their own')
  const newIPs = c.get(R.endpointslices, 'shop', 'web-abcde').endpoints.map((e: any) => e.addresses[0]).sort()
  t.same(a.printed.find(x => x.type === 'rollout')?.details.endpoints, [{ service: 'shop/web', added: newIPs, removed: oldIPs }])
  t.equal(a.printed.find(x => x.type === 'rollout')?.startedAt, new Date(t0).toISOString())
  noDuplicates(t, a)
})

t.test('the apiserver down for a second, written to meanwhile, then back: each change once', async t => {
  const { c, api, a, phase, settle, restarts } = await world(t, {
    preload: c => {
      c.service(USERS.alice, 'shop', 'web', { app: 'web' })
      c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1.4', 2))
      c.runDeploymentController('shop', 'web', { service: 'web' })
      c.create(USERS.alice, R.statefulsets, statefulSet('shop', 'db', 'postgres:15.6', 1))
      stsStatus(c, 'shop', 'db', { ready: 1, updated: 1, current: 1, currentRevision: 'db-1', updateRevision: 'db-1' })
    }
  })
  await phase(60_000, () => { c.patch(USERS.alice, R.services, 'shop', 'web', {}, o => { o.metadata.labels = { tier: 'front' } }) })
  await a.advance(6000)
  t.equal(a.printed.length, 1)
  // The rollout starts, then the apiserver goes away while the controllers carry on.
  // (With the template change also made while away, the informers' resume order decides
  // whether the endpoint moves fold into the rollout: see the "one watch held back" test.)
  const t0 = await phase(30_000, () => { c.setImage(USERS.alice, 'shop', 'web', 'web:1.5') })
  const started = Date.now()
  await api.stop()
  c.advance(1000)
  a.clock.now = c.t
  const t1 = a.clock.now
  await sleep(300)
  c.runDeploymentController('shop', 'web', { service: 'web' })
  c.patch(USERS.alice, R.statefulsets, 'shop', 'db', {}, o => { o.spec.replicas = 2 })
  stsStatus(c, 'shop', 'db', { ready: 2, updated: 2, current: 2, currentRevision: 'db-1', updateRevision: 'db-1' })
  await sleep(Math.max(0, 1000 - (Date.now() - started)))
  await api.start()
  await settle()
  await a.advance(6000)
  t.same(a.printed.slice(1).map(brief).sort((x, y) => x.object.localeCompare(y.object)), [
    { type: 'rollout', outcome: 'succeeded', object: 'Deployment shop/web', actor: null, summary: `Deployment shop/web rolled out revision 2, image web:1.4 → web:1.5, 2/2 available in ${Math.round((t1 - t0) / 1000)} s` },
    { type: 'scale', outcome: 'succeeded', object: 'StatefulSet shop/db', actor: null, summary: 'StatefulSet shop/db scaled 1 → 2, 2/2 available in 0 s' }
  ])
  t.equal(a.printed.find(x => x.type === 'rollout')?.details.endpoints?.[0]?.added.length, 2, 'the endpoint moves folded into the rollout')
  t.ok((await restarts()).connection !== undefined, 'the informers retried while the apiserver was away')
  await phase(60_000, () => { c.patch(USERS.alice, R.services, 'shop', 'web', {}, o => { o.metadata.labels = { tier: 'edge' } }) })
  await a.advance(6000)
  t.equal(a.printed.length, 4)
  noDuplicates(t, a)
})

t.test('a stalled stream (and hanging requests) is restarted by the watchdog: the change made meanwhile arrives once', async t => {
  const { c, api, a, phase, settle, restarts } = await world(t, {
    api: { bookmarkIntervalMs: 100 },
    watchdogMs: 400,
    preload: c => {
      c.service(USERS.alice, 'shop', 'web', { app: 'web' })
      c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1.4', 2))
      c.runDeploymentController('shop', 'web')
    }
  })
  await sleep(600)
  t.equal((await restarts()).watchdog, undefined, 'healthy streams with bookmarks are left alone')
  // Half-dead connections: open streams get nothing more.
  api.stall()
  await phase(60_000, () => {
    c.setImage(USERS.alice, 'shop', 'web', 'web:1.5')
    c.runDeploymentController('shop', 'web')
  })
  await a.advance(6000)
  t.same(a.printed.map(x => x.summary), ['Deployment shop/web rolled out revision 2, image web:1.4 → web:1.5, 2/2 available in 0 s'])
  t.ok(((await restarts()).watchdog ?? 0) > 0, 'the watchdog restarted the stalled streams')

  // Worse: new requests hang without headers too.
  api.stall({ newRequests: true })
  c.advance(60_000)
  a.clock.now = c.t
  c.patch(USERS.alice, R.services, 'shop', 'web', {}, o => { o.spec.ports = [{ port: 8443, targetPort: 8443, protocol: 'TCP' }] })
  await sleep(900)
  api.unstall()
  await settle()
  await a.advance(6000)
  t.same(a.printed.slice(1).map(x => x.summary), ['Service shop/web updated: ports 80/TCP → 8443/TCP (ClusterIP 10.96.0.20)'])
  noDuplicates(t, a)
})

// ---- watch and audit together -----------------------------------------------------------

t.test('watch and audit together: a StatefulSet rollout and a Service change, once each, actors from audit', async t => {
  const { c, a, phase } = await world(t, {
    preload: c => {
      c.service(USERS.alice, 'shop', 'front', { app: 'front' })
      c.create(USERS.alice, R.statefulsets, statefulSet('shop', 'db', 'postgres:15.6', 2))
      stsStatus(c, 'shop', 'db', { ready: 2, updated: 2, current: 2, currentRevision: 'db-a', updateRevision: 'db-a' })
    }
  })
  // The preload's audit events were taken by world(); audit is flowing from now on.
  t.equal((await a.post(eventList([]))).statusCode, 200)
  const t0 = await phase(60_000, () => {
    c.patch(USERS.bob, R.services, 'shop', 'front', { spec: { ports: [{ port: 443, targetPort: 8443 }] } }, o => { o.spec.ports = [{ port: 443, targetPort: 8443, protocol: 'TCP' }] })
    c.patch(USERS.alice, R.statefulsets, 'shop', 'db', { spec: { template: { spec: { containers: [{ name: 'db', image: 'postgres:16.2' }] } } } }, o => { o.spec.template.spec.containers[0].image = 'postgres:16.2' })
  })
  const batch1 = c.take()
  const t1 = await phase(20_000, () => {
    stsStatus(c, 'shop', 'db', { ready: 1, updated: 1, current: 1, currentRevision: 'db-a', updateRevision: 'db-b' })
    stsStatus(c, 'shop', 'db', { ready: 2, updated: 2, current: 2, currentRevision: 'db-b', updateRevision: 'db-b' })
  })
  const batch2 = c.take()
  await a.advance(10_000)
  t.equal(a.printed.length, 0, 'watch-opened changes wait for the audit batch while audit is flowing')
  t.equal((await a.post(eventList(batch1))).statusCode, 200)
  t.equal((await a.post(eventList(batch2))).statusCode, 200)
  await a.advance(40_000)
  t.same(a.printed.map(brief).sort((x, y) => x.object.localeCompare(y.object)), [
    { type: 'update', outcome: 'applied', object: 'Service shop/front', actor: USERS.bob.username, summary: 'Service shop/front updated, by bob@example.com: ports 80/TCP → 443/TCP (ClusterIP 10.96.0.20)' },
    { type: 'rollout', outcome: 'succeeded', object: 'StatefulSet shop/db', actor: USERS.alice.username, summary: `StatefulSet shop/db rolled out, image postgres:15.6 → postgres:16.2, by alice@example.com, 2/2 available in ${Math.round((t1 - t0) / 1000)} s` }
  ])
  for (const ch of a.printed) {
    t.ok((ch.counts.audit ?? 0) > 0 && (ch.counts.watch ?? 0) > 0, `${ch.object.kind}: both sources folded in (${JSON.stringify(ch.counts)})`)
    t.equal(ch.counts.watch, ch.counts.audit, `${ch.object.kind}: every write seen by both, merged (not counted twice)`)
  }
  noDuplicates(t, a)
})

// ---- defects found replaying a day at real pace ------------------------------------

/** A Deployment behind a Service shop/api, its slice synced. */
function apiBehindService (c: Cluster): void {
  c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'api', 'api:1', 2))
  c.runDeploymentController('shop', 'api')
  c.service(USERS.alice, 'shop', 'api', { app: 'api' }, { clusterIP: '10.96.0.40', clusterIPs: ['10.96.0.40'] })
  c.syncEndpoints('shop', 'api', { app: 'api' })
}

/** With the apiserver down, shop/api deleted and created again (a new cluster IP and slice); returns the old Service. */
async function recreateInGap (t: Test, c: Cluster, api: FakeApiServer, a: TestApp): Promise<any> {
  await a.advance(60_000)
  t.same(a.printed, [])
  const old = c.get(R.services, 'shop', 'api')
  await api.stop()
  c.advance(60_000)
  a.clock.now = c.t
  c.delete(USERS.alice, R.services, 'shop', 'api')
  c.delete(CONTROLLERS.gc, R.endpointslices, 'shop', 'api-abcde')
  c.advance(5000)
  c.service(USERS.alice, 'shop', 'api', { app: 'api' }, { clusterIP: '10.96.0.41', clusterIPs: ['10.96.0.41'] })
  c.syncEndpoints('shop', 'api', { app: 'api' })
  return old
}

t.test('watch and audit: a Service delete seen first by the watch takes its actor from the audit delete (Status details.uid)', async t => {
  const { c, a, phase } = await world(t, { preload: c => { c.service(USERS.alice, 'shop', 'old', { app: 'old' }, { clusterIP: '10.96.5.5', clusterIPs: ['10.96.5.5'] }) } })
  t.equal((await a.post(eventList([]))).statusCode, 200, 'audit is flowing')
  const uid = c.get(R.services, 'shop', 'old').metadata.uid
  await phase(60_000, () => { c.delete(USERS.bob, R.services, 'shop', 'old') })
  const batch = c.take()
  t.equal((batch[0] as any)?.objectRef?.uid, undefined, 'the audit event of a delete has no objectRef.uid')
  t.equal((batch[0] as any)?.responseObject?.details?.uid, uid)
  await a.advance(10_000)
  t.same(a.printed, [], 'the watch saw it first: it waits for the audit batch')
  t.equal((await a.post(eventList(batch))).statusCode, 200)
  await a.advance(40_000)
  t.same(a.printed.map(brief), [{ type: 'delete', outcome: 'applied', object: 'Service shop/old', actor: USERS.bob.username, summary: 'Service shop/old deleted, by bob@example.com: was ClusterIP 10.96.5.5, port 80/TCP, selector app=old' }])
  t.same(a.printed[0]?.counts, { watch: 1, audit: 1 })
  noDuplicates(t, a)
})

t.test('410 re-list: a Service deleted and re-created in the gap is its delete and its create; a DaemonSet created in the gap is a create', async t => {
  const { c, api, a, settle } = await world(t, {
    preload: apiBehindService
  })
  const old = await recreateInGap(t, c, api, a)
  const ds = c.create(USERS.alice, R.daemonsets, daemonSet('kube-system', 'agent', 'agent:1.0'))
  const agentPod = createPod(c, ds, 'agent-x1', { node: 'node-1' })
  c.update(CONTROLLERS.daemonset, R.daemonsets, 'kube-system', 'agent', o => {
    o.status = { observedGeneration: 1, desiredNumberScheduled: 1, currentNumberScheduled: 1, numberMisscheduled: 0, numberReady: 1, numberAvailable: 1, updatedNumberScheduled: 1 }
  }, { sub: 'status' })
  api.compact()
  await sleep(150)
  await api.start()
  await settle()
  await a.advance(6000)
  t.same(a.printed.map(brief).sort((x, y) => x.object.localeCompare(y.object) || x.type.localeCompare(y.type)), [
    { type: 'create', outcome: 'succeeded', object: 'DaemonSet kube-system/agent', actor: null, summary: 'DaemonSet kube-system/agent created, 1/1 available in 0 s' },
    { type: 'create', outcome: 'applied', object: 'Service shop/api', actor: null, summary: 'Service shop/api created: ClusterIP 10.96.0.41, port 80/TCP, selector app=api' },
    { type: 'delete', outcome: 'applied', object: 'Service shop/api', actor: null, summary: 'Service shop/api deleted: was ClusterIP 10.96.0.40, port 80/TCP, selector app=api' }
  ], 'what the re-list shows (a uid gone, a new uid under the old name, a new object), as what it is; no endpoints changes')
  t.equal(a.printed.find(x => x.type === 'delete')?.object.uid, old.metadata.uid)
  t.equal(a.printed.find(x => x.type === 'create' && x.object.kind === 'Service')?.object.uid, c.get(R.services, 'shop', 'api').metadata.uid)

  // The next rollout of the DaemonSet is its own, superseding nothing.
  const n = a.printed.length
  c.advance(60_000)
  a.clock.now = c.t
  c.patch(USERS.bob, R.daemonsets, 'kube-system', 'agent', { spec: { template: { spec: { containers: [{ name: 'agent', image: 'agent:1.1' }] } } } }, o => { o.spec.template.spec.containers[0].image = 'agent:1.1' })
  c.delete(CONTROLLERS.daemonset, R.pods, 'kube-system', agentPod.metadata.name, { level: 'Metadata' })
  createPod(c, c.get(R.daemonsets, 'kube-system', 'agent'), 'agent-x2', { node: 'node-1', image: 'agent:1.1' })
  c.update(CONTROLLERS.daemonset, R.daemonsets, 'kube-system', 'agent', o => {
    o.status = { observedGeneration: 2, desiredNumberScheduled: 1, currentNumberScheduled: 1, numberMisscheduled: 0, numberReady: 1, numberAvailable: 1, updatedNumberScheduled: 1 }
  }, { sub: 'status' })
  await settle()
  await a.advance(6000)
  t.same(a.printed.slice(n).map(brief), [{ type: 'rollout', outcome: 'succeeded', object: 'DaemonSet kube-system/agent', actor: null, summary: 'DaemonSet kube-system/agent rolled out, image agent:1.0 → agent:1.1, 1/1 available in 0 s' }])
  t.equal(a.printed.at(-1)?.details.superseded, undefined)
  noDuplicates(t, a)
})

// (Fails on 90e21be, before d467d38 stopped dropping re-list deletes as history: the delete was lost.)
t.test('410 re-list, the EndpointSlices listed before the Services (informers resume in any order): a Service re-created in the gap is still its delete and its create, no endpoints change', async t => {
  const { c, api, a, watch, settle } = await world(t, {
    preload: apiBehindService
  })
  const old = await recreateInGap(t, c, api, a)
  api.compact()
  // The Services list is refused (its watch cache re-initialising) until the slices' informer has caught up.
  let hold = true
  let refused = 0
  api.onRequest = r => {
    if (!hold || r.path !== '/api/v1/services') return
    refused++
    api.failRequests({ code: 503, count: 1 })
  }
  await sleep(150)
  await api.start()
  const slices = watch.informers.find(i => i.kind.kind === 'EndpointSlice')!
  const state = (objs: any[]): string => objs.map(o => `${o.metadata.uid as string}@${o.metadata.resourceVersion as string}`).sort().join()
  await until(() => refused > 0 && state(slices.informer.list()) === state(api.list(slices.path)), 'the slices watch caught up, the Services refused')
  await sleep(50)
  hold = false
  await settle()
  await a.advance(6000)
  t.same(a.printed.map(x => [x.type, x.object.kind, x.object.uid]).sort(), [
    ['create', 'Service', c.get(R.services, 'shop', 'api').metadata.uid],
    ['delete', 'Service', old.metadata.uid]
  ].sort(), 'its delete and its create, whatever order the informers resumed in; no endpoints changes')
  noDuplicates(t, a)
})
