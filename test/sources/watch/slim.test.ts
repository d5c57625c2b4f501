// What the watch keeps of each object: what detectors read, nothing else,
// and one copy of the strings objects repeat.

import t from 'tap'
import { Interner, slimmerFor } from '../../../src/sources/watch/slim.js'
import type { K8sObject } from '../../../src/model.js'

const parse = (o: unknown): K8sObject => JSON.parse(JSON.stringify(o))

const deployment = (name: string): K8sObject => parse({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name,
    namespace: 'shop',
    uid: `uid-${name}`,
    resourceVersion: '7',
    generation: 2,
    labels: { app: name },
    annotations: { 'deployment.kubernetes.io/revision': '2', 'kubectl.kubernetes.io/last-applied-configuration': '{"spec":{}}\n' },
    managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:spec': {} } }]
  },
  spec: { replicas: 3, template: { spec: { containers: [{ name: 'app', image: `${name}:1`, imagePullPolicy: 'IfNotPresent-with-a-long-suffix' }] } } },
  status: { observedGeneration: 2, conditions: [{ type: 'Available', status: 'True', message: 'Deployment has minimum availability.' }] }
})

t.test('workloads keep spec, status, labels and annotations; lose managedFields and last-applied', async t => {
  const slim = slimmerFor('Deployment', new Interner())
  const d = slim(deployment('web'))
  t.same(d, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', uid: 'uid-web', resourceVersion: '7', generation: 2, labels: { app: 'web' }, annotations: { 'deployment.kubernetes.io/revision': '2' } },
    spec: { replicas: 3, template: { spec: { containers: [{ name: 'app', image: 'web:1', imagePullPolicy: 'IfNotPresent-with-a-long-suffix' }] } } },
    status: { observedGeneration: 2, conditions: [{ type: 'Available', status: 'True', message: 'Deployment has minimum availability.' }] }
  })
})

t.test('Pods keep only identity, labels and owner links; ReplicaSets lose their pod spec', async t => {
  const pool = new Interner()
  const pod = slimmerFor('Pod', pool)(parse({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1-a', namespace: 'shop', uid: 'p1', resourceVersion: '9', labels: { app: 'web' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'rs1', controller: true, blockOwnerDeletion: true }], managedFields: [{}] },
    spec: { containers: [{ name: 'app' }] },
    status: { phase: 'Running' }
  }))
  t.same(pod, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1-a', namespace: 'shop', uid: 'p1', resourceVersion: '9', labels: { app: 'web' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'rs1', controller: true }] } })
  const rs = slimmerFor('ReplicaSet', pool)(parse({
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: { name: 'web-1', namespace: 'shop', uid: 'rs1', annotations: { 'deployment.kubernetes.io/revision': '2' } },
    spec: { replicas: 3, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app' }] } } },
    status: { replicas: 3 }
  }))
  t.same(rs.spec, { replicas: 3, template: { metadata: { labels: { app: 'web' } } } })
  t.same(rs.status, { replicas: 3 })
})

t.test('Events keep what they are about, why and how often', async t => {
  const ev = slimmerFor('Event', new Interner())(parse({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web.1', namespace: 'shop', uid: 'e1', resourceVersion: '5', managedFields: [{}] },
    involvedObject: { kind: 'Pod', namespace: 'shop', name: 'web-1-a', uid: 'p1', apiVersion: 'v1', resourceVersion: '3', fieldPath: 'spec.containers{app}' },
    reason: 'BackOff',
    message: 'Back-off pulling image',
    source: { component: 'kubelet', host: 'node-1' },
    count: 4,
    type: 'Warning',
    reportingComponent: 'kubelet'
  }))
  t.same(ev, {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web.1', namespace: 'shop', uid: 'e1', resourceVersion: '5' },
    involvedObject: { kind: 'Pod', namespace: 'shop', name: 'web-1-a', uid: 'p1', apiVersion: 'v1', fieldPath: 'spec.containers{app}' },
    reason: 'BackOff',
    message: 'Back-off pulling image',
    count: 4,
    type: 'Warning'
  })
})

t.test('repeated strings are one copy; the pool stops growing at its bound', async t => {
  const pool = new Interner(1000)
  const slim = slimmerFor('Deployment', pool)
  const a = slim(deployment('a'))
  const b = slim(deployment('b'))
  const before = pool.size
  slim(deployment('c'))
  t.ok(pool.size - before <= 3, 'a third object adds only its own strings')
  t.equal(pool.intern(a.spec.template.spec.containers[0].imagePullPolicy), b.spec.template.spec.containers[0].imagePullPolicy)
  const small = new Interner(2)
  small.intern('x1'); small.intern('x2'); small.intern('x3')
  t.equal(small.size, 2)
})

t.test('equal small parts of specs and statuses are one frozen copy; the rest stays as it was', async t => {
  const pool = new Interner()
  const slim = slimmerFor('Deployment', pool)
  const withProbe = (name: string): K8sObject => {
    const d = deployment(name)
    d.spec.template.spec.containers[0].readinessProbe = { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10 }
    d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } }
    return d
  }
  const a = slim(withProbe('a'))
  const b = slim(withProbe('b'))
  t.equal(a.spec.template.spec.containers[0].readinessProbe, b.spec.template.spec.containers[0].readinessProbe, 'one probe object for both')
  t.equal(a.spec.strategy, b.spec.strategy)
  t.equal(a.status, b.status, 'equal statuses are shared too')
  t.not(a.spec.template.spec.containers[0], b.spec.template.spec.containers[0], 'containers with different images are not')
  t.same(b.spec.template.spec.containers[0], { name: 'app', image: 'b:1', imagePullPolicy: 'IfNotPresent-with-a-long-suffix', readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10 } })
  t.ok(Object.isFrozen(a.spec.strategy) && Object.isFrozen(a.spec.strategy.rollingUpdate), 'a shared part cannot be written through one of its owners')
  t.throws(() => { a.spec.strategy.type = 'Recreate' })
  t.notOk(Object.isFrozen(a.metadata), 'metadata is never shared')
  const c = slim(withProbe('c'))
  ;(c.metadata ?? {}).labels = { app: 'c2' }
  t.same(a.metadata?.labels, { app: 'a' })
  t.ok(pool.subtrees.some(x => x !== undefined))
  const none = new Interner(100, 64, 0)
  const d = slimmerFor('Deployment', none)(withProbe('d'))
  t.notOk(Object.isFrozen(d.spec.strategy), 'no table, no sharing')
  const one = new Interner(100, 64, 1)
  const slimOne = slimmerFor('Deployment', one)
  slimOne(withProbe('e'))
  t.equal(one.subtrees.length, 1, 'a fixed-size table: the last part met holds the slot')
  t.ok(Object.isFrozen(one.subtrees[0]))
})
