import t from 'tap'
import { serviceDetector } from '../../src/detectors/service-detector.js'
import { genericDetector } from '../../src/detectors/generic.js'
import { NOT_MINE, routesFor } from '../../src/detectors/index.js'
import type { Observation } from '../../src/model.js'
import { detectorWorld } from '../helpers/detector-context.js'

// The Service detector on plain data: what clients hold, in the report; a
// load-balancer IP moving is a change; delete + create under one name within
// the quiet period is the re-created Service, not from a re-list.

const svc = (uid: string, ip: string, rv: string, lb?: string): any => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'db', namespace: 'shop', uid, resourceVersion: rv, generation: 1 },
  spec: { type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ports: [{ port: 5432, protocol: 'TCP' }], selector: { app: 'db' } },
  status: lb !== undefined ? { loadBalancer: { ingress: [{ ip: lb }] } } : {}
})
const rootOf = (uid: string): any => ({ key: uid, uid, kind: 'Service', namespace: 'shop', name: 'db' })
const obs = (action: Observation['action'], object: any, at = 1_000, extra: Partial<Observation> = {}): Observation => ({
  source: 'audit', at, action, owners: [], object, resourceVersion: object?.metadata?.resourceVersion, generation: 1,
  ref: { apiGroup: '', version: 'v1', kind: 'Service', resource: 'services', namespace: 'shop', name: 'db', uid: object?.metadata?.uid },
  ...extra
})

t.test('owns core Services only (a Knative Service is a custom resource); ids by resourceVersion, not generation', async t => {
  t.same(routesFor('Service', '').writes, [serviceDetector, genericDetector])
  t.equal(routesFor('Service', 'serving.knative.dev').writes.includes(serviceDetector), false)
  const w = detectorWorld()
  serviceDetector.onWrite!(w.ctx, obs('create', svc('uid-1', '10.96.12.3', '100')), rootOf('uid-1'), undefined, undefined)
  t.same([w.opened[0]!.type, w.opened[0]!.idRev, w.opened[0]!.pending], ['create', '100', 'applied'])
})

t.test('deleted and created again within the quiet period: one change, the re-created Service, with the address move', async t => {
  const w = detectorWorld()
  const old = svc('uid-1', '10.96.12.3', '100')
  genericDetector.onDelete!(w.ctx, { ...obs('delete', old, 1_000), actor: { username: 'alice', groups: [] } }, rootOf('uid-1'), old, undefined)
  const del = w.opened[0]!
  del.actor = { username: 'alice', groups: [] }
  const fresh = svc('uid-2', '10.96.77.201', '140')
  serviceDetector.onWrite!(w.ctx, obs('create', fresh, 3_000), rootOf('uid-2'), undefined, undefined)
  const open = w.opened[1]!
  t.same(w.dropped, [del], 'the delete is folded in, never sent')
  t.same([open.replaces, open.startedAt, open.actor?.username], ['uid-1', 1_000, 'alice'])
  t.same(open.timeline.map(e => e.action), ['delete', 'create'])
  t.same(open.counts, { audit: 2 })
  const details: any = {}
  t.equal(serviceDetector.details!(w.ctx, open, details), true)
  t.same(details.recreated, { uid: 'uid-1', moves: ['cluster IP 10.96.12.3 → 10.96.77.201'] })
  t.same(details.service, { type: 'ClusterIP', clusterIPs: ['10.96.77.201'], ports: ['5432/TCP'], loadBalancerIPs: [], selector: { app: 'db' } })
  t.same(details.diff, [{ path: 'spec.clusterIP', from: '10.96.12.3', to: '10.96.77.201' }, { path: 'spec.clusterIPs', from: ['10.96.12.3'], to: ['10.96.77.201'] }])

  const r = detectorWorld()
  genericDetector.onDelete!(r.ctx, { ...obs('delete', old), relist: true }, rootOf('uid-1'), old, undefined)
  serviceDetector.onWrite!(r.ctx, obs('create', fresh, 3_000, { relist: true }), rootOf('uid-2'), undefined, undefined)
  t.same(r.dropped, [], 'a re-list does not know when: its delete and create stay two changes')
  t.equal(r.opened[1]!.replaces, undefined)
})

t.test('a load-balancer IP moving is an update although it is status; any other status write is not the Service\'s to judge', async t => {
  const w = detectorWorld()
  const before = svc('uid-1', '10.96.0.60', '100')
  t.equal(serviceDetector.onWrite!(w.ctx, obs('status', svc('uid-1', '10.96.0.60', '101')), rootOf('uid-1'), before, undefined), NOT_MINE)
  t.equal(serviceDetector.onWrite!(w.ctx, obs('status', svc('uid-1', '10.96.0.60', '102', '203.0.113.7')), rootOf('uid-1'), before, undefined), 'uid-1')
  const open = w.opened[0]!
  t.same([open.type, open.idRev], ['update', '102'])
  const details: any = {}
  serviceDetector.details!(w.ctx, open, details)
  t.same(details.diff, [{ path: 'status.loadBalancer.ingress', from: [], to: ['203.0.113.7'] }])
  t.same(details.service.loadBalancerIPs, ['203.0.113.7'])
})

t.test('a delete reports what the Service was; an edit changed back reports nothing', async t => {
  const w = detectorWorld()
  const old = svc('uid-1', '10.96.12.3', '100')
  genericDetector.onDelete!(w.ctx, obs('delete', undefined), rootOf('uid-1'), old, undefined)
  const details: any = {}
  serviceDetector.details!(w.ctx, w.opened[0]!, details)
  t.same(details.service.clusterIPs, ['10.96.12.3'])
  const e = detectorWorld()
  const changed = svc('uid-1', '10.96.12.3', '101')
  changed.spec.ports = [{ port: 5433, protocol: 'TCP' }]
  serviceDetector.onWrite!(e.ctx, obs('update', changed), rootOf('uid-1'), old, undefined)
  const open = e.opened[0]!
  open.latest = svc('uid-1', '10.96.12.3', '102')
  t.equal(serviceDetector.details!(e.ctx, open, {}), false)
})
