import t from 'tap'
import { customResourceDetector } from '../../src/detectors/custom-resource.js'
import { detectorFor } from '../../src/detectors/index.js'
import { parseKinds } from '../../src/detectors/status/index.js'
import type { Observation } from '../../src/model.js'
import { detectorWorld } from '../helpers/detector-context.js'

// The custom-resource detector on plain data: a create or a spec change opens
// a change its kind's status rule closes; status writes only move it.

const root = { key: 'uid-w', uid: 'uid-w', kind: 'Widget', namespace: 'shop', name: 'w' }
const widget = (size: string, generation: number, status?: any): any => ({
  apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'shop', uid: 'uid-w', generation }, spec: { size }, ...(status !== undefined ? { status } : {})
})
const ready = (gen: number, status: 'True' | 'False', reason: string, message: string): any => ({ observedGeneration: gen, conditions: [{ type: 'Ready', status, reason, message, observedGeneration: gen }] })
const obs = (action: Observation['action'], object: any, at = 1_000): Observation => ({
  source: 'audit', at, action, owners: [], object, generation: object.metadata.generation,
  ref: { apiGroup: 'example.com', version: 'v1', kind: 'Widget', resource: 'widgets', namespace: 'shop', name: 'w', uid: 'uid-w' }
})

t.test('owns kinds of groups kube-apiserver does not serve (a Knative Service), not core ones nor the Argo Rollout', async t => {
  t.equal(detectorFor('Widget', 'example.com'), customResourceDetector)
  t.equal(detectorFor('Service', 'serving.knative.dev'), customResourceDetector)
  t.not(detectorFor('Service', ''), customResourceDetector)
  t.not(detectorFor('Rollout', 'argoproj.io'), customResourceDetector)
})

t.test('a create waits on Ready for its generation, then succeeds with the controller\'s words', async t => {
  const w = detectorWorld()
  t.equal(customResourceDetector.onWrite!(w.ctx, obs('create', widget('small', 1)), root, undefined, undefined), 'uid-w')
  const open = w.opened[0]!
  t.same([open.type, open.group, open.resource, open.generation], ['create', 'example.com', 'widgets', 1])
  t.equal(open.pending, 'applied', 'no status yet: the generic verdict')
  customResourceDetector.onWrite!(w.ctx, obs('status', widget('small', 1, ready(1, 'False', 'Provisioning', 'provisioning'))), root, widget('small', 1), open)
  t.equal(open.pending, 'timed-out', 'undecided: waits for a deadline')
  t.same(w.deadlines.map(([, at]) => at), [1_000 + 600_000], 'the default 600 s after it started, set once')
  customResourceDetector.onWrite!(w.ctx, obs('status', widget('small', 1, ready(1, 'True', 'Provisioned', 'serving')), 5_000), root, widget('small', 1), open)
  t.same([open.pending, open.reason, open.message, open.doneAt], ['succeeded', 'Provisioned', 'serving', 5_000])
  t.equal(w.refs.length, 3, 'every step re-indexes what the change names')
})

t.test('a newer spec while open must show in the status; bookkeeping (managed fields, a new resourceVersion) opens nothing', async t => {
  const w = detectorWorld()
  customResourceDetector.onWrite!(w.ctx, obs('update', widget('large', 2)), root, widget('small', 1), undefined)
  const open = w.opened[0]!
  t.same([open.type, open.generation, open.firstSight], ['update', 2, false])
  customResourceDetector.onWrite!(w.ctx, obs('update', widget('huge', 3)), root, widget('large', 2), open)
  t.equal(open.generation, 3)
  const quiet = detectorWorld()
  const same = { ...widget('small', 1), metadata: { ...widget('small', 1).metadata, resourceVersion: '812', managedFields: [{ manager: 'widget-controller', operation: 'Update' }] } }
  t.equal(customResourceDetector.onWrite!(quiet.ctx, obs('update', same), root, widget('small', 1), undefined), undefined)
  t.same(quiet.opened, [])
  t.equal(customResourceDetector.onWrite!(quiet.ctx, obs('status', widget('small', 1, ready(1, 'True', 'Ok', ''))), root, widget('small', 1), undefined), undefined, 'status of nothing open: history')
})

t.test('a create over an undecided change closes it open; a kinds: rule decides first', async t => {
  const w = detectorWorld(parseKinds({ 'widgets.example.com': { failed: "object.spec.size == 'huge'" } }))
  customResourceDetector.onWrite!(w.ctx, obs('create', widget('huge', 1)), root, undefined, undefined)
  const first = w.opened[0]!
  t.equal(first.pending, 'failed')
  first.pending = 'timed-out'
  customResourceDetector.onWrite!(w.ctx, obs('create', widget('small', 1), 9_000), root, undefined, first)
  t.same(w.closed.map(([o, out]) => [o, out]), [[first, 'open']])
})
