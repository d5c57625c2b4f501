import t from 'tap'
import { describePorts, describeService, serviceMoves, serviceProfile } from '../../src/detectors/service.js'

// What a Service offers its clients, in data and in one line.

const svc = (spec: any, status: any = {}): any => ({ metadata: { name: 'db', namespace: 'shop' }, spec, status })

t.test('profile and line: type, cluster IPs, ports (node ports), load-balancer IPs, selector', async t => {
  const lb = svc({ type: 'LoadBalancer', clusterIP: '10.96.0.5', clusterIPs: ['10.96.0.5', 'fd00::5'], ports: [{ port: 443, targetPort: 8443, protocol: 'TCP', nodePort: 31443 }, { port: 53, protocol: 'UDP' }], selector: { app: 'db', tier: 'data' } }, { loadBalancer: { ingress: [{ ip: '203.0.113.9' }, { hostname: 'lb.example.com' }] } })
  const p = serviceProfile(lb)!
  t.same(p, { type: 'LoadBalancer', clusterIPs: ['10.96.0.5', 'fd00::5'], ports: ['443:31443/TCP', '53/UDP'], loadBalancerIPs: ['203.0.113.9', 'lb.example.com'], selector: { app: 'db', tier: 'data' } })
  t.equal(describeService(p), 'LoadBalancer 10.96.0.5, fd00::5, ports 443:31443/TCP, 53/UDP, load-balancer IP 203.0.113.9, lb.example.com, selector app=db,tier=data')
  t.equal(describeService(serviceProfile(svc({ clusterIP: 'None', ports: [{ port: 5432 }] }))!), 'ClusterIP None, port 5432/TCP', 'headless, no selector: none shown')
  t.equal(describeService(serviceProfile(svc({ type: 'ExternalName', externalName: 'db.example.com' }))!), 'ExternalName db.example.com')
  t.equal(serviceProfile({ metadata: {} } as any), undefined)
  t.same(describePorts([{ port: 80 }]), ['80/TCP'])
})

t.test('moves between two profiles, in words', async t => {
  const a = serviceProfile(svc({ clusterIP: '10.96.12.3', ports: [{ port: 80 }], selector: { app: 'db' } }))
  const b = serviceProfile(svc({ type: 'NodePort', clusterIP: '10.96.77.201', ports: [{ port: 80, nodePort: 30080 }], selector: { app: 'db2' } }))
  t.same(serviceMoves(a, b), ['type ClusterIP → NodePort', 'cluster IP 10.96.12.3 → 10.96.77.201', 'ports 80/TCP → 80:30080/TCP', 'selector app=db → app=db2'])
  t.same(serviceMoves(a, a), [])
  t.same(serviceMoves(undefined, b), [])
  t.same(serviceMoves(serviceProfile(svc({ type: 'ExternalName', externalName: 'a.example.com' })), serviceProfile(svc({ type: 'ExternalName', externalName: 'b.example.com' }))), ['external name a.example.com → b.example.com'])
})
