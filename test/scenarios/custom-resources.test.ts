import t, { type Test } from 'tap'
import { Cluster, R, USERS } from '../helpers/cluster.js'
import { auditWorld, eventList, testApp } from '../helpers/app.js'
import * as X from '../helpers/custom-resources.js'

// Custom resources through POST /audit alone (the policy records them and
// their /status at RequestResponse): one change per create or spec change,
// closed by the kind's status rule, with the controller's own reason.

const brief = (ch: any): unknown => ({ type: ch.type, outcome: ch.outcome, summary: ch.summary, details: ch.details })

/** Post what the cluster wrote, let the quiet period (or a deadline) pass, and take what closed. */
async function world (t: Test, config?: Record<string, unknown>): Promise<{ c: Cluster, step: (ms?: number) => Promise<any[]> }> {
  if (config === undefined) {
    const { c, a, flush } = await auditWorld(t)
    return { c, step: async (ms = 10_000) => { await flush(); await a.advance(ms); c.t = Math.max(c.t, a.clock.now); return a.printed.splice(0) } }
  }
  const c = new Cluster()
  const a = await testApp({ start: c.t, config })
  t.teardown(a.close)
  return {
    c,
    step: async (ms = 10_000) => {
      t.equal((await a.post(eventList(c.take()))).statusCode, 200)
      a.clock.now = Math.max(a.clock.now, c.t)
      await a.advance(ms)
      c.t = Math.max(c.t, a.clock.now)
      return a.printed.splice(0)
    }
  }
}

t.test('Argo Rollout: create, rollout succeeded, degraded and aborted; its ReplicaSets fold in', async t => {
  const { c, step } = await world(t)
  X.createRollout(c, USERS.alice, 'shop', 'web', 'web:1.0')
  const [created, ...rest] = await step()
  t.same(rest, [], 'one change: the ReplicaSet and the controller\'s writes fold in')
  t.same(brief(created), {
    type: 'create',
    outcome: 'succeeded',
    summary: 'Rollout shop/web created, by alice@example.com, 3/3 available in 6 s',
    details: { revision: 1, images: [{ container: 'web', from: null, to: 'web:1.0' }], replicas: { desired: 3, ready: 3, available: 3, updated: 3 } }
  })
  t.same(created.counts, { audit: 6 }, 'create, ReplicaSet, revision annotation, three status writes')
  t.equal(created.object.uid, c.get(X.CR.rollouts, 'shop', 'web').metadata.uid)

  c.advance(60_000)
  X.setRolloutImage(c, USERS.alice, 'shop', 'web', 'web:1.1')
  const [ok, ...none] = await step()
  t.same(none, [])
  t.same(brief(ok), {
    type: 'rollout',
    outcome: 'succeeded',
    summary: 'Rollout shop/web rolled out revision 2, image web:1.0 → web:1.1, by alice@example.com, 3/3 available in 35 s',
    details: { revision: 2, images: [{ container: 'web', from: 'web:1.0', to: 'web:1.1' }], replicas: { desired: 3, ready: 3, available: 3, updated: 3 } }
  }, 'not done at the canary pause: only when the stable ReplicaSet is the new pod hash')

  c.advance(60_000)
  X.setRolloutImage(c, USERS.alice, 'shop', 'web', 'web:1.2', 'degraded')
  const [degraded] = await step()
  t.same(brief(degraded), {
    type: 'rollout',
    outcome: 'failed',
    summary: 'Rollout shop/web rolled out revision 3, image web:1.1 → web:1.2, by alice@example.com, failed after 33 s: ProgressDeadlineExceeded',
    details: { revision: 3, images: [{ container: 'web', from: 'web:1.1', to: 'web:1.2' }], replicas: { desired: 3, ready: 2, available: 2, updated: 2 }, reason: 'ProgressDeadlineExceeded', message: 'Rollout "web" has timed out progressing.' }
  })

  c.advance(60_000)
  X.setRolloutImage(c, USERS.bob, 'shop', 'web', 'web:1.3', 'aborted')
  const aborted = await step()
  t.equal(aborted.length, 1, 'the abort (a person patching /status) is part of the rollout, not a change of its own')
  t.same([aborted[0].type, aborted[0].outcome, aborted[0].details.reason, aborted[0].details.message, aborted[0].actor.username], ['rollout', 'failed', 'RolloutAborted', 'Rollout aborted update to revision 4', USERS.bob.username])
})

t.test('Flux: HelmRelease install and failed upgrade, Kustomization, GitRepository, OCIRepository', async t => {
  const { c, step } = await world(t)
  X.helmRelease(c, USERS.alice, 'shop', 'podinfo', '6.5.0')
  t.same((await step()).map(brief), [{
    type: 'create',
    outcome: 'succeeded',
    summary: 'HelmRelease shop/podinfo created, by alice@example.com in 8 s',
    details: { reason: 'InstallSucceeded', message: 'Helm install succeeded for release shop/podinfo.v1 with chart podinfo@6.5.0' }
  }])
  c.advance(60_000)
  X.helmRelease(c, USERS.alice, 'shop', 'podinfo', '6.6.0', 'failed')
  t.same((await step()).map(brief), [{
    type: 'update',
    outcome: 'failed',
    summary: 'HelmRelease shop/podinfo updated, by alice@example.com: spec.chart.spec.version, failed after 8 s: UpgradeFailed',
    details: {
      diff: [{ path: 'spec.chart.spec.version', from: '6.5.0', to: '6.6.0' }],
      reason: 'UpgradeFailed',
      message: 'Helm upgrade failed for release shop/podinfo with chart podinfo@6.6.0: context deadline exceeded; Failed to upgrade after 1 attempt(s)'
    }
  }], 'failed although observedGeneration stays behind (helm-controller moves it only on success)')

  X.kustomization(c, USERS.alice, 'flux-system', 'apps', './apps')
  t.same((await step()).map(ch => [ch.type, ch.outcome, ch.summary]), [['create', 'succeeded', 'Kustomization flux-system/apps created, by alice@example.com in 3 s']])
  c.advance(60_000)
  X.kustomization(c, USERS.alice, 'flux-system', 'apps', './missing', 'failed')
  t.same((await step()).map(ch => [ch.type, ch.outcome, ch.summary, ch.details.diff]), [['update', 'failed', 'Kustomization flux-system/apps updated, by alice@example.com: spec.path, failed after 3 s: BuildFailed', [{ path: 'spec.path', from: './apps', to: './missing' }]]])

  X.gitRepository(c, USERS.alice, 'flux-system', 'repo', 'https://github.com/acme/apps')
  t.same((await step()).map(ch => [ch.type, ch.outcome, ch.summary, ch.details.reason]), [['create', 'succeeded', 'GitRepository flux-system/repo created, by alice@example.com in 2 s', 'Succeeded']])
  X.ociRepository(c, USERS.alice, 'flux-system', 'charts', 'oci://ghcr.io/acme/charts', '1.0', 'failed')
  t.same((await step()).map(brief), [{
    type: 'create',
    outcome: 'failed',
    summary: 'OCIRepository flux-system/charts created, by alice@example.com, failed after 1 s: OCIArtifactPullFailed',
    details: { reason: 'OCIArtifactPullFailed', message: 'failed to determine artifact digest: GET https://ghcr.io/acme/charts/manifests/1.0: MANIFEST_UNKNOWN' }
  }])
})

t.test('cert-manager: a Certificate and its Secret are one change; a failed issuance; an Issuer', async t => {
  const { c, step } = await world(t)
  X.issueCertificate(c, USERS.alice, 'shop', 'web-cert', ['web.example.com'])
  const issued = await step()
  t.same(issued.map(brief), [{
    type: 'create',
    outcome: 'succeeded',
    summary: 'Certificate shop/web-cert created, by alice@example.com in 6 s',
    details: { reason: 'Ready', message: 'Certificate is up to date and has not expired' }
  }], 'the Secret (audited at Metadata: joined by spec.secretName) and the CertificateRequest fold in')
  t.same(issued[0].counts, { audit: 6 })
  t.ok(issued[0].timeline.some((e: any) => e.kind === 'Secret' && e.name === 'web-cert-tls'))

  X.issueCertificate(c, USERS.alice, 'shop', 'bad-cert', ['bad.example.com'], 'failed')
  t.same((await step()).map(ch => [ch.type, ch.outcome, ch.summary]), [['create', 'failed', 'Certificate shop/bad-cert created, by alice@example.com, failed after 6 s: IssuanceFailed']])

  X.createIssuer(c, USERS.alice, 'shop', 'ca', 'ca-key')
  t.same((await step()).map(ch => [ch.type, ch.outcome, ch.details.reason]), [['create', 'succeeded', 'KeyPairVerified']])
  X.createIssuer(c, USERS.alice, 'shop', 'ca2', 'missing-key', 'failed')
  t.same((await step()).map(ch => [ch.type, ch.outcome, ch.details.reason]), [['create', 'failed', 'ErrGetKeyPair']])
})

t.test('Knative Service (serving.knative.dev) is not a core Service', async t => {
  const { c, step } = await world(t)
  X.knativeService(c, USERS.alice, 'shop', 'hello', 'hello:1')
  t.same((await step()).map(brief), [{
    type: 'create',
    outcome: 'succeeded',
    summary: 'Service shop/hello created, by alice@example.com in 9 s',
    details: { reason: 'Ready', message: 'revision hello-00001 at http://hello.shop.example.com' }
  }])
  X.knativeService(c, USERS.alice, 'shop', 'oops', 'oops:1', 'failed')
  t.same((await step()).map(ch => [ch.type, ch.outcome, ch.details.reason]), [['create', 'failed', 'RevisionFailed']])
  c.advance(60_000)
  c.delete(USERS.bob, X.CR.knativeServices, 'shop', 'oops')
  t.same((await step()).map(brief), [{ type: 'delete', outcome: 'applied', summary: 'Service shop/oops deleted, by bob@example.com', details: {} }], 'no cluster IP or ports claimed for it')
})

t.test('a CRD with standard conditions: create, spec change, status-only writes, a deadline', async t => {
  const { c, step } = await world(t)
  X.widget(c, USERS.alice, 'shop', 'w', 'small')
  t.same((await step()).map(brief), [{ type: 'create', outcome: 'succeeded', summary: 'Widget shop/w created, by alice@example.com in 5 s', details: { reason: 'Provisioned', message: 'a small widget is serving' } }])

  c.advance(60_000)
  c.writeStatus(X.CR_CONTROLLERS.widgets, X.CR.widgets, 'shop', 'w', { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'False', reason: 'Degraded', message: 'one replica down', lastTransitionTime: '2026-11-20T11:00:00Z', observedGeneration: 1 }] })
  t.same(await step(700_000), [], 'a status-only write by the operator never opens a change')

  X.widget(c, USERS.bob, 'shop', 'w', 'large', 'failed')
  t.same((await step()).map(brief), [{
    type: 'update',
    outcome: 'failed',
    summary: 'Widget shop/w updated, by bob@example.com: spec.size, failed after 5 s: QuotaExceeded',
    details: { diff: [{ path: 'spec.size', from: 'small', to: 'large' }], reason: 'QuotaExceeded', message: 'no capacity for a large widget' }
  }])

  // The operator starts provisioning and never finishes: timed-out at the default deadline (10 min).
  c.create(USERS.alice, X.CR.widgets, X.widgetObject('shop', 'slow', 'huge'))
  c.advance(1000)
  c.writeStatus(X.CR_CONTROLLERS.widgets, X.CR.widgets, 'shop', 'slow', { conditions: [{ type: 'Reconciling', status: 'True', reason: 'Provisioning', message: 'provisioning a huge widget', lastTransitionTime: new Date(c.t).toISOString().replace(/\.\d+Z$/, 'Z'), observedGeneration: 1 }] })
  t.same(await step(500_000), [], 'still waiting within the deadline')
  t.same((await step(200_000)).map(brief), [{
    type: 'create',
    outcome: 'timed-out',
    summary: 'Widget shop/slow created, by alice@example.com, not finished after 10 min (timed out)',
    details: { reason: 'Provisioning', message: 'provisioning a huge widget' }
  }])
})

t.test('a CRD without status closes applied after the quiet period; a CEL rule from config decides another', async t => {
  const { c, step } = await world(t)
  X.gadget(c, USERS.alice, 'shop', 'g', 'red')
  t.same((await step(4000)), [], 'inside the quiet period')
  t.same((await step(2000)).map(brief), [{ type: 'create', outcome: 'applied', summary: 'Gadget shop/g created, by alice@example.com', details: {} }])
  c.advance(60_000)
  X.gadget(c, USERS.bob, 'shop', 'g', 'blue')
  t.same((await step()).map(brief), [{ type: 'update', outcome: 'applied', summary: 'Gadget shop/g updated, by bob@example.com: spec.color', details: { diff: [{ path: 'spec.color', from: 'red', to: 'blue' }] } }])

  const cel = await world(t, { kinds: { 'gadgets.example.com': { succeeded: "has(object.spec.color) && object.spec.color != 'black'", failed: "object.spec.color == 'black'" } } })
  X.gadget(cel.c, USERS.alice, 'shop', 'g', 'red')
  X.gadget(cel.c, USERS.alice, 'shop', 'h', 'black')
  t.same((await cel.step()).map(ch => [ch.object.name, ch.type, ch.outcome, ch.details.reason]), [['g', 'create', 'succeeded', undefined], ['h', 'create', 'failed', 'Failed']])
})

t.test('a controller\'s child of a custom resource folds in; a person deleting it is a change of its own', async t => {
  const { c, step } = await world(t)
  X.createRollout(c, USERS.alice, 'shop', 'api', 'api:1')
  t.equal((await step()).length, 1)
  const rs = [...c.objects.values()].find(o => o.kind === 'ReplicaSet' && o.metadata.name.startsWith('api-'))
  c.advance(60_000)
  c.delete(USERS.bob, R.replicasets, 'shop', rs.metadata.name)
  t.same((await step()).map(ch => [ch.type, ch.object.kind, ch.actor.username]), [['delete', 'ReplicaSet', USERS.bob.username]])
})
