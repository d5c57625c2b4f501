import t from 'tap'
import type { Test } from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import pino from 'pino'
import { FakeApiServer } from '../helpers/fake-apiserver.js'
import { Cluster, USERS } from '../helpers/cluster.js'
import { testApp, type TestApp } from '../helpers/app.js'
import { CR, createRollout, helmRelease, setRolloutImage } from '../helpers/custom-resources.js'
import { createWatchSource } from '../../src/sources/watch.js'

// Custom resources through the watch alone: watch.extraKinds resolved by the
// fake apiserver's discovery, the controllers' status progressions (the same
// fixtures as the audit scenarios) mirrored into its list/watch, and the
// changes closing by the kinds' status rules.

const collection = (r: { group: string, version: string, resource: string }): string => r.group === '' ? `/api/${r.version}/${r.resource}` : `/apis/${r.group}/${r.version}/${r.resource}`

async function until (f: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!f()) {
    if (Date.now() > end) throw new Error(`condition not met in time: ${what}`)
    await new Promise(r => setTimeout(r, 10))
  }
}

async function world (t: Test): Promise<{ c: Cluster, api: FakeApiServer, a: TestApp, step: (write: () => void, ms?: number) => Promise<any[]> }> {
  const c = new Cluster()
  const api = await FakeApiServer.create({ resources: [CR.rollouts, CR.helmreleases].map(r => ({ ...r })) })
  t.teardown(async () => { await api.close() })
  c.onWrite = (type, r, obj) => { api.mirror(collection(r), type, obj) }
  const a = await testApp({ start: c.t })
  t.teardown(a.close)
  const kc = new KubeConfig()
  kc.loadFromOptions(api.kubeConfigOptions())
  const watch = createWatchSource({ kc, pipeline: a.app.pipeline, log: pino({ level: 'silent' }), registry: a.app.metrics.registry, now: () => a.clock.now, backoff: { initialMs: 20, maxMs: 100 }, extraKinds: ['rollouts.argoproj.io', 'helmreleases.helm.toolkit.fluxcd.io'] })
  t.teardown(watch.stop)
  watch.start()
  await watch.synced()
  await until(() => api.openWatches() === watch.informers.length, 'every watch open')
  const state = (objs: any[]): string => objs.map(o => `${o.metadata.uid as string}@${o.metadata.resourceVersion as string}`).sort().join()
  // The watch's clock is the receive time: each write is delivered at the cluster's time of it.
  const step = async (write: () => void, ms = 10_000): Promise<any[]> => {
    a.clock.now = Math.max(a.clock.now, c.t)
    write()
    a.clock.now = Math.max(a.clock.now, c.t)
    await until(() => watch.informers.every(i => state(i.informer.list()) === state(api.list(i.path))), 'informers converge')
    c.take()
    await a.advance(ms)
    c.t = Math.max(c.t, a.clock.now)
    return a.printed.splice(0)
  }
  return { c, api, a, step }
}

t.test('watch alone: an Argo Rollout create and rollouts close by the built-in rule; a HelmRelease upgrade fails', async t => {
  const { c, step } = await world(t)
  const created = await step(() => { createRollout(c, USERS.alice, 'shop', 'web', 'web:1.0') })
  t.same(created.map(ch => [ch.type, ch.outcome, ch.object.kind, ch.actor, ch.details.images]), [['create', 'succeeded', 'Rollout', null, [{ container: 'web', from: null, to: 'web:1.0' }]]])
  t.ok((created[0].counts.watch ?? 0) >= 4, 'the ReplicaSet and the status writes folded in')

  const ok = await step(() => { c.advance(60_000); setRolloutImage(c, USERS.alice, 'shop', 'web', 'web:1.1') })
  t.same(ok.map(ch => [ch.type, ch.outcome, ch.summary]), [['rollout', 'succeeded', 'Rollout shop/web rolled out revision 2, image web:1.0 → web:1.1, 3/3 available in 0 s']])
  const bad = await step(() => { c.advance(60_000); setRolloutImage(c, USERS.alice, 'shop', 'web', 'web:1.2', 'degraded') })
  t.same(bad.map(ch => [ch.type, ch.outcome, ch.details.reason]), [['rollout', 'failed', 'ProgressDeadlineExceeded']])

  const install = await step(() => { helmRelease(c, USERS.alice, 'shop', 'podinfo', '6.5.0') })
  t.same(install.map(ch => [ch.type, ch.outcome, ch.details.reason]), [['create', 'succeeded', 'InstallSucceeded']])
  const upgrade = await step(() => { c.advance(60_000); helmRelease(c, USERS.alice, 'shop', 'podinfo', '6.6.0', 'failed') })
  t.same(upgrade.map(ch => [ch.type, ch.outcome, ch.details.reason, ch.details.diff]), [['update', 'failed', 'UpgradeFailed', [{ path: 'spec.chart.spec.version', from: '6.5.0', to: '6.6.0' }]]])
})
