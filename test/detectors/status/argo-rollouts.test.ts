import t from 'tap'
import { Cluster, USERS } from '../../helpers/cluster.js'
import { createRollout, CR, setRolloutImage } from '../../helpers/custom-resources.js'
import { normalizeAuditEvent } from '../../../src/sources/audit.js'
import { rolloutImages, rolloutPodTemplate, rolloutRevision, statusRuleFor, type StatusResult } from '../../../src/detectors/status/index.js'

// Argo Rollouts' status as the controller writes it (shapes from
// argoproj/argo-rollouts pkg/apis/rollouts/v1alpha1/types.go and the real
// statuses in pkg/kubectl-argo-rollouts/info/testdata/, see
// test/helpers/custom-resources.ts): a string observedGeneration, phase,
// stableRS vs currentPodHash, abort.

const rule = statusRuleFor('Rollout', 'argoproj.io', { kinds: {} }, 'rollouts')
const judge = (objects: any[], generation: number): StatusResult[] => objects.map(object => rule.evaluate({ object, generation }))

t.test('create: Progressing until Healthy with the stable RS on the new hash', async t => {
  const c = new Cluster()
  const p = createRollout(c, USERS.alice, 'shop', 'web', 'web:1.4')
  t.equal(rule.name, 'argoproj.io/Rollout')
  t.equal(p.statuses[0].status.observedGeneration, '1', 'a string, as Argo Rollouts writes it')
  const hash = p.statuses[2].status.currentPodHash
  t.same(judge([p.created, ...p.statuses], 1), [
    { state: 'waiting', reason: 'NoStatus', message: 'the controller has not written a status yet' },
    { state: 'waiting', reason: 'Progressing', message: 'more replicas need to be updated' },
    { state: 'waiting', reason: 'Progressing', message: 'updated replicas are still becoming available' },
    { state: 'succeeded', reason: 'Healthy', message: `stable ReplicaSet hash ${String(hash)}` }
  ])
  t.same([...rolloutImages(p.created)], [['web', 'web:1.4']])
  t.equal(rolloutRevision(p.statuses[2]), 1, 'the controller set rollout.argoproj.io/revision')
  t.same(rolloutPodTemplate(p.created), p.created.spec.template)
  // The events are what the audit source expects: create with an empty objectRef.uid, status writes as "status".
  const obs = c.take().map(normalizeAuditEvent).filter(r => r.kind === 'observation').map(r => (r as any).observation)
  const mine = obs.filter((o: any) => o.ref.kind === 'Rollout')
  t.same(mine.map((o: any) => o.action), ['create', 'patch', 'status', 'status', 'status'])
  t.ok(obs.some((o: any) => o.ref.kind === 'ReplicaSet' && o.owners?.[0]?.kind === 'Rollout'), 'its ReplicaSet names the Rollout as controller')
})

t.test('a pod-template change: a new currentPodHash, Paused at the canary step, Healthy once stableRS switches', async t => {
  const c = new Cluster()
  createRollout(c, USERS.alice, 'shop', 'web', 'web:1.4')
  const before = c.get(CR.rollouts, 'shop', 'web')
  const p = setRolloutImage(c, USERS.alice, 'shop', 'web', 'web:1.5')
  t.equal(p.updated.metadata.generation, 2)
  const oldHash = before.status.stableRS
  const newHash = p.statuses[0].status.currentPodHash
  t.not(newHash, oldHash)
  // The status from before the change (generation 1 observed) is not the change's.
  t.same(rule.evaluate({ object: { ...p.updated, status: before.status }, generation: 2 }), { state: 'waiting', reason: 'LatestGenerationNotObserved', message: 'generation 2, observed 1' })
  t.same(judge(p.statuses, 2), [
    { state: 'waiting', reason: 'Progressing', message: 'more replicas need to be updated' },
    { state: 'waiting', reason: 'Paused', message: 'CanaryPauseStep' },
    { state: 'waiting', reason: 'Progressing', message: 'updated replicas are still becoming available' },
    { state: 'succeeded', reason: 'Healthy', message: `stable ReplicaSet hash ${String(newHash)}` }
  ])
  t.equal(rolloutRevision(p.statuses[3]), 2)
  t.same([...rolloutImages(p.updated)], [['web', 'web:1.5']])
  // Healthy but the stable RS still on the old hash (a status written mid-promotion) is not success.
  const mid = structuredClone(p.statuses[3])
  mid.status.stableRS = oldHash
  t.equal(rule.evaluate({ object: mid, generation: 2 }).state, 'waiting')
})

t.test('Degraded: ProgressDeadlineExceeded', async t => {
  const c = new Cluster()
  createRollout(c, USERS.alice, 'shop', 'web', 'web:1.4')
  const p = setRolloutImage(c, USERS.alice, 'shop', 'web', 'web:broken', 'degraded')
  t.same(rule.evaluate({ object: p.statuses.at(-1), generation: 2 }), { state: 'failed', reason: 'ProgressDeadlineExceeded', message: 'Rollout "web" has timed out progressing.' })
})

t.test('aborted: status.abort with the RolloutAborted condition', async t => {
  const c = new Cluster()
  createRollout(c, USERS.alice, 'shop', 'web', 'web:1.4')
  const p = setRolloutImage(c, USERS.alice, 'shop', 'web', 'web:1.5', 'aborted')
  t.same(rule.evaluate({ object: p.statuses.at(-1), generation: 2 }), { state: 'failed', reason: 'RolloutAborted', message: 'Rollout aborted update to revision 2' })
  // The same abort read before the controller observed a newer spec is not this change's outcome.
  t.equal(rule.evaluate({ object: p.statuses.at(-1), generation: 3 }).state, 'waiting')
})

t.test('the real testdata shapes (pkg/kubectl-argo-rollouts/info/testdata)', async t => {
  // canary/canary-rollout.yaml: generation 429, observedGeneration "429", Progressing=False ProgressDeadlineExceeded, no phase (pre-1.0 controller).
  const canary = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'canary-demo', namespace: 'jesse-test', generation: 429, annotations: { 'rollout.argoproj.io/revision': '31' } }, spec: {}, status: { availableReplicas: 5, stableRS: '877894d5b', currentPodHash: '65fb5ffc84', observedGeneration: '429', conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "canary-demo-65fb5ffc84" has timed out progressing.' }] } }
  t.same(rule.evaluate({ object: canary }), { state: 'waiting', reason: 'Progressing' }, 'no phase: nothing claims Healthy')
  t.equal(rolloutRevision(canary), 31)
  // rollout-aborted/rollout.yaml: abort true, Progressing=False RolloutAborted with the analysis message.
  const aborted = { metadata: { generation: 15 }, status: { abort: true, abortedAt: '2020-09-22T09:10:05Z', currentPodHash: 'db976bc44', stableRS: '7d84d44bb8', observedGeneration: '15', conditions: [{ type: 'Progressing', status: 'False', reason: 'RolloutAborted', message: 'metric "web" assessed Failed due to failed (1) > failureLimit (0)' }] } }
  t.same(rule.evaluate({ object: aborted }), { state: 'failed', reason: 'RolloutAborted', message: 'metric "web" assessed Failed due to failed (1) > failureLimit (0)' })
  t.same(rule.evaluate({ object: { metadata: { generation: 3 }, status: { observedGeneration: 'abc' } } }), { state: 'waiting', reason: 'LatestGenerationNotObserved', message: 'generation 3, observed abc' }, 'a non-numeric observedGeneration (a v0.9 hash) is not a generation')
})
