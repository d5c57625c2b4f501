import t from 'tap'
import { Cluster, USERS } from '../../helpers/cluster.js'
import { gitRepository, helmRelease, kustomization, ociRepository } from '../../helpers/custom-resources.js'
import { statusRuleFor, type StatusResult } from '../../../src/detectors/status/index.js'

// Flux's status as its controllers write it (fluxcd/helm-controller
// internal/reconcile/{atomic_release,release,upgrade,install}.go and
// api/v2/condition_types.go; fluxcd/kustomize-controller
// internal/controller/kustomization_controller.go finalizeStatus;
// fluxcd/source-controller internal/reconcile/summarize): conditions carry
// observedGeneration, status.observedGeneration moves only on success.

const CFG = { kinds: {} }
const judge = (kind: string, group: string, objects: any[], generation: number): StatusResult[] => {
  const rule = statusRuleFor(kind, group, CFG)
  return objects.map(object => rule.evaluate({ object, generation }))
}

t.test('HelmRelease install, then an upgrade: Ready=True with the new generation', async t => {
  const c = new Cluster()
  const install = helmRelease(c, USERS.ci, 'shop', 'podinfo', '6.5.0')
  t.same(judge('HelmRelease', 'helm.toolkit.fluxcd.io', [install.created, ...install.statuses], 1), [
    { state: 'waiting', reason: 'NoReadyCondition', message: 'the controller has not reported Ready yet' },
    { state: 'waiting', reason: 'Progressing', message: "Running 'install' action with timeout of 5m0s" },
    { state: 'succeeded', reason: 'InstallSucceeded', message: 'Helm install succeeded for release shop/podinfo.v1 with chart podinfo@6.5.0' }
  ])
  const upgrade = helmRelease(c, USERS.ci, 'shop', 'podinfo', '6.5.1')
  t.equal(upgrade.updated.metadata.generation, 2)
  t.same(judge('HelmRelease', 'helm.toolkit.fluxcd.io', [upgrade.updated, ...upgrade.statuses], 2), [
    { state: 'waiting', reason: 'LatestGenerationNotObserved', message: 'the Ready condition does not show generation 2' },
    { state: 'waiting', reason: 'Progressing', message: "Running 'upgrade' action with timeout of 5m0s" },
    { state: 'succeeded', reason: 'UpgradeSucceeded', message: 'Helm upgrade succeeded for release shop/podinfo.v2 with chart podinfo@6.5.1' }
  ], 'the install\'s Ready=True (generation 1) does not close the upgrade')
})

t.test('HelmRelease UpgradeFailed: retrying is waiting, Stalled RetriesExceeded is the failure', async t => {
  const c = new Cluster()
  helmRelease(c, USERS.ci, 'shop', 'podinfo', '6.5.0')
  const up = helmRelease(c, USERS.ci, 'shop', 'podinfo', '7.0.0', 'failed')
  const last = up.statuses.at(-1)
  t.equal(last.status.observedGeneration, 1, 'observedGeneration stays on the last success')
  t.same(judge('HelmRelease', 'helm.toolkit.fluxcd.io', [last], 2), [
    { state: 'failed', reason: 'UpgradeFailed', message: 'Helm upgrade failed for release shop/podinfo with chart podinfo@7.0.0: context deadline exceeded; Failed to upgrade after 1 attempt(s)' }
  ])
  // With remediation retries left, helm-controller says Reconciling=True ProgressingWithRetry and tries again.
  const retrying = structuredClone(last)
  retrying.status.conditions = retrying.status.conditions.filter((x: any) => x.type !== 'Stalled')
  retrying.status.conditions.push({ type: 'Reconciling', status: 'True', reason: 'ProgressingWithRetry', message: 'Helm upgrade failed for release shop/podinfo with chart podinfo@7.0.0: context deadline exceeded', observedGeneration: 2, lastTransitionTime: '2026-11-20T10:00:30Z' })
  t.same(judge('HelmRelease', 'helm.toolkit.fluxcd.io', [retrying], 2), [
    { state: 'waiting', reason: 'ProgressingWithRetry', message: 'retrying: Helm upgrade failed for release shop/podinfo with chart podinfo@7.0.0: context deadline exceeded' }
  ])
  // A remediated release is an error (release.go summarize): Ready=False RollbackSucceeded.
  const rolledBack = structuredClone(last)
  rolledBack.status.conditions = [{ type: 'Ready', status: 'False', reason: 'RollbackSucceeded', message: 'Helm rollback to previous release shop/podinfo.v1 with chart podinfo@6.5.0 succeeded', observedGeneration: 2 }]
  t.same(judge('HelmRelease', 'helm.toolkit.fluxcd.io', [rolledBack], 2), [
    { state: 'failed', reason: 'RollbackSucceeded', message: 'Helm rollback to previous release shop/podinfo.v1 with chart podinfo@6.5.0 succeeded' }
  ])
})

t.test('Kustomization: applied, or BuildFailed while kustomize-controller keeps retrying the same revision', async t => {
  const c = new Cluster()
  const ok = kustomization(c, USERS.alice, 'flux-system', 'apps', './apps/prod')
  t.same(judge('Kustomization', 'kustomize.toolkit.fluxcd.io', ok.statuses, 1), [
    { state: 'waiting', reason: 'Progressing', message: 'Reconciliation in progress' },
    { state: 'succeeded', reason: 'ReconciliationSucceeded', message: 'Applied revision: main@sha1:5b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c' }
  ])
  const bad = kustomization(c, USERS.alice, 'flux-system', 'apps', './apps/typo', 'failed')
  const last = bad.statuses.at(-1)
  t.equal(last.status.observedGeneration, 1, 'the failed attempt keeps the old observedGeneration')
  const r = judge('Kustomization', 'kustomize.toolkit.fluxcd.io', [last], 2)[0]!
  t.equal(r.state, 'failed')
  t.equal(r.reason, 'BuildFailed')
  t.match(r.message, /^kustomize build failed: accumulating resources/)
  // The generic rule reads the same object the same way: the failure is on the Ready condition's own generation.
  t.same(statusRuleFor('Kustomization', 'example.com', CFG).evaluate({ object: last, generation: 2 }).state, 'waiting', 'generic: the top-level observedGeneration (1) lags, so it cannot say more')
})

t.test('GitRepository and OCIRepository: artifact stored, or the fetch failed', async t => {
  const c = new Cluster()
  const git = gitRepository(c, USERS.alice, 'flux-system', 'podinfo', 'https://github.com/stefanprodan/podinfo')
  t.same(judge('GitRepository', 'source.toolkit.fluxcd.io', git.statuses, 1), [
    { state: 'waiting', reason: 'Progressing', message: 'reconciliation in progress' },
    { state: 'succeeded', reason: 'Succeeded', message: "stored artifact for revision 'main@sha1:0c1ea2b3c4d5e6f708192a3b4c5d6e7f80912a3b'" }
  ])
  const denied = gitRepository(c, USERS.alice, 'flux-system', 'private', 'https://github.com/example/private', 'failed')
  t.same(judge('GitRepository', 'source.toolkit.fluxcd.io', [denied.statuses.at(-1)], 1), [
    { state: 'failed', reason: 'GitOperationFailed', message: "failed to checkout and determine revision: unable to clone 'https://github.com/example/private': authentication required" }
  ])
  const oci = ociRepository(c, USERS.alice, 'flux-system', 'manifests', 'oci://ghcr.io/stefanprodan/manifests/podinfo', '6.5.0')
  t.equal(judge('OCIRepository', 'source.toolkit.fluxcd.io', oci.statuses, 1)[0]!.state, 'succeeded')
  const missing = ociRepository(c, USERS.alice, 'flux-system', 'missing', 'oci://ghcr.io/example/none', '0.0.1', 'failed')
  t.same(judge('OCIRepository', 'source.toolkit.fluxcd.io', missing.statuses, 1)[0], {
    state: 'failed', reason: 'OCIArtifactPullFailed', message: 'failed to determine artifact digest: GET https://ghcr.io/example/none/manifests/0.0.1: MANIFEST_UNKNOWN'
  })
})
