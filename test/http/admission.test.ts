import t from 'tap'
import { eventList, testApp } from '../helpers/app.js'
import { Cluster, USERS, R } from '../helpers/cluster.js'
import { watchObservation } from '../../src/sources/watch.js'
import { DEFAULT_WATCHED_KINDS } from '../../src/sources/watch-kinds.js'

// POST /admission: a validating webhook that always allows, answers at once,
// and contributes who made the request — joined exactly with audit (through
// the auditAnnotations it returns) or with the watch by object and time.

function review (op: 'CREATE' | 'UPDATE' | 'DELETE', obj: any, old: any, opts: { uid?: string, dryRun?: boolean, user?: { username: string, groups: string[] } } = {}): any {
  const o = obj ?? old
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: opts.uid ?? '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      requestKind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      requestResource: { group: 'apps', version: 'v1', resource: 'deployments' },
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      operation: op,
      userInfo: { ...(opts.user ?? USERS.alice), uid: 'u-1' },
      object: obj,
      oldObject: old,
      dryRun: opts.dryRun ?? false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: op === 'DELETE' ? 'DeleteOptions' : op === 'CREATE' ? 'CreateOptions' : 'UpdateOptions' }
    }
  }
}

t.test('exact answers for create, update, delete and dry run; malformed reviews are 400', async t => {
  const a = await testApp()
  t.teardown(a.close)
  const c = new Cluster()
  const d = c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1', 1))
  const send = async (body: unknown) => {
    const r = await a.app.server.inject({ method: 'POST', url: '/admission', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) })
    return { status: r.statusCode, body: r.json() }
  }
  for (const [op, obj, old] of [['CREATE', d, null], ['UPDATE', d, d], ['DELETE', null, d]] as const) {
    const r = await send(review(op, obj, old, { uid: `uid-${op}` }))
    t.equal(r.status, 200, op)
    t.same(r.body, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: `uid-${op}`, allowed: true, auditAnnotations: { 'admission-uid': `uid-${op}` } } }, op)
  }
  const dry = await send(review('UPDATE', d, d, { uid: 'dry', dryRun: true }))
  t.same(dry.body, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'dry', allowed: true } }, 'dry run: allowed, not observed')
  const connect = await send({ ...review('UPDATE', d, d, { uid: 'conn' }), request: { ...review('UPDATE', d, d).request, uid: 'conn', operation: 'CONNECT' } })
  t.same(connect.body.response, { uid: 'conn', allowed: true })
  for (const [body, msg] of [
    [{}, 'body must be an AdmissionReview'],
    [{ kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v9' }, 'unsupported apiVersion "admission.k8s.io/v9"'],
    [{ kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1', request: { operation: 'CREATE' } }, 'request.uid is missing'],
    [[1, 2], 'body must be an AdmissionReview']
  ] as Array<[unknown, string]>) {
    const r = await send(body)
    t.equal(r.status, 400)
    t.same(r.body, { code: 'KC_BAD_ADMISSION_REVIEW', message: msg })
  }
  t.equal((await a.app.server.inject({ method: 'POST', url: '/admission', headers: { 'content-type': 'application/json' }, payload: '{' })).statusCode, 400)
})

t.test('joined exactly with audit through auditAnnotations: one change, never two', async t => {
  const c = new Cluster()
  const a = await testApp({ start: c.t })
  t.teardown(a.close)
  c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1', 2))
  c.runDeploymentController('shop', 'web')
  await a.post(eventList(c.take()))
  a.clock.now = c.t
  await a.advance(10_000)
  c.advance(60_000)
  a.clock.now = c.t
  const old = structuredClone(c.get(R.deployments, 'shop', 'web'))
  const next = c.setImage(USERS.bob, 'shop', 'web', 'web:2')
  const rv = next.metadata.resourceVersion
  const r = await a.app.server.inject({ method: 'POST', url: '/admission', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(review('UPDATE', { ...next, metadata: { ...next.metadata, resourceVersion: old.metadata.resourceVersion } }, old, { uid: 'adm-1', user: USERS.bob })) })
  t.equal(r.statusCode, 200)
  c.runDeploymentController('shop', 'web')
  const events = c.take()
  // kube-apiserver copies the webhook's auditAnnotations into the audit event, prefixed with the webhook's name.
  const patchEv = events.find(e => e.verb === 'patch' && e.objectRef?.resource === 'deployments')!
  patchEv.annotations['kubechanges.kubechanges.io/admission-uid'] = 'adm-1'
  t.equal(patchEv.responseObject && (patchEv.responseObject as any).metadata.resourceVersion, rv)
  await a.post(eventList(events))
  a.clock.now = c.t
  await a.advance(10_000)
  const rollouts = a.printed.filter(x => x.type === 'rollout')
  t.equal(rollouts.length, 1)
  t.same(rollouts[0]!.actor, USERS.bob)
  t.equal(a.printed.length, 2, 'the create and the rollout, nothing from the review itself')
})

t.test('managed cluster: admission + watch give who and how it ended', async t => {
  const c = new Cluster()
  const a = await testApp({ start: c.t })
  t.teardown(a.close)
  const deployments = DEFAULT_WATCHED_KINDS.find(k => k.resource === 'deployments')!
  const replicasets = DEFAULT_WATCHED_KINDS.find(k => k.resource === 'replicasets')!
  const kindOf = (r: string) => r === 'deployments' ? deployments : r === 'replicasets' ? replicasets : undefined
  // The watch's view of every write, as the informers would deliver it.
  c.onWrite = (type, r, obj) => {
    const k = kindOf(r.resource)
    if (k === undefined) return
    const obs = watchObservation({ type, object: structuredClone(obj), relist: false, baseline: false }, k, a.clock.now)
    if (obs !== undefined) a.app.pipeline.ingest(obs)
  }
  const obj = c.deploymentObject('shop', 'web', 'web:1', 2)
  // The review comes first: before the object is persisted (no resourceVersion yet).
  const pre = { ...obj, metadata: { ...obj.metadata, uid: '00000000-0000-4000-8000-000000000001', generation: 1 } }
  await a.app.server.inject({ method: 'POST', url: '/admission', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(review('CREATE', pre, null, { uid: 'adm-create' })) })
  c.create(USERS.alice, R.deployments, obj)
  c.runDeploymentController('shop', 'web')
  c.take()
  a.clock.now = c.t
  await a.advance(10_000)
  t.equal(a.printed.length, 1)
  t.equal(a.printed[0]!.type, 'create')
  t.equal(a.printed[0]!.outcome, 'succeeded')
  t.same(a.printed[0]!.actor, USERS.alice, 'the actor from the admission review')
})

// Anyone who can reach /admission can post a review (managed clusters cannot
// give the apiserver a client certificate). Where audit is present, its user
// is authoritative: a forged review naming someone else never re-attributes
// the write, whether the watch or audit sees the write first.
for (const auditBefore of [true, false]) {
  t.test(`a forged review cannot re-attribute a write audit attributes to bob (${auditBefore ? 'audit already flowing' : 'first audit batch after start'})`, async t => {
    const c = new Cluster()
    const a = await testApp({ start: c.t })
    t.teardown(a.close)
    const deployments = DEFAULT_WATCHED_KINDS.find(k => k.resource === 'deployments')!
    const replicasets = DEFAULT_WATCHED_KINDS.find(k => k.resource === 'replicasets')!
    c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1', 2))
    c.runDeploymentController('shop', 'web')
    const created = c.take()
    if (auditBefore) t.equal((await a.post(eventList(created))).statusCode, 200)
    a.clock.now = c.t
    await a.advance(10_000)
    c.advance(60_000)
    a.clock.now = c.t
    // From here the watch delivers every write as it happens.
    c.onWrite = (type, r, obj) => {
      const k = r.resource === 'deployments' ? deployments : r.resource === 'replicasets' ? replicasets : undefined
      if (k === undefined) return
      const obs = watchObservation({ type, object: structuredClone(obj), relist: false, baseline: false }, k, c.t)
      if (obs !== undefined) a.app.pipeline.ingest(obs)
    }
    const old = structuredClone(c.get(R.deployments, 'shop', 'web'))
    const mallory = { username: 'mallory@example.com', groups: ['system:authenticated'] }
    const forged = review('UPDATE', { ...old, spec: { ...old.spec, template: { ...old.spec.template, spec: { ...old.spec.template.spec, containers: [{ ...old.spec.template.spec.containers[0], image: 'web:2' }] } } } }, old, { uid: 'forged-1', user: mallory })
    const r = await a.app.server.inject({ method: 'POST', url: '/admission', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(forged) })
    t.equal(r.statusCode, 200, 'the review itself is answered as any other')
    c.setImage(USERS.bob, 'shop', 'web', 'web:2')
    c.runDeploymentController('shop', 'web')
    a.clock.now = c.t
    // bob's patch reaches kubechanges by audit after the watch saw it.
    t.equal((await a.post(eventList(c.take()))).statusCode, 200)
    await a.advance(60_000)
    const rollouts = a.printed.filter(x => x.type === 'rollout')
    t.equal(rollouts.length, 1)
    t.same(rollouts[0]?.actor, USERS.bob, 'audit says bob; the review that said mallory is ignored')
    t.match(rollouts[0]?.summary, /by bob@example\.com/)
    t.same(a.stored().map(ch => ch.actor?.username), ['alice@example.com', 'bob@example.com'].slice(auditBefore ? 0 : 1), 'stored as bob too')
  })
}
