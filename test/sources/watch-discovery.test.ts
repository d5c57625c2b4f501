import t from 'tap'
import type { Test } from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import pino from 'pino'
import { FakeApiServer, type FakeApiServerOptions } from '../helpers/fake-apiserver.js'
import { testApp, type TestApp } from '../helpers/app.js'
import { createWatchSource, type WatchSource, type WatchSourceOptions } from '../../src/sources/watch.js'
import { applyFile, DEFAULTS } from '../../src/config.js'
import { parseKindName } from '../../src/sources/watch/discovery.js'

// Clusters that serve less than kubechanges asks for: a group version missing,
// a kind RBAC forbids, custom resources named in watch.extraKinds. Through the
// real informers against the protocol-faithful fake apiserver, which serves
// discovery as kube-apiserver does.

const EVENTS = '/apis/events.k8s.io/v1/events'
const ROLLOUTS = '/apis/argoproj.io/v1alpha1/rollouts'

async function until (f: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!f()) {
    if (Date.now() > end) throw new Error(`condition not met in time: ${what}`)
    await new Promise(r => setTimeout(r, 10))
  }
}

interface Log { level: number, msg: string, [k: string]: unknown }
interface World { api: FakeApiServer, a: TestApp, watch: WatchSource, logs: Log[], warnings: () => string[], readyz: () => Promise<{ statusCode: number, body: any }> }

async function world (t: Test, api: FakeApiServerOptions = {}, opts: Partial<WatchSourceOptions> = {}, before?: (api: FakeApiServer) => void): Promise<World> {
  const srv = await FakeApiServer.create(api)
  t.teardown(async () => { await srv.close() })
  before?.(srv)
  const a = await testApp()
  t.teardown(a.close)
  const kc = new KubeConfig()
  kc.loadFromOptions(srv.kubeConfigOptions())
  const logs: Log[] = []
  const log = pino({ level: 'debug' }, { write: (s: string) => { logs.push(JSON.parse(s)) } })
  const watch = createWatchSource({ kc, pipeline: a.app.pipeline, log, registry: a.app.metrics.registry, now: () => a.clock.now, backoff: { initialMs: 20, maxMs: 100 }, recheckMs: 100_000, ...opts })
  a.app.readiness.push(watch.readiness)
  a.app.readinessNotes.push(watch.notes)
  t.teardown(watch.stop)
  watch.start()
  await watch.synced()
  return {
    api: srv,
    a,
    watch,
    logs,
    warnings: () => logs.filter(l => l.level >= 40).map(l => l.msg),
    readyz: async () => {
      const r = await a.app.server.inject('/readyz')
      return { statusCode: r.statusCode, body: r.json() }
    }
  }
}

const EVENT_KIND = { group: 'events.k8s.io', version: 'v1', resource: 'events', kind: 'Event', namespaced: true }

t.test('an API server without events.k8s.io/v1 becomes ready: one warning, the kind left out, found again when served', async t => {
  const w = await world(t, { unserved: ['events.k8s.io/v1'] }, { recheckMs: 50 })
  const note = 'events.events.k8s.io (events.k8s.io/v1) is not served by the API server: not watched'
  t.same(await w.readyz(), { statusCode: 200, body: { status: 'ready', warnings: [note] } })
  t.same(w.warnings(), [`${note}; the rest is watched, re-checked every 50 ms`], 'one warning naming the kind')
  t.same(w.api.counts(EVENTS), { list: 0, watch: 0, get: 0 }, 'never listed: discovery said it is not served')
  t.equal(w.watch.informers.length, 9, 'every other kind is watched')
  const asked = w.api.discoveryRequests
  await until(() => w.api.discoveryRequests > asked + 4, 're-checked now and then')
  t.equal(w.warnings().length, 1, 're-checks that find the same gap say nothing new')

  w.api.serve('events.k8s.io/v1')
  await until(() => w.watch.informers.some(i => i.path === EVENTS && i.informer.synced), 'watched once served')
  t.same(await w.readyz(), { statusCode: 200, body: { status: 'ready' } })
  t.ok(w.logs.some(l => l.level === 30 && l.msg === 'now watching events.events.k8s.io: the API server serves it'))
})

t.test('a list answering 404 although discovery listed it (the CRD went away in between): left out with one warning, ready', async t => {
  const w = await world(t, {}, { kinds: [EVENT_KIND] }, api => {
    api.onRequest = r => { if (r.path === EVENTS) api.unserve('events.k8s.io/v1') }
  })
  const note = `events.events.k8s.io is not served by the API server (list ${EVENTS}: 404): not watched`
  t.same(await w.readyz(), { statusCode: 200, body: { status: 'ready', warnings: [note] } })
  t.same(w.warnings(), [`${note}; the rest is watched, re-checked every 100 s`], 'one warning, no generic restart warning')
  t.equal(w.watch.informers.length, 0)
})

t.test('403 on one kind: ready for the rest; log and /readyz name the missing verb and resource; once granted, watched', async t => {
  const w = await world(t, {}, { recheckMs: 50 }, api => { api.forbid({ resource: 'events.events.k8s.io', verb: 'list' }) })
  t.equal(w.api.discoveryRequests, 7, 'discovery: /api, /apis and the five group versions of the default kinds')
  const note = 'RBAC: cannot list events.events.k8s.io at cluster scope'
  t.same(await w.readyz(), { statusCode: 200, body: { status: 'ready', warnings: [note] } }, 'ready for the rest')
  t.same(w.warnings(), [`${note}; the rest is watched, re-checked every 50 ms`])
  t.match(w.logs.find(l => l.level === 40), { resource: 'events.events.k8s.io', code: 403, apiserver: /cannot list resource "events" in API group "events.k8s.io" at the cluster scope/ })
  await until(() => w.api.counts(EVENTS).list >= 3, 're-checked')
  t.equal(w.warnings().length, 1, 'a re-check refused again says nothing new')
  t.equal((await w.readyz()).statusCode, 200, 'readiness does not flap while re-checking')

  w.api.allow()
  await until(() => w.watch.informers.some(i => i.path === EVENTS && i.informer.synced), 'watched once granted')
  t.same(await w.readyz(), { statusCode: 200, body: { status: 'ready' } })
  t.ok(w.logs.some(l => l.level === 30 && l.msg === `now watching events.events.k8s.io: it was left out (${note})`))
})

t.test('403 on watch only, in one of the watched namespaces: the verb and the namespace are named', async t => {
  const pods = { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true }
  const w = await world(t, {}, { namespaces: ['shop', 'web'], kinds: [pods] }, api => { api.forbid({ resource: 'pods', verb: 'watch', namespace: 'shop' }) })
  await until(() => w.watch.informers.length === 1, 'the forbidden watch left out')
  t.same(await w.readyz(), { statusCode: 200, body: { status: 'ready', warnings: ['RBAC: cannot watch pods in namespace shop'] } })
  t.same(w.watch.informers.map(i => i.path), ['/api/v1/namespaces/web/pods'])
})

t.test('watch.extraKinds: resolved through discovery (preferred version), watched, and a custom resource create/update arrives', async t => {
  const w = await world(t, {
    resources: [
      { group: 'argoproj.io', version: 'v1alpha1', resource: 'rollouts', kind: 'Rollout', shortNames: ['ro'] },
      { group: 'cert-manager.io', version: 'v1alpha2', resource: 'certificates', kind: 'Certificate' },
      { group: 'cert-manager.io', version: 'v1', resource: 'certificates', kind: 'Certificate', preferred: true },
      { group: 'cert-manager.io', version: 'v1', resource: 'clusterissuers', kind: 'ClusterIssuer', namespaced: false }
    ]
  }, { extraKinds: ['rollouts.argoproj.io', 'certificates.cert-manager.io', 'clusterissuers.cert-manager.io', 'deployments.apps'] })
  t.same(await w.readyz(), { statusCode: 200, body: { status: 'ready' } })
  t.same(w.watch.informers.slice(10).map(i => [i.path, i.kind]), [
    [ROLLOUTS, { group: 'argoproj.io', version: 'v1alpha1', resource: 'rollouts', kind: 'Rollout', namespaced: true }],
    ['/apis/cert-manager.io/v1/certificates', { group: 'cert-manager.io', version: 'v1', resource: 'certificates', kind: 'Certificate', namespaced: true }],
    ['/apis/cert-manager.io/v1/clusterissuers', { group: 'cert-manager.io', version: 'v1', resource: 'clusterissuers', kind: 'ClusterIssuer', namespaced: false }]
  ], 'added to the default kinds once each (deployments.apps is one of them)')
  t.same(w.warnings(), [])

  const rollout = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'canary', namespace: 'shop' },
    spec: { replicas: 3, selector: { matchLabels: { app: 'canary' } }, template: { metadata: { labels: { app: 'canary' } }, spec: { containers: [{ name: 'app', image: 'app:1.0' }] } }, strategy: { canary: { steps: [{ setWeight: 20 }] } } }
  }
  w.api.create('/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts', rollout)
  await until(() => w.watch.informers[10].informer.list().length === 1, 'the watch delivered the create')
  await w.a.advance(10_000)
  w.api.patch(ROLLOUTS, 'canary', o => { o.spec.template.spec.containers[0].image = 'app:1.1' }, 'shop')
  // The informer keeps identities only: its resourceVersion catching up with the server's says the update arrived.
  await until(() => w.watch.informers[10].informer.list()[0]?.metadata?.resourceVersion === w.api.list(ROLLOUTS)[0]?.metadata?.resourceVersion, 'the watch delivered the update')
  await w.a.advance(10_000)
  // A Rollout is a workload: its create and rollout wait for the Argo controller's status, which
  // this cluster has none of (the end-to-end progression: watch-custom-resources.test.ts).
  t.same(w.a.printed, [], 'both arrived and wait for the controller')
  t.equal(w.a.app.pipeline.correlator.openCount, 1, 'one open change: the rollout superseding the unfinished create')
})

t.test('an extraKind discovery does not know: one clear warning, ready, the rest watched; resolved once its CRD is installed', async t => {
  const w = await world(t, {}, { extraKinds: ['helmreleases.helm.toolkit.fluxcd.io'], recheckMs: 50 })
  const note = 'watch.extraKinds: helmreleases.helm.toolkit.fluxcd.io is not known to the API server (the API server serves no group helm.toolkit.fluxcd.io; is its CRD installed?): not watched'
  t.same(await w.readyz(), { statusCode: 200, body: { status: 'ready', warnings: [note] } })
  t.same(w.warnings(), [`${note}; the rest is watched, re-checked every 50 ms`])
  t.equal(w.watch.informers.length, 10)

  w.api.addResource({ group: 'helm.toolkit.fluxcd.io', version: 'v2', resource: 'helmreleases', kind: 'HelmRelease', shortNames: ['hr'] })
  await until(() => w.watch.informers.some(i => i.path === '/apis/helm.toolkit.fluxcd.io/v2/helmreleases' && i.informer.synced), 'watched once installed')
  t.same(await w.readyz(), { statusCode: 200, body: { status: 'ready' } })
  t.equal(w.warnings().length, 1)
})

t.test('a known group without the named resource, and a resource that cannot be watched, are named as such', async t => {
  const w = await world(t, {
    resources: [{ group: 'example.com', version: 'v1', resource: 'widgets', kind: 'Widget', verbs: ['create', 'get'] }]
  }, { extraKinds: ['gadgets.example.com', 'widgets.example.com'] })
  t.same((await w.readyz()).body.warnings, [
    'watch.extraKinds: gadgets.example.com is not known to the API server (discovery does not list it; is its CRD installed?): not watched',
    'widgets.example.com cannot be watched: the API server does not allow list or watch on it'
  ])
  t.equal((await w.readyz()).statusCode, 200)
})

t.test('discovery unreachable at start: not ready, says why, retries; ready once the API server answers', async t => {
  const srv = await FakeApiServer.create()
  t.teardown(async () => { await srv.close() })
  await srv.stop()
  const a = await testApp()
  t.teardown(a.close)
  const kc = new KubeConfig()
  kc.loadFromOptions(srv.kubeConfigOptions())
  const logs: Log[] = []
  const watch = createWatchSource({ kc, pipeline: a.app.pipeline, log: pino({ level: 'debug' }, { write: (s: string) => { logs.push(JSON.parse(s)) } }), registry: a.app.metrics.registry, now: () => a.clock.now, backoff: { initialMs: 20, maxMs: 50 } })
  a.app.readiness.push(watch.readiness)
  t.teardown(watch.stop)
  watch.start()
  await until(() => logs.some(l => l.level === 40), 'a warning')
  const r = await a.app.server.inject('/readyz')
  t.equal(r.statusCode, 503)
  t.match(r.json().message, /^API discovery pending: .*ECONNREFUSED/)
  await srv.start()
  await watch.synced()
  t.equal((await a.app.server.inject('/readyz')).statusCode, 200)
  t.same(logs.filter(l => l.level >= 40).map(l => l.msg.replace(/: .*/, '')), ['API discovery failed, retrying'], 'said once')
})

t.test('watch.extraKinds in the config: validated, the error names the key', async t => {
  t.same(applyFile(structuredClone(DEFAULTS), { watch: { extraKinds: ['rollouts.argoproj.io', 'configmaps'] } }).watch.extraKinds, ['rollouts.argoproj.io', 'configmaps'])
  t.same(DEFAULTS.watch.extraKinds, [])
  t.throws(() => applyFile(structuredClone(DEFAULTS), { watch: { extraKinds: ['rollouts.argoproj.io', 'Rollout'] } }),
    { code: 'KC_BAD_CONFIG', message: 'watch.extraKinds[1]: expected a kubectl-style resource.group name such as rollouts.argoproj.io, got "Rollout"' })
  t.throws(() => applyFile(structuredClone(DEFAULTS), { watch: { extraKinds: 'a b' } }), { message: /^watch\.extraKinds\[0\]: expected a kubectl-style/ })
  t.throws(() => applyFile(structuredClone(DEFAULTS), { watch: { extraKinds: [3] } }), { message: 'watch.extraKinds[0]: expected a non-empty string' })
})

t.test('kubectl-style names: resource, resource.group, resource.version.group', async t => {
  t.same(parseKindName('rollouts.argoproj.io'), { resource: 'rollouts', group: 'argoproj.io' })
  t.same(parseKindName('certificates.v1alpha2.cert-manager.io'), { resource: 'certificates', version: 'v1alpha2', group: 'cert-manager.io' })
  t.same(parseKindName('configmaps'), { resource: 'configmaps', group: '' })
  t.same(parseKindName('deployments.v1.apps'), { resource: 'deployments', version: 'v1', group: 'apps' })
  t.same(parseKindName('helmreleases.helm.toolkit.fluxcd.io'), { resource: 'helmreleases', group: 'helm.toolkit.fluxcd.io' })
})

t.test('a pinned version and a core resource as extraKinds', async t => {
  const w = await world(t, {
    resources: [
      { group: 'cert-manager.io', version: 'v1', resource: 'certificates', kind: 'Certificate', preferred: true },
      { group: 'cert-manager.io', version: 'v1alpha2', resource: 'certificates', kind: 'Certificate' }
    ]
  }, { extraKinds: ['certificates.v1alpha2.cert-manager.io', 'configmaps', 'cm'] })
  t.same(w.watch.informers.slice(10).map(i => i.path), ['/apis/cert-manager.io/v1alpha2/certificates', '/api/v1/configmaps'], 'a short name resolves to the same kind, watched once')
  t.same(await w.readyz(), { statusCode: 200, body: { status: 'ready' } })
})
