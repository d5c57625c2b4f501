import t from 'tap'
import { isArgoRollout, isBuiltinGroup, isCustomKind, judgeCustom, namesSecret, undecided } from '../../src/detectors/custom.js'
import { parseKinds } from '../../src/detectors/status/index.js'
import { Cluster, USERS } from '../helpers/cluster.js'
import { gadget, widget } from '../helpers/custom-resources.js'

// Which kinds are custom resources, and how a change of one is judged from the object after it.

t.test('custom kinds: any group kube-apiserver does not serve; the Argo Rollout is a workload', async t => {
  t.same(['', 'apps', 'batch', 'networking.k8s.io', 'rbac.authorization.k8s.io', 'policy'].map(isBuiltinGroup), [true, true, true, true, true, true])
  t.same(['example.com', 'serving.knative.dev', 'cert-manager.io'].map(isBuiltinGroup), [false, false, false])
  t.equal(isArgoRollout('Rollout', 'argoproj.io'), true)
  t.equal(isCustomKind('Rollout', 'argoproj.io'), false, 'handled with the Deployments')
  t.equal(isCustomKind('Service', 'serving.knative.dev'), true, 'Knative Service is not a core Service')
  t.equal(isCustomKind('Service', ''), false)
})

t.test('judgeCustom: succeeded / failed with the controller\'s words, waiting until a deadline, applied without status', async t => {
  const c = new Cluster()
  const p = widget(c, USERS.alice, 'shop', 'w', 'small')
  const since = Date.parse(p.created.metadata.creationTimestamp)
  const judge = (object: any, extra: object = {}): unknown => judgeCustom({ kind: 'Widget', group: 'example.com', resource: 'widgets', object, generation: 1, since, ...extra })
  t.same(judge(p.created), { pending: 'applied' }, 'no status at all (yet): the generic verdict, applied after the quiet period')
  t.same(judge(p.statuses[0]), { pending: 'timed-out', timeoutMs: 600_000, reason: 'Provisioning', message: 'provisioning a small widget' }, 'undecided: waits, at most the default 600 s')
  t.same(judge(p.statuses[1]), { pending: 'succeeded', reason: 'Provisioned', message: 'a small widget is serving' })
  const bad = widget(c, USERS.alice, 'shop', 'w', 'huge', 'failed')
  t.same(judge(bad.statuses.at(-1), { generation: 2 }), { pending: 'failed', reason: 'QuotaExceeded', message: 'no capacity for a huge widget' })
  t.same(judge(undefined), { pending: 'applied' }, 'Metadata-level audit: nothing to judge')
  const kinds = parseKinds({ 'widgets.example.com': { succeeded: "object.spec.size == 'small'", timeoutSeconds: 60 } })
  t.equal((judge(p.statuses[0], { kinds }) as any).pending, 'succeeded', 'a kinds: rule decides first')
  t.same((judgeCustom({ kind: 'Widget', group: 'example.com', object: { ...p.statuses[0], spec: { size: 'large' } }, generation: 1, since, kinds }) as any).timeoutMs, 60_000, 'its timeoutSeconds is the deadline')
  const g = gadget(c, USERS.alice, 'shop', 'g', 'red')
  t.same(judgeCustom({ kind: 'Gadget', group: 'example.com', object: g.created, since }), { pending: 'applied' })
})

t.test('undecided at the end of input is open; a Certificate names its Secret', async t => {
  t.same([undecided('timed-out'), undecided('succeeded'), undecided(null)], ['open', 'succeeded', null])
  t.equal(namesSecret({ spec: { secretName: 'web-tls' } }, 'web-tls'), true)
  t.equal(namesSecret({ spec: { secretName: 'web-tls' } }, 'other'), false)
  t.equal(namesSecret(undefined, 'web-tls'), false)
})
