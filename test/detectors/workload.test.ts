import t from 'tap'
import { classifyWorkloadWrite, daemonSetRolloutStatus, deploymentRolloutStatus, imageChanges, rolloutStatus, scaleStatus, statefulSetRolloutStatus } from '../../src/detectors/workload.js'

// kubectl rollout status's rules (k8s.io/kubectl polymorphichelpers/rollout_status.go), as pure functions.

const dep = (spec: any, status: any, generation = 2): any => ({ metadata: { generation }, spec: { replicas: 3, ...spec }, status: { observedGeneration: 2, ...status } })

t.test('Deployment', async t => {
  t.same(deploymentRolloutStatus(dep({}, { observedGeneration: 1 })), { state: 'waiting' }, 'generation not observed yet')
  t.same(deploymentRolloutStatus(dep({}, { updatedReplicas: 2, replicas: 3, availableReplicas: 3 })), { state: 'waiting' }, 'updated < desired')
  t.same(deploymentRolloutStatus(dep({}, { updatedReplicas: 3, replicas: 4, availableReplicas: 3 })), { state: 'waiting' }, 'old replicas pending termination')
  t.same(deploymentRolloutStatus(dep({}, { updatedReplicas: 3, replicas: 3, availableReplicas: 2 })), { state: 'waiting' }, 'not all available')
  t.same(deploymentRolloutStatus(dep({}, { updatedReplicas: 3, replicas: 3, availableReplicas: 3 })), { state: 'done' })
  t.same(deploymentRolloutStatus(dep({}, { conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'too slow' }] })),
    { state: 'failed', reason: 'ProgressDeadlineExceeded', message: 'too slow' })
  t.same(deploymentRolloutStatus({ metadata: { generation: 1 }, spec: {}, status: { observedGeneration: 1, updatedReplicas: 1, replicas: 1, availableReplicas: 1 } }), { state: 'done' }, 'replicas default to 1')
})

t.test('StatefulSet, partitions included', async t => {
  const sts = (spec: any, status: any): any => ({ metadata: { generation: 2 }, spec: { replicas: 3, ...spec }, status: { observedGeneration: 2, readyReplicas: 3, currentRevision: 'a', updateRevision: 'a', ...status } })
  t.same(statefulSetRolloutStatus(sts({}, { observedGeneration: 0 })), { state: 'waiting' })
  t.same(statefulSetRolloutStatus(sts({}, { readyReplicas: 2 })), { state: 'waiting' })
  t.same(statefulSetRolloutStatus(sts({}, { updateRevision: 'b' })), { state: 'waiting' }, 'revisions differ')
  t.same(statefulSetRolloutStatus(sts({}, {})), { state: 'done' })
  const part = { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }
  t.same(statefulSetRolloutStatus(sts(part, { updateRevision: 'b', updatedReplicas: 0 })), { state: 'waiting' })
  t.same(statefulSetRolloutStatus(sts(part, { updateRevision: 'b', updatedReplicas: 1 })), { state: 'done' }, 'partitioned roll out complete')
  t.same(rolloutStatus(sts({}, {}), 'StatefulSet'), { state: 'done' })
})

t.test('DaemonSet', async t => {
  const ds = (status: any): any => ({ metadata: { generation: 3 }, spec: {}, status: { observedGeneration: 3, desiredNumberScheduled: 4, updatedNumberScheduled: 4, numberAvailable: 4, ...status } })
  t.same(daemonSetRolloutStatus(ds({ observedGeneration: 2 })), { state: 'waiting' })
  t.same(daemonSetRolloutStatus(ds({ updatedNumberScheduled: 3 })), { state: 'waiting' })
  t.same(daemonSetRolloutStatus(ds({ numberAvailable: 3 })), { state: 'waiting' })
  t.same(rolloutStatus(ds({}), 'DaemonSet'), { state: 'done' })
})

t.test('scale settles when available = desired and nothing extra is left', async t => {
  t.same(scaleStatus(dep({ replicas: 5 }, { availableReplicas: 5, replicas: 5 }), 'Deployment'), { state: 'done' })
  t.same(scaleStatus(dep({ replicas: 2 }, { availableReplicas: 2, replicas: 3 }), 'Deployment'), { state: 'waiting' })
  t.same(scaleStatus(dep({ replicas: 2 }, { readyReplicas: 2, replicas: 2 }), 'StatefulSet'), { state: 'done' })
})

t.test('what a write means', async t => {
  const base: any = { spec: { replicas: 2, template: { metadata: { labels: { app: 'a' }, creationTimestamp: null }, spec: { containers: [{ name: 'a', image: 'a:1' }] } } }, metadata: { labels: { x: '1' } } }
  const next = (f: (o: any) => void): any => { const o = structuredClone(base); f(o); return o }
  t.equal(classifyWorkloadWrite(base, next(o => { o.spec.template.spec.containers[0].image = 'a:2' }), undefined, 'Deployment'), 'rollout')
  t.equal(classifyWorkloadWrite(base, next(o => { o.spec.template.metadata.annotations = { 'kubectl.kubernetes.io/restartedAt': 'now' } }), undefined, 'Deployment'), 'restart')
  t.equal(classifyWorkloadWrite(base, next(o => { o.spec.replicas = 5 }), undefined, 'Deployment'), 'scale')
  t.equal(classifyWorkloadWrite(base, next(o => { o.spec.replicas = 5 }), undefined, 'DaemonSet'), 'update', 'a DaemonSet has no replicas to scale')
  t.equal(classifyWorkloadWrite(base, next(o => { o.metadata.labels.x = '2' }), undefined, 'Deployment'), 'update')
  t.equal(classifyWorkloadWrite(base, next(o => { o.metadata.annotations = { 'deployment.kubernetes.io/revision': '9' } }), undefined, 'Deployment'), 'none', 'the revision annotation is bookkeeping')
  // No earlier state: the patch itself tells.
  t.equal(classifyWorkloadWrite(undefined, base, { spec: { template: { spec: { containers: [{ name: 'a', image: 'a:3' }] } } } }, 'Deployment'), 'rollout')
  t.equal(classifyWorkloadWrite(undefined, base, { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': 'x' } } } } }, 'Deployment'), 'restart')
  t.equal(classifyWorkloadWrite(undefined, base, { spec: { replicas: 4 } }, 'Deployment'), 'scale')
  t.equal(classifyWorkloadWrite(undefined, base, { ...base, kind: 'Deployment' }, 'Deployment'), 'unknown', 'a full PUT without earlier state')
  t.same(imageChanges(base, next(o => { o.spec.template.spec.initContainers = [{ name: 'init', image: 'i:1' }]; o.spec.template.spec.containers[0].image = 'a:2' })),
    [{ container: 'a', from: 'a:1', to: 'a:2' }, { container: 'init', from: null, to: 'i:1' }])
})
