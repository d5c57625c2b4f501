import t from 'tap'
import type { Test } from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import pino from 'pino'
import { FakeApiServer } from '../helpers/fake-apiserver.js'
import { Cluster, USERS, R } from '../helpers/cluster.js'
import { eventList, testApp, type TestApp } from '../helpers/app.js'
import { createWatchSource, type WatchSource } from '../../src/sources/watch.js'
import { collection } from '../helpers/watch-app.js'

// The watch as a source, driven by the real informers against a real HTTP
// server speaking the list/watch protocol; the same writes the audit
// simulator describes (same uids and resourceVersions).

async function until (f: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!f()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise(r => setTimeout(r, 20))
  }
}

interface World { c: Cluster, api: FakeApiServer, a: TestApp, watch: WatchSource, settle: () => Promise<void> }

async function world (t: Test, opts: { preload?: (c: Cluster) => void } = {}): Promise<World> {
  const c = new Cluster()
  const api = await FakeApiServer.create()
  t.teardown(async () => { await api.close() })
  c.onWrite = (type, r, obj) => { api.mirror(collection(r), type, obj) }
  opts.preload?.(c)
  const a = await testApp({ start: c.t })
  t.teardown(a.close)
  const kc = new KubeConfig()
  kc.loadFromOptions(api.kubeConfigOptions())
  const watch = createWatchSource({ kc, pipeline: a.app.pipeline, log: pino({ level: 'silent' }), registry: a.app.metrics.registry, now: () => a.clock.now, backoff: { initialMs: 20, maxMs: 100 } })
  a.app.readiness.push(watch.readiness)
  t.teardown(watch.stop)
  watch.start()
  await watch.synced()
  const settle = async (): Promise<void> => {
    // Wait until every watch has delivered up to the server's newest write.
    const state = (objs: any[]): string => objs.map(o => `${o.metadata.uid as string}@${o.metadata.resourceVersion as string}`).sort().join()
    await until(() => watch.informers.every(i => state(i.informer.list()) === state(api.list(i.path))))
    await new Promise(r => setTimeout(r, 50))
  }
  return { c, api, a, watch, settle }
}

t.test('watch only: the baseline is not a change; a rollout is one change, no actor', async t => {
  const { c, a, settle } = await world(t, {
    preload: c => {
      c.service(USERS.alice, 'shop', 'web', { app: 'web' })
      c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1.4', 3))
      c.runDeploymentController('shop', 'web', { service: 'web' })
    }
  })
  c.take()
  t.equal((await a.app.server.inject('/readyz')).statusCode, 200, 'ready once every informer listed')
  a.clock.now = c.t
  await a.advance(60_000)
  t.same(a.printed, [], 'what exists at the first list is the baseline')

  c.advance(60_000)
  a.clock.now = c.t
  c.setImage(USERS.alice, 'shop', 'web', 'web:1.5')
  c.runDeploymentController('shop', 'web', { service: 'web' })
  c.take()
  await settle()
  a.clock.now = c.t
  await a.advance(6000)
  t.equal(a.printed.length, 1)
  const r = a.printed[0]!
  t.equal(r.type, 'rollout')
  t.equal(r.outcome, 'succeeded')
  t.equal(r.actor, null)
  t.equal(r.details.revision, 2)
  t.same(r.details.images, [{ container: 'web', from: 'web:1.4', to: 'web:1.5' }])
  t.equal(r.details.endpoints?.[0]?.added.length, 3)
  t.equal(r.counts.watch !== undefined && r.counts.watch > 5, true)
  t.equal(r.counts.audit, undefined)
  const m = await a.app.metrics.registry.metrics()
  t.match(m, /kubechanges_events_received_total\{source="watch"\} \d+/)
  t.match(m, /kubechanges_informer_synced\{path="\/apis\/apps\/v1\/deployments"\} 1/)
  t.match(m, /kubechanges_informer_last_event_age_seconds\{path="\/api\/v1\/services"\} /)
})

t.test('watch and audit together: the same rollout once, with the actor from audit', async t => {
  const { c, a, settle } = await world(t, {
    preload: c => {
      c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1.4', 2))
      c.runDeploymentController('shop', 'web')
    }
  })
  // Audit was flowing before: the same writes the baseline already holds merge into nothing.
  a.clock.now = c.t
  t.equal((await a.post(eventList(c.take()))).statusCode, 200)
  await a.advance(60_000)
  t.same(a.printed, [], 'audit of writes already in the baseline opens nothing')
  c.advance(60_000)
  a.clock.now = c.t
  c.setImage(USERS.bob, 'shop', 'web', 'web:2.0')
  c.runDeploymentController('shop', 'web')
  const audit = c.take()
  await settle()
  a.clock.now = c.t
  // The apiserver's audit batch arrives later than the watch: within the grace period.
  await a.advance(10_000)
  t.equal(a.printed.length, 0, 'a watch-opened change waits for the audit batch while audit is flowing… ')
  t.equal((await a.post(eventList(audit))).statusCode, 200)
  await a.advance(40_000)
  t.equal(a.printed.length, 1, 'one change, not two')
  const r = a.printed[0]!
  t.equal(r.type, 'rollout')
  t.same(r.actor, USERS.bob)
  t.ok((r.counts.audit ?? 0) > 0 && (r.counts.watch ?? 0) > 0, 'both sources folded in')
})
