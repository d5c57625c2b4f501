import t from 'tap'
import { CONTROLLERS, R, USERS } from '../helpers/cluster.js'
import { auditWorld } from '../helpers/app.js'

// Services tell what moved: the addresses and ports clients hold, in the
// details and in the one line people read; a Service deleted and created
// again under its name is one change with the address move spelled out.

const addr = (ip: string): any => ({ clusterIP: ip, clusterIPs: [ip] })

t.test('create, update and delete carry cluster IP, ports, type, selector and load-balancer IPs', async t => {
  const { c, a, flush } = await auditWorld(t)
  c.service(USERS.alice, 'shop', 'db', { app: 'db' }, addr('10.96.12.3'))
  await flush()
  await a.advance(6000)
  const [created] = a.printed.splice(0)
  t.equal(created?.summary, 'Service shop/db created, by alice@example.com: ClusterIP 10.96.12.3, port 80/TCP, selector app=db')
  t.same(created?.details, { service: { type: 'ClusterIP', clusterIPs: ['10.96.12.3'], ports: ['80/TCP'], selector: { app: 'db' }, loadBalancerIPs: [] } })

  c.advance(60_000)
  c.patch(USERS.bob, R.services, 'shop', 'db', { spec: { type: 'LoadBalancer' } }, o => {
    o.spec.type = 'LoadBalancer'
    o.spec.ports = [{ port: 5432, targetPort: 5432, protocol: 'TCP', nodePort: 31432 }]
  })
  await flush()
  await a.advance(6000)
  c.advance(30_000)
  c.update({ username: 'system:serviceaccount:kube-system:service-controller', groups: [] }, R.services, 'shop', 'db', o => {
    o.status = { loadBalancer: { ingress: [{ ip: '203.0.113.7', ipMode: 'VIP' }] } }
  }, { sub: 'status' })
  await flush()
  await a.advance(6000)
  const [typed, lb] = a.printed.splice(0)
  t.equal(typed?.summary, 'Service shop/db updated, by bob@example.com: type ClusterIP → LoadBalancer, ports 80/TCP → 5432:31432/TCP (LoadBalancer 10.96.12.3)')
  t.same(typed?.details.service, { type: 'LoadBalancer', clusterIPs: ['10.96.12.3'], ports: ['5432:31432/TCP'], selector: { app: 'db' }, loadBalancerIPs: [] })
  t.equal(lb?.summary, 'Service shop/db updated, by system:serviceaccount:kube-system:service-controller: load-balancer IP ∅ → 203.0.113.7 (LoadBalancer 10.96.12.3)')
  t.same(lb?.details.service?.loadBalancerIPs, ['203.0.113.7'])

  c.advance(60_000)
  c.delete(USERS.alice, R.services, 'shop', 'db')
  await flush()
  await a.advance(6000)
  const [deleted] = a.printed.splice(0)
  t.equal(deleted?.summary, 'Service shop/db deleted, by alice@example.com: was LoadBalancer 10.96.12.3, port 5432:31432/TCP, load-balancer IP 203.0.113.7, selector app=db')
  t.same(deleted?.details.service?.clusterIPs, ['10.96.12.3'], 'a delete names what clients lose')
})

t.test('deleted and created again within the quiet period: one change, the re-created Service with the IP move', async t => {
  const { c, a, flush } = await auditWorld(t)
  c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'db', 'db:15', 2))
  c.runDeploymentController('shop', 'db')
  c.service(USERS.alice, 'shop', 'db', { app: 'db' }, addr('10.96.12.3'))
  c.syncEndpoints('shop', 'db', { app: 'db' })
  await flush()
  await a.advance(10_000)
  a.printed.splice(0)
  const old = c.get(R.services, 'shop', 'db')

  // spec.clusterIP is immutable: a new address means delete and create.
  c.advance(3_600_000)
  c.delete(USERS.alice, R.services, 'shop', 'db')
  c.advance(300)
  c.delete(CONTROLLERS.gc, R.endpointslices, 'shop', 'db-abcde')
  c.advance(2000)
  c.service(USERS.alice, 'shop', 'db', { app: 'db' }, addr('10.96.77.201'))
  c.advance(200)
  c.syncEndpoints('shop', 'db', { app: 'db' })
  await flush()
  await a.advance(4000)
  t.same(a.printed, [], 'inside the quiet period')
  await a.advance(2000)
  t.equal(a.printed.length, 1, 'one change, not a delete and a create (nor endpoints moves)')
  const re = a.printed[0]!
  t.equal(re.type, 'create')
  t.equal(re.outcome, 'applied')
  t.equal(re.summary, 'Service shop/db re-created, by alice@example.com: cluster IP 10.96.12.3 → 10.96.77.201 (ClusterIP 10.96.77.201, port 80/TCP, selector app=db)')
  t.same(re.details.recreated, { uid: old.metadata.uid, moves: ['cluster IP 10.96.12.3 → 10.96.77.201'] })
  t.same(re.details.diff, [{ path: 'spec.clusterIP', from: '10.96.12.3', to: '10.96.77.201' }, { path: 'spec.clusterIPs', from: ['10.96.12.3'], to: ['10.96.77.201'] }])
  t.equal(re.object.uid, c.get(R.services, 'shop', 'db').metadata.uid, 'the change names the new Service')
  t.equal(re.auditIDs.length, 4, 'the delete, the create, and the two EndpointSlice writes folded in')
  t.equal(re.details.endpoints, undefined, 'the same pods behind the new address: no endpoints move')

  // Deleted and re-created after the quiet period: two changes, as they happened.
  c.advance(3_600_000)
  c.delete(USERS.alice, R.services, 'shop', 'db')
  await flush()
  await a.advance(6000)
  c.advance(60_000)
  c.service(USERS.alice, 'shop', 'db', { app: 'db' }, addr('10.96.1.1'))
  await flush()
  await a.advance(6000)
  t.same(a.printed.slice(1).map(x => x.type), ['delete', 'create'])
})
