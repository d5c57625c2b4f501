import { condition, describe, isCurrent, isFalse, isTrue, observedGeneration, targetGeneration } from './conditions.js'
import { isTerminalReason } from './generic.js'
import type { StatusInput, StatusResult, StatusRule } from './types.js'

// Flux objects (Kustomization, HelmRelease, GitRepository, OCIRepository) all
// speak fluxcd/pkg/apis/meta: Ready, Reconciling, Stalled, conditions that
// carry observedGeneration. How they write it:
// - status.observedGeneration moves only on success: a failed attempt keeps the
//   old one and writes Ready=False with the NEW generation on the condition
//   (kustomize-controller finalizeStatus; source-controller summarize), so a
//   failure is read from the Ready condition's own generation;
// - kustomize-controller keeps Reconciling=True ProgressingWithRetry after a
//   failure and retries the same revision on an interval: the attempt failed;
// - helm-controller retries an install/upgrade within its remediation budget
//   (Reconciling=True ProgressingWithRetry) and says it is over with
//   Stalled=True RetriesExceeded; a remediated release (RollbackSucceeded,
//   UninstallSucceeded) is Ready=False (internal/reconcile/atomic_release.go,
//   release.go summarize).

function fluxRule (input: StatusInput, opts: { retryIsWaiting: boolean }): StatusResult {
  const obj = input.object
  const gen = targetGeneration(input)
  const stalled = condition(obj, 'Stalled')
  const ready = condition(obj, 'Ready')
  if (isTrue(stalled) && isCurrent(stalled!, input)) {
    // Ready says what failed (UpgradeFailed and Helm's error), Stalled why it stopped retrying.
    const what = isFalse(ready) ? describe(ready) : {}
    const message = [what.message, describe(stalled).message].filter(m => m !== undefined).join('; ')
    return { state: 'failed', reason: what.reason ?? stalled!.reason ?? 'Stalled', ...(message !== '' ? { message } : {}) }
  }
  if (ready === undefined) return { state: 'waiting', reason: 'NoReadyCondition', message: 'the controller has not reported Ready yet' }
  if (!isCurrent(ready, input)) {
    return { state: 'waiting', reason: 'LatestGenerationNotObserved', message: `the Ready condition does not show generation ${gen}` }
  }
  if (isFalse(ready) && isTerminalReason(ready.reason)) {
    const reconciling = condition(obj, 'Reconciling')
    if (opts.retryIsWaiting && isTrue(reconciling) && reconciling!.reason === 'ProgressingWithRetry') {
      return { state: 'waiting', reason: 'ProgressingWithRetry', ...(describe(ready).message !== undefined ? { message: `retrying: ${describe(ready).message!}` } : {}) }
    }
    return { state: 'failed', ...describe(ready) }
  }
  if (isTrue(ready) && (observedGeneration(obj) ?? gen) >= gen) return { state: 'succeeded', ...describe(ready) }
  return { state: 'waiting', ...describe(ready) }
}

export const KUSTOMIZATION: StatusRule = { name: 'kustomize.toolkit.fluxcd.io/Kustomization', evaluate: i => fluxRule(i, { retryIsWaiting: false }) }
export const HELM_RELEASE: StatusRule = { name: 'helm.toolkit.fluxcd.io/HelmRelease', evaluate: i => fluxRule(i, { retryIsWaiting: true }) }
export const GIT_REPOSITORY: StatusRule = { name: 'source.toolkit.fluxcd.io/GitRepository', evaluate: i => fluxRule(i, { retryIsWaiting: false }) }
export const OCI_REPOSITORY: StatusRule = { name: 'source.toolkit.fluxcd.io/OCIRepository', evaluate: i => fluxRule(i, { retryIsWaiting: false }) }
