import t from 'tap'
import type { Test } from 'tap'
import { Cluster, USERS, R, CONTROLLERS } from '../helpers/cluster.js'
import { auditWorld, eventList, testApp } from '../helpers/app.js'

// A Deployment's life as the controllers really write it, through POST /audit,
// the real store and the log sink: each logical change exactly once.

/** shop/web already rolled out and reported, an hour of quiet after it. */
async function withWeb (t: Test, replicas: number) {
  const w = await auditWorld(t)
  w.c.create(USERS.alice, R.deployments, w.c.deploymentObject('shop', 'web', 'web:1.4', replicas))
  w.c.runDeploymentController('shop', 'web')
  await w.flush()
  await w.a.advance(10_000)
  return w
}

t.test('create, rollout with endpoints, scale: three changes, each once, with actor and outcome', async t => {
  const { c, a, flush } = await auditWorld(t)
  c.service(USERS.alice, 'shop', 'web', { app: 'web' })
  c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1.4', 3))
  c.runDeploymentController('shop', 'web', { service: 'web' })
  c.noise()
  await flush()
  await a.advance(6000)
  t.same(a.printed.map(x => [x.type, x.outcome, x.object.kind, x.object.name]), [
    ['create', 'applied', 'Service', 'web'],
    ['create', 'succeeded', 'Deployment', 'web']
  ])
  const created = a.printed[1]!
  t.equal(created.summary, 'Deployment shop/web created, by alice@example.com, 3/3 available in 12 s')
  t.same(created.details.endpoints, [{ service: 'shop/web', added: ['10.1.2.10', '10.1.2.11', '10.1.2.12'], removed: [] }])

  c.advance(60_000)
  c.setImage(USERS.alice, 'shop', 'web', 'web:1.5')
  c.runDeploymentController('shop', 'web', { service: 'web' })
  await flush()
  t.equal(a.printed.length, 2, 'nothing before the quiet period')
  await a.advance(5000)
  t.equal(a.printed.length, 3)
  const rollout = a.printed[2]!
  t.equal(rollout.type, 'rollout')
  t.equal(rollout.outcome, 'succeeded')
  t.equal(rollout.summary, 'Deployment shop/web rolled out revision 2, image web:1.4 → web:1.5, by alice@example.com, 3/3 available in 12 s')
  t.same(rollout.actor, USERS.alice)
  t.same(rollout.details.images, [{ container: 'web', from: 'web:1.4', to: 'web:1.5' }])
  t.equal(rollout.details.revision, 2)
  t.same(rollout.details.endpoints, [{ service: 'shop/web', added: ['10.1.2.13', '10.1.2.14', '10.1.2.15'], removed: ['10.1.2.10', '10.1.2.11', '10.1.2.12'] }])
  t.ok((rollout.counts.audit ?? 0) > 10, 'controller writes folded into the one change')

  c.advance(60_000)
  c.scale(USERS.bob, 'shop', 'web', 5)
  c.runScale('shop', 'web', { service: 'web' })
  await flush()
  await a.advance(6000)
  t.equal(a.printed.length, 4)
  const scale = a.printed[3]!
  t.equal(scale.summary, 'Deployment shop/web scaled 3 → 5, by bob@example.com, 5/5 available in 3 s')
  t.same(scale.details.replicas, { desired: 5, ready: 5, available: 5, updated: 5, from: 3, to: 5 })
  t.same(scale.details.endpoints, [{ service: 'shop/web', added: ['10.1.2.16', '10.1.2.17'], removed: [] }])

  // What was printed is what was stored, in the same order.
  t.same(a.stored().map(x => x.id), a.printed.map(x => x.id))
})

t.test('a batch re-sent by the apiserver, and every stage of a request, change nothing', async t => {
  const c = new Cluster(undefined, { withRequestReceived: true })
  const a = await testApp({ start: c.t })
  t.teardown(a.close)
  c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'api', 'api:2.0', 2))
  c.runDeploymentController('shop', 'api')
  const batch = eventList(c.take())
  for (let i = 0; i < 3; i++) t.equal((await a.post(batch)).statusCode, 200)
  a.clock.now = c.t
  await a.advance(10_000)
  t.same(a.printed.map(x => `${x.type}/${x.outcome}/${x.object.name}`), ['create/succeeded/api'])
  // The same batch again after the change closed: still nothing new.
  await a.post(batch)
  await a.advance(10_000)
  t.equal(a.printed.length, 1)
  t.equal(a.stored().length, 1)
  const m = await a.app.metrics.registry.getSingleMetricAsString('kubechanges_events_dropped_total')
  t.match(m, /reason="duplicate"\} \d+/)
  t.match(m, /reason="stage"\} \d+/)
})

t.test('reads, 403s, 409 conflicts, dry runs and leases never open a change', async t => {
  const { c, a, flush } = await withWeb(t, 1)
  const before = a.printed.length
  c.advance(60_000)
  c.request({ user: USERS.bob, verb: 'get', r: R.deployments, ns: 'shop', name: 'web', level: 'Metadata' })
  c.request({ user: USERS.bob, verb: 'list', r: R.deployments, ns: 'shop', level: 'Metadata' })
  c.request({ user: USERS.bob, verb: 'watch', r: R.deployments, ns: 'shop', level: 'Metadata' })
  c.request({ user: USERS.bob, verb: 'patch', r: R.deployments, ns: 'shop', name: 'web', code: 403, requestObject: { spec: { replicas: 9 } } })
  c.request({ user: CONTROLLERS.deployment, verb: 'update', r: R.deployments, ns: 'shop', name: 'web', sub: 'status', code: 409 })
  const dry = structuredClone(c.get(R.deployments, 'shop', 'web'))
  dry.spec.template.spec.containers[0].image = 'web:dry'
  dry.metadata.generation++
  c.request({ user: USERS.alice, verb: 'patch', r: R.deployments, ns: 'shop', name: 'web', query: '?dryRun=All&fieldManager=kubectl-client-side-apply', requestObject: { spec: { template: { spec: { containers: [{ name: 'web', image: 'web:dry' }] } } } }, responseObject: dry })
  c.request({ user: USERS.alice, verb: 'create', r: R.configmaps, ns: 'shop', name: 'x', query: '?dryRun=All', requestObject: { metadata: { name: 'x' } }, responseObject: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'x', namespace: 'shop', uid: c.uid(), resourceVersion: '1' } } })
  c.noise()
  c.request({ user: CONTROLLERS.kubelet('node-1'), verb: 'patch', r: { group: '', version: 'v1', resource: 'nodes', kind: 'Node' }, name: 'node-1', sub: 'status', level: 'Metadata' })
  c.request({ user: USERS.alice, verb: 'create', r: { group: 'authorization.k8s.io', version: 'v1', resource: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview' }, level: 'Metadata' })
  await flush()
  await a.advance(60_000)
  t.equal(a.printed.length, before, 'no change from any of them')
  const m = await a.app.metrics.registry.getSingleMetricAsString('kubechanges_events_dropped_total')
  t.match(m, /reason="read"\} 5/, "three reads and the two in the background noise")
  t.match(m, /reason="failed"\} 2/)
  t.match(m, /reason="dry-run"\} 2/)
})

t.test('a newer template before completion supersedes: one report naming the older revision', async t => {
  const { c, a, flush } = await withWeb(t, 2)
  c.advance(60_000)
  c.setImage(USERS.alice, 'shop', 'web', 'web:1.5')
  c.runDeploymentController('shop', 'web', { stall: true })
  c.advance(2000)
  c.setImage(USERS.bob, 'shop', 'web', 'web:1.6')
  c.runDeploymentController('shop', 'web')
  await flush()
  await a.advance(10_000)
  const rollouts = a.printed.filter(x => x.type === 'rollout')
  t.equal(rollouts.length, 1, 'the superseded rollout is not sent alone')
  const r = rollouts[0]!
  t.equal(r.outcome, 'succeeded')
  t.same(r.actor, USERS.bob)
  t.equal(r.details.revision, 3)
  t.same(r.details.superseded, [{ revision: 2, images: [{ container: 'web', from: 'web:1.4', to: 'web:1.5' }], actor: 'alice@example.com' }])
  t.same(r.details.images, [{ container: 'web', from: 'web:1.4', to: 'web:1.6' }])
  t.equal(r.summary, 'Deployment shop/web rolled out revision 3 (superseding revision 2), image web:1.4 → web:1.6, by bob@example.com, 2/2 available in 11 s')
})

t.test('restart, and a rollout that exceeds its progress deadline', async t => {
  const { c, a, flush } = await withWeb(t, 2)
  c.advance(60_000)
  c.restart(USERS.ci, 'shop', 'web')
  c.runDeploymentController('shop', 'web')
  await flush()
  await a.advance(10_000)
  const restart = a.printed.at(-1)!
  t.equal(restart.type, 'restart')
  t.equal(restart.outcome, 'succeeded')
  t.equal(restart.summary, 'Deployment shop/web restarted, revision 2, by system:serviceaccount:ci:deployer, 2/2 available in 8 s')
  t.notOk('images' in restart.details, 'a restart changes no image')

  c.advance(60_000)
  c.setImage(USERS.alice, 'shop', 'web', 'web:broken')
  c.runDeploymentController('shop', 'web', { stall: true })
  c.advance(600_000)
  c.failDeployment('shop', 'web')
  await flush()
  await a.advance(10_000)
  const failed = a.printed.at(-1)!
  t.equal(failed.type, 'rollout')
  t.equal(failed.outcome, 'failed')
  t.equal(failed.details.reason, 'ProgressDeadlineExceeded')
  t.equal(failed.details.message, 'ReplicaSet "web" has timed out progressing.')
  t.equal(failed.summary, 'Deployment shop/web rolled out revision 3, image web:1.4 → web:broken, by alice@example.com, failed after 10 min: ProgressDeadlineExceeded')
})
