import t from 'tap'
import { eventListItems, normalizeAuditEvent } from '../../src/sources/audit.js'
import { Cluster, USERS, R, CONTROLLERS } from '../helpers/cluster.js'

// normalize is pure: one audit event in, one verdict out.

const c = new Cluster()
const dep = c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1', 2))
const [createEv] = c.take()

t.test('a create: uid from the response, actor, generation, resourceVersion, time from stageTimestamp', async t => {
  const r = normalizeAuditEvent(createEv)
  if (r.kind !== 'observation') throw new Error(r.kind)
  const o = r.observation
  t.equal(createEv!.objectRef!.uid, undefined, 'the apiserver leaves objectRef.uid empty on create')
  t.same(o.ref, { apiGroup: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespace: 'shop', name: 'web', uid: dep.metadata.uid })
  t.equal(o.action, 'create')
  t.equal(o.generation, 1)
  t.equal(o.resourceVersion, dep.metadata.resourceVersion)
  t.equal(o.at, Date.parse(createEv!.stageTimestamp))
  t.same(o.actor, { username: 'alice@example.com', groups: ['devs', 'system:authenticated'], sourceIPs: ['192.168.1.20'], userAgent: 'kubectl/v1.31.0 (linux/amd64) kubernetes/9edcffc' })
})

t.test('stages, reads, failures, dry runs, noise', async t => {
  const base = structuredClone(createEv!) as any
  const v = (patch: (e: any) => void) => { const e = structuredClone(base); patch(e); return normalizeAuditEvent(e) }
  t.same(v(e => { e.stage = 'RequestReceived' }), { kind: 'dropped', reason: 'stage', auditID: base.auditID })
  t.same(v(e => { e.stage = 'ResponseStarted' }), { kind: 'dropped', reason: 'stage', auditID: base.auditID })
  t.same(v(e => { e.verb = 'get' }), { kind: 'dropped', reason: 'read', auditID: base.auditID })
  t.same(v(e => { e.verb = 'watch' }), { kind: 'dropped', reason: 'read', auditID: base.auditID })
  t.same(v(e => { e.responseStatus.code = 403 }), { kind: 'dropped', reason: 'failed', auditID: base.auditID })
  t.same(v(e => { e.responseStatus.code = 409 }), { kind: 'dropped', reason: 'failed', auditID: base.auditID })
  t.same(v(e => { e.stage = 'Panic' }), { kind: 'dropped', reason: 'failed', auditID: base.auditID })
  t.same(v(e => { e.requestURI += '?dryRun=All' }), { kind: 'dropped', reason: 'dry-run', auditID: base.auditID })
  t.same(v(e => { e.objectRef = { resource: 'leases', apiGroup: 'coordination.k8s.io', apiVersion: 'v1', name: 'x', namespace: 'kube-node-lease' } }), { kind: 'dropped', reason: 'noise', auditID: base.auditID })
  t.same(v(e => { e.objectRef = { resource: 'tokenreviews', apiGroup: 'authentication.k8s.io', apiVersion: 'v1' } }), { kind: 'dropped', reason: 'noise', auditID: base.auditID })
  t.same(v(e => { e.objectRef.subresource = 'exec'; e.verb = 'create' }), { kind: 'dropped', reason: 'noise', auditID: base.auditID })
  t.same(v(e => { delete e.objectRef }), { kind: 'dropped', reason: 'noise', auditID: base.auditID })
  t.same(v(e => { e.verb = 'deletecollection'; delete e.objectRef.name }), { kind: 'dropped', reason: 'noise', auditID: base.auditID })
})

t.test('malformed events: a clear message, never a throw', async t => {
  for (const [ev, msg] of [
    [null, /not an object/],
    [[], /not an object/],
    [{ kind: 0 }, /no auditID/],
    [{ auditID: 'x', kind: 'Pod', stage: 'ResponseComplete', verb: 'create' }, /kind must be "Event"/],
    [{ auditID: 'x', verb: 'create' }, /missing stage or verb/],
    [{ ...structuredClone(createEv!), stageTimestamp: 'yesterday', timestamp: undefined, requestReceivedTimestamp: 'never' }, /no valid timestamp/]
  ] as Array<[unknown, RegExp]>) {
    const r = normalizeAuditEvent(ev)
    t.equal(r.kind, 'malformed')
    if (r.kind === 'malformed') {
      t.equal(r.error.code, 'KC_BAD_EVENT')
      t.match(r.error.message, msg)
    }
  }
})

t.test('a delete takes its uid from the Status details; a scale write carries its replicas', async t => {
  c.delete(USERS.bob, R.deployments, 'shop', 'web')
  c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'api', 'api:1', 2))
  c.scale(USERS.bob, 'shop', 'api', 7)
  const [del, , scale] = c.take().map(normalizeAuditEvent)
  if (del?.kind !== 'observation' || scale?.kind !== 'observation') throw new Error('expected observations')
  t.equal(del.observation.ref.uid, dep.metadata.uid)
  t.equal(del.observation.action, 'delete')
  t.equal(del.observation.object, undefined, 'a Status is not the object')
  t.equal(scale.observation.ref.subresource, 'scale')
  t.same(scale.observation.scale, { replicas: 7 })
  t.equal(scale.observation.object, undefined)
})

t.test('status writes, impersonation, v1beta1 timestamp, namespaces are cluster-scoped', async t => {
  const c2 = new Cluster()
  c2.create(USERS.alice, R.deployments, c2.deploymentObject('shop', 'x', 'x:1', 1))
  c2.update(CONTROLLERS.deployment, R.deployments, 'shop', 'x', o => { o.status = { observedGeneration: 1 } }, { sub: 'status' })
  c2.setImage(USERS.bob, 'shop', 'x', 'x:2', { impersonate: USERS.alice })
  const [, st, imp] = c2.take().map(normalizeAuditEvent)
  if (st?.kind !== 'observation' || imp?.kind !== 'observation') throw new Error('expected observations')
  t.equal(st.observation.action, 'status')
  t.ok(st.observation.object?.status, 'the status write keeps the full object')
  t.same(imp.observation.actor, { username: 'alice@example.com', groups: ['devs', 'system:authenticated'], impersonatedBy: 'bob@example.com', sourceIPs: ['192.168.1.20'], userAgent: 'kubectl/v1.31.0 (linux/amd64) kubernetes/9edcffc' })
  const ns = normalizeAuditEvent({ kind: 'Event', auditID: 'n1', stage: 'ResponseComplete', verb: 'create', timestamp: '2018-10-26T13:52:41Z', objectRef: { resource: 'namespaces', namespace: 'foo', name: 'foo', apiVersion: 'v1' }, user: { username: 'u', groups: [] }, responseStatus: { code: 201 } })
  if (ns.kind !== 'observation') throw new Error(ns.kind)
  t.equal(ns.observation.ref.namespace, '')
  t.equal(ns.observation.ref.kind, 'Namespace')
  t.equal(ns.observation.at, Date.parse('2018-10-26T13:52:41Z'))
})

t.test('what a body may be: EventList, one Event, an array; anything else is a 400', async t => {
  t.same(eventListItems({ kind: 'EventList', items: [1, 2] }), [1, 2])
  t.same(eventListItems({ items: [1] }), [1])
  t.same(eventListItems([3]), [3])
  t.same(eventListItems({ kind: 'Event', auditID: 'a' }), [{ kind: 'Event', auditID: 'a' }])
  t.same(eventListItems({ auditID: 'a' }), [{ auditID: 'a' }])
  const bad = [eventListItems('x'), eventListItems({ kind: 'EventList', items: 'no' }), eventListItems({ kind: 'PodList' })]
  t.same(bad.map(b => (b as any).code), ['KC_BAD_EVENT_LIST', 'KC_BAD_EVENT_LIST', 'KC_BAD_EVENT_LIST'])
  t.same(bad.map(b => (b as any).message), ['body must be an audit EventList or Event object', 'EventList has no items array', 'expected kind EventList or Event, got "PodList"'])
})
