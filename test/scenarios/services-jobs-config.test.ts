import t from 'tap'
import { Cluster, USERS, R, CONTROLLERS } from '../helpers/cluster.js'
import { auditWorld } from '../helpers/app.js'

t.test('a pod rescheduled with no rollout: one endpoints change, net diff, after the quiet period', async t => {
  const { c, a, flush } = await auditWorld(t)
  c.service(USERS.alice, 'shop', 'db', { app: 'db' })
  c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'db', 'db:15', 2))
  c.runDeploymentController('shop', 'db', { service: 'db' })
  await flush()
  await a.advance(10_000)
  t.equal(a.printed.length, 2)
  c.advance(3_600_000)
  // A node is lost: the endpointslice controller drops the pod, the replicaset
  // controller makes a new one elsewhere, the slice gains its new IP.
  const [victim] = [...c.pods.entries()][0]!
  const slice = c.get(R.endpointslices, 'shop', 'db-abcde')
  c.update(CONTROLLERS.endpointslice, R.endpointslices, 'shop', 'db-abcde', o => { o.endpoints = o.endpoints.filter((e: any) => e.targetRef.name !== victim) })
  c.pods.delete(victim)
  c.request({ user: CONTROLLERS.replicaset, verb: 'create', r: R.pods, ns: 'shop', name: 'db-new', level: 'Metadata' })
  c.advance(2000)
  c.update(CONTROLLERS.endpointslice, R.endpointslices, 'shop', 'db-abcde', o => {
    o.endpoints.push({ addresses: ['10.1.2.99'], conditions: { ready: true }, targetRef: { kind: 'Pod', namespace: 'shop', name: 'db-new', uid: c.uid() } })
  })
  await flush()
  await a.advance(4000)
  t.equal(a.printed.length, 2, 'still inside the quiet period')
  await a.advance(2000)
  t.equal(a.printed.length, 3)
  const ep = a.printed[2]!
  t.equal(ep.type, 'endpoints')
  t.equal(ep.outcome, 'applied')
  t.equal(ep.actor, null)
  t.same(ep.object, { kind: 'Service', namespace: 'shop', name: 'db', uid: c.get(R.services, 'shop', 'db').metadata.uid })
  t.same(ep.details.endpoints, [{ service: 'shop/db', added: ['10.1.2.99'], removed: [slice.endpoints[0].addresses[0]] }])
  t.equal(ep.summary, `shop/db endpoints changed +10.1.2.99 −${slice.endpoints[0].addresses[0] as string}`)

  // A pod that goes unready and comes back within the quiet period: net zero, no change.
  c.advance(60_000)
  c.update(CONTROLLERS.endpointslice, R.endpointslices, 'shop', 'db-abcde', o => { o.endpoints[0].conditions.ready = false })
  c.advance(1000)
  c.update(CONTROLLERS.endpointslice, R.endpointslices, 'shop', 'db-abcde', o => { o.endpoints[0].conditions.ready = true })
  await flush()
  await a.advance(60_000)
  t.equal(a.printed.length, 3, 'net zero is not a change')
})

t.test('Service cluster IP and load-balancer IP changes; values of Secrets and ConfigMaps never leave', async t => {
  const { c, a, flush } = await auditWorld(t)
  c.service(USERS.alice, 'shop', 'front', { app: 'front' }, { type: 'LoadBalancer' })
  await flush()
  await a.advance(6000)
  c.advance(60_000)
  c.update(CONTROLLERS.kubelet('x').username === '' ? USERS.bob : { username: 'system:serviceaccount:kube-system:service-controller', groups: [] }, R.services, 'shop', 'front', o => {
    o.status = { loadBalancer: { ingress: [{ ip: '203.0.113.7', ipMode: 'VIP' }] } }
  }, { sub: 'status' })
  await flush()
  await a.advance(6000)
  const lb = a.printed.at(-1)!
  t.equal(lb.type, 'update')
  t.same(lb.details.diff, [{ path: 'status.loadBalancer.ingress', from: [], to: ['203.0.113.7'] }])
  t.equal(lb.summary, 'Service shop/front updated, by system:serviceaccount:kube-system:service-controller: load-balancer IP ∅ → 203.0.113.7 (LoadBalancer 10.96.0.20)')

  c.advance(60_000)
  c.patch(USERS.bob, R.services, 'shop', 'front', { spec: { ports: [{ port: 443, targetPort: 8443 }] } }, o => { o.spec.ports = [{ port: 443, targetPort: 8443, protocol: 'TCP' }] })
  await flush()
  await a.advance(6000)
  const ports = a.printed.at(-1)!
  t.same(ports.details.diff, [{ path: 'spec.ports', from: [{ port: 80, targetPort: 8080, protocol: 'TCP' }], to: [{ port: 443, targetPort: 8443, protocol: 'TCP' }] }])
  t.same(ports.actor, USERS.bob)

  const SECRET = 'hunter2-very-secret'
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'shop', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ data: { password: SECRET } }) } }, data: { password: SECRET, mode: 'a' } }
  c.create(USERS.alice, R.configmaps, cm)
  await flush()
  await a.advance(6000)
  c.advance(60_000)
  // Two edits in a row: debounced into one update naming only the keys.
  c.patch(USERS.alice, R.configmaps, 'shop', 'app', { data: { password: SECRET + '2' } }, o => { o.data.password = SECRET + '2' })
  c.advance(1000)
  c.patch(USERS.alice, R.configmaps, 'shop', 'app', { data: { extra: SECRET } }, o => { o.data.extra = SECRET; delete o.data.mode })
  c.create(USERS.alice, R.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'shop' }, type: 'Opaque', data: { token: Buffer.from(SECRET).toString('base64') } }, { level: 'Metadata' })
  await flush()
  await a.advance(6000)
  const [cmCreate, cmUpdate, secret] = a.printed.slice(-3)
  t.equal(cmCreate!.summary, 'ConfigMap shop/app created, by alice@example.com')
  t.same(cmCreate!.details.keys, { added: ['mode', 'password'], removed: [], changed: [] })
  t.equal(cmUpdate!.summary, 'ConfigMap shop/app updated, by alice@example.com: keys +extra −mode ~password')
  t.same(cmUpdate!.details.diff, [{ path: 'data.extra' }, { path: 'data.mode' }, { path: 'data.password' }])
  t.equal(secret!.summary, 'Secret shop/creds created, by alice@example.com')
  const everything = JSON.stringify(a.app.store.db.prepare('SELECT body FROM changes').all()) + JSON.stringify(a.printed) +
    (await a.app.server.inject('/changes')).body + (await a.app.server.inject(`/changes/${cmUpdate!.id}`)).body
  t.notOk(everything.includes(SECRET), 'no value in the store, the log sink or /changes')
  t.notOk(everything.includes(Buffer.from(SECRET).toString('base64')))
})

t.test('a Job: one change when it completes, with its creator and duration; a failed one says why', async t => {
  const { c, a, flush } = await auditWorld(t)
  const job = (name: string) => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: 'batch' }, spec: { backoffLimit: 2, template: { spec: { containers: [{ name: 'r', image: 'report:1' }], restartPolicy: 'Never' } } } })
  c.create(USERS.ci, R.jobs, job('nightly-report'))
  const start = new Date(c.t).toISOString()
  c.update(CONTROLLERS.job, R.jobs, 'batch', 'nightly-report', o => { o.status = { startTime: start, active: 1 } }, { sub: 'status' })
  c.request({ user: CONTROLLERS.job, verb: 'create', r: R.pods, ns: 'batch', name: 'nightly-report-x1', level: 'Metadata' })
  c.advance(12 * 60_000)
  const end = new Date(c.t).toISOString()
  c.update(CONTROLLERS.job, R.jobs, 'batch', 'nightly-report', o => {
    o.status = { startTime: start, completionTime: end, succeeded: 1, conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: end }] }
  }, { sub: 'status' })
  c.create(USERS.ci, R.jobs, job('migrate'))
  c.update(CONTROLLERS.job, R.jobs, 'batch', 'migrate', o => { o.status = { startTime: end, active: 1 } }, { sub: 'status' })
  c.advance(90_000)
  c.update(CONTROLLERS.job, R.jobs, 'batch', 'migrate', o => {
    o.status = { startTime: end, failed: 3, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastTransitionTime: new Date(c.t).toISOString() }] }
  }, { sub: 'status' })
  await flush()
  await a.advance(6000)
  t.same(a.printed.map(x => x.summary), [
    'Job batch/nightly-report succeeded in 12 min, by system:serviceaccount:ci:deployer',
    'Job batch/migrate failed after 90 s: BackoffLimitExceeded, by system:serviceaccount:ci:deployer'
  ])
  t.equal(a.printed[0]!.durationMs, Date.parse(end) - Date.parse(start), 'status.startTime to completionTime')
  t.equal(a.printed[1]!.details.message, 'Job has reached the specified backoff limit')
})

t.test('a delete folds its cascade; an impersonated write names the impersonated user', async t => {
  const { c, a, flush } = await auditWorld(t)
  c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'old', 'old:1', 2))
  c.runDeploymentController('shop', 'old')
  await flush()
  await a.advance(10_000)
  c.advance(60_000)
  c.delete(USERS.bob, R.deployments, 'shop', 'old')
  const rs = [...c.objects.values()].find(o => o.kind === 'ReplicaSet' && o.metadata.name.startsWith('old-'))
  c.advance(100)
  c.delete(CONTROLLERS.gc, R.replicasets, 'shop', rs.metadata.name)
  for (const [pod] of c.pods) c.request({ user: CONTROLLERS.gc, verb: 'delete', r: R.pods, ns: 'shop', name: pod, level: 'Metadata' })
  await flush()
  await a.advance(6000)
  const del = a.printed.at(-1)!
  t.equal(del.type, 'delete')
  t.equal(del.summary, 'Deployment shop/old deleted, by bob@example.com')
  t.equal(del.counts.audit, 2, 'the ReplicaSet delete folded in')
  t.equal(a.printed.length, 2)

  c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'imp', 'imp:1', 1))
  c.runDeploymentController('shop', 'imp')
  await flush()
  await a.advance(10_000)
  c.advance(60_000)
  c.setImage(USERS.bob, 'shop', 'imp', 'imp:2', { impersonate: USERS.alice })
  c.runDeploymentController('shop', 'imp')
  await flush()
  await a.advance(10_000)
  t.same(a.printed.at(-1)!.actor, USERS.alice)
})
