import t from 'tap'
import { jobDetector } from '../../src/detectors/job.js'
import { DETECTORS, detectorFor, NOT_MINE } from '../../src/detectors/index.js'
import { detectorWorld } from '../helpers/detector-context.js'
import type { Observation } from '../../src/model.js'

// The Job detector on plain data: one change per run, closed by the Job's
// Complete or Failed condition, timed by the Job's own clock.

const root = { key: 'uid-job', uid: 'uid-job', kind: 'Job', namespace: 'batch-ns', name: 'nightly' }

const job = (status: any = {}): any => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'nightly', namespace: 'batch-ns', uid: 'uid-job' }, spec: { template: {} }, status })

const obs = (action: Observation['action'], object: any): Observation => ({
  source: 'audit', at: 1_000, action, owners: [], object,
  ref: { apiGroup: 'batch', version: 'v1', kind: 'Job', resource: 'jobs', namespace: 'batch-ns', name: 'nightly', uid: 'uid-job' }
})

const world = detectorWorld

t.test('the registry routes Jobs to the job detector, and only Jobs', async t => {
  t.equal(detectorFor('Job', 'batch'), jobDetector)
  t.not(detectorFor('Deployment', 'apps'), jobDetector)
  t.equal(detectorFor('Job', 'example.com')?.name, 'custom-resource', 'a kind named Job from a custom group is a custom resource')
  t.same(DETECTORS.map(d => d.name), ['custom-resource', 'job', 'workload', 'service', 'endpoints', 'generic'], 'every family, the generic one last')
})

t.test('a create opens a job change, still running until a condition says otherwise', async t => {
  const w = world()
  const key = jobDetector.onWrite!(w.ctx, obs('create', job()), root, undefined, undefined)
  t.equal(key, 'uid-job')
  t.same(w.opened.map(o => [o.type, o.idRev]), [['job', 'job']], "one change per run: the id does not depend on the write's revision")
  t.equal(w.opened[0]!.pending, null)
  t.same(w.settled, [])
})

t.test('the Complete condition succeeds it, Failed fails it with the reason; either is decided once', async t => {
  const w = world()
  jobDetector.onWrite!(w.ctx, obs('create', job()), root, undefined, undefined)
  const open = w.opened[0]!
  open.latest = job({ startTime: '2026-01-01T00:00:00Z', completionTime: '2026-01-01T00:01:30Z', conditions: [{ type: 'Complete', status: 'True' }] })
  jobDetector.progress!(w.ctx, open)
  t.equal(open.pending, 'succeeded')
  t.same(jobDetector.span!(open), { startedAt: Date.parse('2026-01-01T00:00:00Z'), endedAt: Date.parse('2026-01-01T00:01:30Z') }, "the Job's own clock")

  const f = world()
  jobDetector.onWrite!(f.ctx, obs('create', job()), root, undefined, undefined)
  const failed = f.opened[0]!
  failed.latest = job({ conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }] })
  jobDetector.progress!(f.ctx, failed)
  t.same([failed.pending, failed.reason, failed.message], ['failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'])
  t.equal(jobDetector.span!(failed), undefined, 'no start time: the observations time it')
  failed.latest = job({ conditions: [{ type: 'Complete', status: 'True' }] })
  jobDetector.progress!(f.ctx, failed)
  t.equal(failed.pending, 'failed', 'a decided run stays decided')
  t.equal(f.settled.length, 1)
})

t.test('status moves an open run; with none open it opens nothing', async t => {
  const w = world()
  t.equal(jobDetector.onWrite!(w.ctx, obs('status', job()), root, job(), undefined), undefined)
  jobDetector.onWrite!(w.ctx, obs('create', job()), root, undefined, undefined)
  const done = job({ conditions: [{ type: 'Complete', status: 'True' }] })
  t.equal(jobDetector.onWrite!(w.ctx, obs('status', done), root, job(), w.opened[0]), 'uid-job')
  t.equal(w.opened[0]!.pending, 'succeeded')
})

t.test('a write to a Job with no open run is not the job detector\'s: it falls through to the generic update', async t => {
  const w = world()
  t.equal(jobDetector.onWrite!(w.ctx, obs('update', job()), root, job(), undefined), NOT_MINE)
  t.same(w.opened, [])
})

t.test('the first list picks up a running Job, never a finished one', async t => {
  const w = world()
  jobDetector.baseline!(w.ctx, { ...obs('update', job()), object: job() }, root)
  jobDetector.baseline!(w.ctx, { ...obs('update', job()), object: job({ conditions: [{ type: 'Complete', status: 'True' }] }) }, root)
  t.same(w.opened.map(o => o.type), ['job'])
})
