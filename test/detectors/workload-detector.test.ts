import t from 'tap'
import { workloadDetector } from '../../src/detectors/workload-detector.js'
import { genericDetector } from '../../src/detectors/generic.js'
import { detectorFor, NOT_MINE, routesFor } from '../../src/detectors/index.js'
import { parseKinds } from '../../src/detectors/status/index.js'
import type { Observation } from '../../src/model.js'
import type { Open } from '../../src/correlate/open.js'
import { detectorWorld } from '../helpers/detector-context.js'

// The workload detector on plain data: a template change is a rollout, a
// newer one before the older finished supersedes it, replicas alone are a
// scale; kubectl's rollout-status rule (an Argo Rollout's status rule) ends it.

const root = { key: 'uid-d', uid: 'uid-d', kind: 'Deployment', namespace: 'shop', name: 'web' }
const dep = (image: string, generation: number, status: any = {}, replicas = 2, revision?: string): any => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', uid: 'uid-d', generation, ...(revision !== undefined ? { annotations: { 'deployment.kubernetes.io/revision': revision } } : {}) },
  spec: { replicas, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image }] } } },
  status: { observedGeneration: generation, ...status }
})
const done = (n: number): any => ({ replicas: n, updatedReplicas: n, readyReplicas: n, availableReplicas: n })
const obs = (action: Observation['action'], object: any, at = 1_000, actor?: string): Observation => ({
  source: 'audit', at, action, owners: [], object, generation: object.metadata.generation,
  ref: { apiGroup: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespace: 'shop', name: 'web', uid: 'uid-d' },
  ...(actor !== undefined ? { actor: { username: actor, groups: [] } } : {})
})

t.test('owns the four workload kinds by kind; a Rollout from another group falls through to the generic create', async t => {
  for (const [k, g] of [['Deployment', 'apps'], ['StatefulSet', 'apps'], ['DaemonSet', 'apps'], ['Rollout', 'argoproj.io']]) t.equal(detectorFor(k!, g!), workloadDetector, k)
  t.same(routesFor('Deployment', 'apps').writes, [workloadDetector, genericDetector])
  const w = detectorWorld()
  const other = { ...obs('create', dep('web:1', 1)), ref: { ...obs('create', dep('web:1', 1)).ref, kind: 'Rollout', apiGroup: 'apps' } }
  t.equal(workloadDetector.onWrite!(w.ctx, other, { ...root, kind: 'Rollout' }, undefined, undefined), NOT_MINE)
})

t.test('a create succeeds when kubectl\'s rule holds; its details name images and replicas', async t => {
  const w = detectorWorld()
  workloadDetector.onWrite!(w.ctx, obs('create', dep('web:1', 1)), root, undefined, undefined)
  const open = w.opened[0]!
  t.same([open.type, open.pending, open.idRev], ['create', null, 'rv'])
  workloadDetector.onWrite!(w.ctx, obs('status', dep('web:1', 1, done(2)), 4_000), root, dep('web:1', 1), open)
  t.same([open.pending, open.doneAt], ['succeeded', 4_000])
  const details: any = {}
  t.equal(workloadDetector.details!(w.ctx, open, details), true)
  t.same(details, { images: [{ container: 'web', from: null, to: 'web:1' }], replicas: { desired: 2, ready: 2, available: 2, updated: 2 } })
})

t.test('a newer template before the older finished supersedes it: one change, the older named in it', async t => {
  const w = detectorWorld()
  workloadDetector.onWrite!(w.ctx, obs('update', dep('web:2', 2, {}, 2, '2'), 1_000, 'alice'), root, dep('web:1', 1, done(2), 2, '1'), undefined)
  const first = w.window.get('uid-d')!
  t.equal(first.type, 'rollout')
  workloadDetector.onWrite!(w.ctx, obs('update', dep('web:3', 3, {}, 2, '3'), 2_000, 'bob'), root, dep('web:2', 2, {}, 2, '2'), first)
  const second = w.window.get('uid-d')!
  t.not(second, first)
  t.same(w.dropped, [first], 'the superseded rollout is never sent alone')
  t.same(w.closed, [])
  t.same(second.superseded, [{ revision: 2, images: [{ container: 'web', from: 'web:1', to: 'web:2' }], actor: null }])
  t.equal(second.before?.spec.template.spec.containers[0].image, 'web:1', 'the images compare with the state before the first')
  t.same(second.timeline.map(e => e.at), [new Date(1_000).toISOString(), new Date(2_000).toISOString()], 'its timeline carried over, in order')
  t.same(second.counts, { audit: 2 })
})

t.test('replicas alone are a scale (from → to); a template change during it turns it into the rollout', async t => {
  const w = detectorWorld()
  workloadDetector.onWrite!(w.ctx, obs('update', dep('web:1', 2, {}, 5)), root, dep('web:1', 1, done(2), 2), undefined)
  const open = w.opened[0]!
  t.same([open.type, open.replicasFrom, open.replicasTo], ['scale', 2, 5])
  workloadDetector.onWrite!(w.ctx, obs('update', dep('web:2', 3, {}, 5), 2_000), root, dep('web:1', 2, {}, 5), open)
  t.same([open.type, open.idRev], ['rollout', 'rv'], 'the same change, now a rollout')
  t.equal(w.opened.length, 1)
})

t.test('an unclassifiable write is a tentative update that a ReplicaSet create proves a rollout', async t => {
  const w = detectorWorld()
  workloadDetector.onWrite!(w.ctx, obs('update', dep('web:2', 2)), root, undefined, undefined)
  const open = w.opened[0]!
  t.same([open.type, open.tentative, open.firstSight, open.pending], ['update', true, true, 'applied'])
  const rs: Observation = { source: 'audit', at: 1_500, action: 'create', owners: [], ref: { apiGroup: 'apps', version: 'v1', kind: 'ReplicaSet', resource: 'replicasets', namespace: 'shop', name: 'web-5d4f', uid: 'uid-rs' } }
  workloadDetector.onChild!(w.ctx, open, rs)
  t.same([open.type, open.tentative], ['rollout', false])
})

t.test('a first list picks up a rollout in progress (and nothing that is done)', async t => {
  const w = detectorWorld()
  workloadDetector.baseline!(w.ctx, obs('update', dep('web:2', 2, { replicas: 3, updatedReplicas: 1, availableReplicas: 2 })) as any, root)
  t.same(w.opened.map(o => o.type), ['rollout'])
  const d = workloadDetector.details!(w.ctx, w.opened[0]!, {} as any)
  t.equal(d, true)
  const quiet = detectorWorld()
  workloadDetector.baseline!(quiet.ctx, obs('update', dep('web:1', 1, done(2))) as any, root)
  t.same(quiet.opened, [])
})

t.test('a failed rollout says why; an Argo Rollout follows the config\'s kinds: rule', async t => {
  const w = detectorWorld()
  workloadDetector.onWrite!(w.ctx, obs('update', dep('web:2', 2)), root, dep('web:1', 1, done(2)), undefined)
  const open = w.opened[0]!
  workloadDetector.onWrite!(w.ctx, obs('status', dep('web:2', 2, { conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'too slow' }] }), 9_000), root, undefined, open)
  t.same([open.pending, open.reason, open.message], ['failed', 'ProgressDeadlineExceeded', 'too slow'])

  const kinds = parseKinds({ 'rollouts.argoproj.io': { succeeded: "object.status.phase == 'Healthy'" } })
  const a = detectorWorld(kinds)
  const rroot = { key: 'uid-r', uid: 'uid-r', kind: 'Rollout', namespace: 'shop', name: 'web' }
  const rollout = (phase: string): any => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'web', namespace: 'shop', uid: 'uid-r', generation: 1 }, spec: { template: {} }, status: { phase } })
  const robs = (action: Observation['action'], object: any): Observation => ({ source: 'audit', at: 1_000, action, owners: [], object, ref: { apiGroup: 'argoproj.io', version: 'v1alpha1', kind: 'Rollout', resource: 'rollouts', namespace: 'shop', name: 'web', uid: 'uid-r' } })
  workloadDetector.onWrite!(a.ctx, robs('create', rollout('Progressing')), rroot, undefined, undefined)
  const r = a.opened[0]!
  t.equal(r.pending, null)
  workloadDetector.onWrite!(a.ctx, robs('status', rollout('Healthy')), rroot, undefined, r)
  t.equal(r.pending, 'succeeded')
})

t.test('an update that is neither template nor replicas is applied after the quiet period, with its diff', async t => {
  const w = detectorWorld()
  const after = dep('web:1', 2)
  after.spec.minReadySeconds = 10
  workloadDetector.onWrite!(w.ctx, obs('update', after), root, dep('web:1', 1), undefined)
  const open = w.opened[0]! as Open
  t.same([open.type, open.pending], ['update', 'applied'])
  const details: any = {}
  workloadDetector.details!(w.ctx, open, details)
  t.same(details, { diff: [{ path: 'spec.minReadySeconds', to: 10 }] })
})
