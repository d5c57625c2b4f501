import t from 'tap'
import { eventList, testApp } from '../helpers/app.js'
import { Cluster, CONTROLLERS, USERS, R } from '../helpers/cluster.js'

// POST /audit answers what kube-apiserver's webhook backend needs: 200 once
// processed, a clear 4xx for a body it should not retry as-is.

t.test('errors are JSON {code, message} with stable codes', async t => {
  const a = await testApp({ config: { bodyLimitBytes: 64 * 1024, maxJsonDepth: 32 } })
  t.teardown(a.close)
  const post = (payload: string | Buffer, type = 'application/json') => a.app.server.inject({ method: 'POST', url: '/audit', headers: { 'content-type': type }, payload })
  const cases: Array<[string, Awaited<ReturnType<typeof post>>, number, string, RegExp]> = [
    ['not JSON', await post('{"kind": "EventList", items: ['), 400, 'KC_BAD_JSON', /^body is not valid JSON: /],
    ['empty body', await post(''), 400, 'KC_BAD_JSON', /^body is not valid JSON/],
    ['not an event list', await post('{"kind":"PodList","items":[]}'), 400, 'KC_BAD_EVENT_LIST', /^expected kind EventList or Event, got "PodList"$/],
    ['a string', await post('"hello"'), 400, 'KC_BAD_EVENT_LIST', /must be an audit EventList/],
    ['too deep', await post('['.repeat(40) + ']'.repeat(40)), 400, 'KC_TOO_DEEP', /deeper than 32 levels/],
    ['too large', await post(JSON.stringify(eventList([{ pad: 'x'.repeat(70 * 1024) }]))), 413, 'KC_BODY_TOO_LARGE', /./],
    ['wrong content type', await post('{}', 'text/plain'), 415, 'KC_UNSUPPORTED_MEDIA_TYPE', /./],
    ['form', await post('a=b', 'application/x-www-form-urlencoded'), 415, 'KC_UNSUPPORTED_MEDIA_TYPE', /./]
  ]
  for (const [name, res, status, code, msg] of cases) {
    t.equal(res.statusCode, status, name)
    t.match(res.headers['content-type'], /^application\/json/, name)
    t.equal(res.json().code, code, name)
    t.match(res.json().message, msg, name)
  }
  const nf = await a.app.server.inject({ method: 'GET', url: '/nope?x=1' })
  t.equal(nf.statusCode, 404)
  t.same(nf.json(), { code: 'KC_NOT_FOUND', message: 'no route GET /nope' })
  // Brackets inside strings are not nesting.
  const ok = await post(JSON.stringify(eventList([{ kind: 'Event', auditID: 'x', stage: 'ResponseComplete', verb: 'get', note: '['.repeat(100) }])))
  t.equal(ok.statusCode, 200)
  const m = await a.app.metrics.registry.getSingleMetricAsString('kubechanges_http_rejected_total')
  t.match(m, /route="\/audit",code="400"\} 5/)
  t.match(m, /code="413"\} 1/)
  t.match(m, /code="415"\} 2/)
  // The service is still serving after all that.
  t.equal((await a.app.server.inject('/healthz')).statusCode, 200)
})

t.test('one bad item inside a good batch is skipped and counted; the rest is processed', async t => {
  const c = new Cluster()
  const a = await testApp({ start: c.t })
  t.teardown(a.close)
  c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'x' }, data: { k: 'v' } })
  c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'x' }, data: { k: 'v' } })
  const [one, two] = c.take()
  const res = await a.post(eventList([one, { kind: 0 }, 'junk', null, { auditID: 'q', kind: 'Event' }, two]))
  t.equal(res.statusCode, 200)
  t.same(res.json, { received: 6, observations: 2, dropped: 0, malformed: 4 })
  a.clock.now = c.t
  await a.advance(6000)
  t.same(a.printed.map(x => x.object.name), ['a', 'b'])
})

t.test('an EndpointSlice whose names are null or numbers (anyone\'s JSON) is taken in, and an event that fails inside costs itself only, counted once', async t => {
  const c = new Cluster()
  const a = await testApp({ start: c.t })
  t.teardown(a.close)
  c.create(CONTROLLERS.endpointslice, R.endpointslices, { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-abcde', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', endpoints: [{ addresses: ['10.1.2.3'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'web-1', uid: 'p-1' } }] })
  const [slice] = c.take() as any[]
  slice.responseObject.apiVersion = null
  slice.responseObject.metadata.namespace = 7
  slice.responseObject.endpoints[0].targetRef.uid = -3.9e-92
  t.same((await a.post(eventList([slice]))).json, { received: 1, observations: 1, dropped: 0, malformed: 0 })
  // A shape nothing expected, simulated: the correlator throws on the second event.
  c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'x' }, data: { k: 'v' } })
  c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'x' }, data: { k: 'v' } })
  const corr = a.app.pipeline.correlator
  const ingest = corr.ingest.bind(corr)
  corr.ingest = obs => { if (obs.ref.name === 'b') throw new TypeError('unexpected shape'); ingest(obs) }
  const res = await a.post(eventList(c.take()))
  t.same(res, { statusCode: 200, json: { received: 2, observations: 1, dropped: 0, malformed: 1 } })
})

t.test('a single Event (not a list) and a v1beta1 list are accepted', async t => {
  const c = new Cluster()
  const a = await testApp({ start: c.t })
  t.teardown(a.close)
  c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'single', namespace: 'x' }, data: {} })
  c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'beta', namespace: 'x' }, data: {} })
  const [single, beta] = c.take()
  t.equal((await a.post(single)).statusCode, 200)
  const b = { ...beta, apiVersion: 'audit.k8s.io/v1beta1' }
  t.equal((await a.post({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1beta1', items: [b] })).statusCode, 200)
  a.clock.now = c.t
  await a.advance(6000)
  t.same(a.printed.map(x => x.object.name), ['single', 'beta'])
})

t.test('an event whose shape no detector expects costs that event, not the batch', async t => {
  const c = new Cluster()
  const a = await testApp({ start: c.t })
  t.teardown(a.close)
  c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fine', namespace: 'x' }, data: {} })
  const [good] = c.take()
  // A Deployment whose spec.template is a string: well-formed JSON, valid event, absurd object.
  const odd = structuredClone(good) as any
  odd.auditID = 'odd-1'
  odd.objectRef = { resource: 'deployments', apiGroup: 'apps', apiVersion: 'v1', namespace: 'x', name: 'odd' }
  odd.responseObject = { kind: 'Deployment', apiVersion: 'apps/v1', metadata: { name: 'odd', namespace: 'x', uid: 'odd-uid', resourceVersion: '5', generation: 1 }, spec: { template: 'nope', replicas: 'many' }, status: { conditions: 'none' } }
  const res = await a.post(eventList([odd, good]))
  t.equal(res.statusCode, 200)
  a.clock.now = c.t + 1
  await a.advance(3_600_000)
  t.ok(a.printed.some(x => x.object.name === 'fine'), 'the rest of the batch went through')
  t.equal((await a.app.server.inject('/healthz')).statusCode, 200)
})
