import t from 'tap'
import { adoptEndpoints, endpointsDetector, EndpointSlices } from '../../src/detectors/endpoints.js'
import { routesFor } from '../../src/detectors/index.js'
import { endpointMoves } from '../../src/detectors/report.js'
import type { Observation } from '../../src/model.js'
import type { Open } from '../../src/correlate/open.js'
import { detectorWorld } from '../helpers/detector-context.js'

// The endpoints detector on plain data: a Service's ready addresses are the
// union of its EndpointSlices; a move folds into the change that explains it
// (a rollout behind the Service, the Service's own change) or is an
// `endpoints` change of its own.

const slice = (name: string, eps: Array<[string, string]>, rv = '1'): any => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace: 'shop', uid: `uid-${name}`, resourceVersion: rv, labels: { 'kubernetes.io/service-name': 'api' } },
  endpoints: eps.map(([ip, pod]) => ({ addresses: [ip], conditions: { ready: true }, targetRef: { kind: 'Pod', name: pod, uid: `uid-${pod}` } }))
})
const obs = (action: Observation['action'], object: any, at = 1_000): Observation => ({
  source: 'watch', at, action, owners: [], object, resourceVersion: object.metadata.resourceVersion,
  ref: { apiGroup: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', resource: 'endpointslices', namespace: 'shop', name: object.metadata.name, uid: object.metadata.uid }
})
const service = { uid: 'uid-svc', kind: 'Service', namespace: 'shop', name: 'api', snapshot: { metadata: { name: 'api' }, spec: { selector: { app: 'api' } } } as any }

function world (): ReturnType<typeof detectorWorld> {
  const w = detectorWorld()
  w.objects.set('uid-svc', service)
  return w
}

t.test('EndpointSlices go to the endpoints detector before any root is looked for, whatever their group', async t => {
  t.equal(routesFor('EndpointSlice', 'discovery.k8s.io').observe, endpointsDetector)
  t.equal(routesFor('Deployment', 'apps').observe, undefined)
})

t.test('a slice first seen is the baseline; a pod moving with nothing to explain it is one endpoints change, net of what came back', async t => {
  const w = world()
  t.equal(endpointsDetector.observe!(w.ctx, obs('update', slice('api-1', [['10.0.0.1', 'a'], ['10.0.0.2', 'b']])), 'uid-api-1', undefined), undefined)
  t.same(w.opened, [], 'the first sight of a slice that already existed')
  const key = endpointsDetector.observe!(w.ctx, obs('update', slice('api-1', [['10.0.0.1', 'a'], ['10.0.0.3', 'c']], '2'), 2_000), 'uid-api-1', undefined)
  t.equal(key, 'uid-svc#endpoints')
  const open = w.opened[0]!
  t.same([open.type, open.pending, open.root.kind, open.root.uid, open.actor], ['endpoints', 'applied', 'Service', 'uid-svc', null])
  t.same(endpointMoves(open), [{ service: 'shop/api', added: ['10.0.0.3'], removed: ['10.0.0.2'] }])
  endpointsDetector.observe!(w.ctx, obs('update', slice('api-1', [['10.0.0.1', 'a'], ['10.0.0.2', 'b']], '3'), 3_000), 'uid-api-1', undefined)
  t.equal(w.opened.length, 1, 'the same change')
  t.same(endpointMoves(open), [], 'moved back: nothing to report (the Service detector says so at close)')
})

t.test('a move explained by a rollout of a workload behind the Service folds into it', async t => {
  const w = world()
  endpointsDetector.observe!(w.ctx, obs('update', slice('api-1', [['10.0.0.1', 'a']])), 'uid-api-1', undefined)
  const rollout = { key: 'uid-d', type: 'rollout', root: { key: 'uid-d', uid: 'uid-d', kind: 'Deployment', namespace: 'shop', name: 'api' }, latest: { spec: { template: { metadata: { labels: { app: 'api' } } } } }, folds: {}, counts: {}, timeline: [], lastAt: 0 } as unknown as Open
  w.window.set('uid-d', rollout)
  const key = endpointsDetector.observe!(w.ctx, obs('update', slice('api-1', [['10.0.0.9', 'z']], '2'), 2_000), 'uid-api-1', undefined)
  t.equal(key, 'uid-d')
  t.same(w.opened, [], 'no endpoints change of its own')
  t.same(endpointMoves(rollout), [{ service: 'shop/api', added: ['10.0.0.9'], removed: ['10.0.0.1'] }])
})

t.test('an endpoints change seen before the rollout that explains it is adopted by it, keeping its baseline', async t => {
  const w = world()
  endpointsDetector.observe!(w.ctx, obs('update', slice('api-1', [['10.0.0.1', 'a']])), 'uid-api-1', undefined)
  endpointsDetector.observe!(w.ctx, obs('update', slice('api-1', [['10.0.0.2', 'b']], '2'), 2_000), 'uid-api-1', undefined)
  const ep = w.opened[0]!
  const rollout = { key: 'uid-d', type: 'rollout', root: { key: 'uid-d', uid: 'uid-d', kind: 'Deployment', namespace: 'shop', name: 'api' }, folds: {}, counts: {}, timeline: [] } as unknown as Open
  adoptEndpoints(w.ctx, rollout, { spec: { template: { metadata: { labels: { app: 'api' } } } } } as any)
  t.same(w.dropped, [ep])
  t.same(endpointMoves(rollout), [{ service: 'shop/api', added: ['10.0.0.2'], removed: ['10.0.0.1'] }])
  t.same(rollout.counts, { watch: 1 })
})

t.test('the slices are plain data in the snapshot: dumped and loaded, the same union', async t => {
  const w = world()
  endpointsDetector.observe!(w.ctx, obs('create', slice('api-1', [['10.0.0.1', 'a']])), 'uid-api-1', undefined)
  const st = w.ctx.stateOf(endpointsDetector) as EndpointSlices
  const dumped = JSON.parse(JSON.stringify(st.dump()))
  t.same(dumped, { slices: [['uid-api-1', [['10.0.0.1', 'uid-a']]]], serviceSlices: [['uid-svc', ['uid-api-1']]] })
  const loaded = new EndpointSlices()
  loaded.load(dumped)
  t.same([...loaded.union('uid-svc')], [['10.0.0.1', 'uid-a']])
  const del = endpointsDetector.observe!(w.ctx, obs('delete', slice('api-1', [])), 'uid-api-1', undefined)
  t.equal(del, 'uid-svc#endpoints', 'the slice deleted: its addresses went')
  t.same(st.dump().slices, [])
})
