import { condition, conditions, describe, hasStatus, isCurrent, isFalse, isTrue, observedGeneration, targetGeneration } from './conditions.js'
import type { StatusInput, StatusResult, StatusRule } from './types.js'

// The generic rule for any kind, in the spirit of kstatus
// (sigs.k8s.io/cli-utils/pkg/kstatus/status/generic.go): Stalled=True is a
// failure, Reconciling=True is in progress, a status whose observedGeneration
// lags the object's is in progress. Where kstatus stops (it treats Ready from
// before the change as current when no generation is written, and it errors
// out on a string observedGeneration) this rule is careful: a condition is
// only believed when it speaks about the change (see isCurrent).

/**
 * Ready=False reasons that say the attempt is over and failed, not that it is
 * still going: helm-controller's release and remediation reasons (a
 * remediated release is an error: internal/reconcile/release.go summarize),
 * kustomize-controller's, source-controller's, Knative's, the Deployment
 * controller's deadline. A reason ending in `Failed` counts too, except the
 * ones that name something else being not ready yet.
 */
export const TERMINAL_REASONS = new Set([
  'InstallFailed', 'UpgradeFailed', 'TestFailed', 'RollbackFailed', 'UninstallFailed',
  'RollbackSucceeded', 'UninstallSucceeded', 'RetriesExceeded', 'MissingRollbackTarget',
  'BuildFailed', 'ReconciliationFailed', 'HealthCheckFailed', 'PruneFailed',
  'GitOperationFailed', 'AuthenticationFailed', 'OCIArtifactPullFailed', 'URLInvalid', 'InvalidPath',
  'RevisionFailed', 'ProgressDeadlineExceeded'
])
/** Failed-sounding reasons that only mean "a dependency is not there yet": the controller retries and may well succeed. */
const TRANSIENT_REASONS = new Set(['ArtifactFailed', 'DependencyNotReady', 'HealthCheckCanceled', 'Progressing', 'ProgressingWithRetry'])

export function isTerminalReason (reason: string | undefined): boolean {
  if (reason === undefined || TRANSIENT_REASONS.has(reason)) return false
  return TERMINAL_REASONS.has(reason) || /Failed$/.test(reason)
}

export function generic (input: StatusInput): StatusResult {
  const obj = input.object
  const gen = targetGeneration(input)
  const observed = observedGeneration(obj)
  if (!hasStatus(obj)) return { state: 'none', reason: 'NoStatus', message: 'the object reports no status to wait for' }
  if (observed === undefined && conditions(obj).length === 0) {
    return { state: 'none', reason: 'NoStandardStatus', message: 'the status has no observedGeneration and no conditions' }
  }
  for (const type of ['Stalled', 'Failed']) {
    const c = condition(obj, type)
    if (isTrue(c) && isCurrent(c!, input)) return { state: 'failed', reason: type, ...describe(c) }
  }
  if (observed !== undefined && observed < gen) {
    return { state: 'waiting', reason: 'LatestGenerationNotObserved', message: `generation ${gen}, observed ${observed}` }
  }
  const ready = condition(obj, 'Ready')
  if (isFalse(ready) && isCurrent(ready!, input) && isTerminalReason(ready!.reason)) return { state: 'failed', ...describe(ready) }
  const reconciling = condition(obj, 'Reconciling')
  if (isTrue(reconciling)) return { state: 'waiting', reason: 'Reconciling', ...describe(reconciling) }
  if (ready === undefined) {
    // kstatus: a controller that reports the generation it saw and no Ready has nothing more to wait for.
    if (observed !== undefined) return { state: 'succeeded', reason: 'GenerationObserved', message: `observed generation ${observed}` }
    return { state: 'none', reason: 'NoReadyCondition', message: 'no Ready condition and no observedGeneration' }
  }
  if (!isCurrent(ready, input)) {
    return { state: 'waiting', reason: 'ReadyFromBeforeChange', message: `the Ready condition does not show generation ${gen}` }
  }
  if (isTrue(ready)) return { state: 'succeeded', ...describe(ready) }
  return { state: 'waiting', ...describe(ready) }
}

export const GENERIC: StatusRule = { name: 'generic', evaluate: generic }
