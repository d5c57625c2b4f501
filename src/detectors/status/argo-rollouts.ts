import type { K8sObject } from '../../model.js'
import { containerImages } from '../workload.js'
import { asGeneration, condition, describe, targetGeneration } from './conditions.js'
import type { StatusInput, StatusResult, StatusRule } from './types.js'

// Argo Rollouts (argoproj.io/v1alpha1 Rollout), read as the controller writes it
// (pkg/apis/rollouts/v1alpha1/types.go RolloutStatus; utils/rollout/rolloututil.go):
// status.observedGeneration is a STRING; status.phase is only meaningful once
// it equals metadata.generation; a rollout is fully promoted when
// status.stableRS == status.currentPodHash; an abort sets status.abort and a
// Progressing condition with reason RolloutAborted; the phase goes Degraded
// with "Reason: message" in status.message.

export const ROLLOUT_REVISION = 'rollout.argoproj.io/revision'

/** The pod template a Rollout runs: spec.template (a workloadRef'd Rollout has none of its own). */
export function rolloutPodTemplate (obj: K8sObject | undefined): unknown {
  return obj?.spec?.template
}

/** Container name → image of the Rollout's pod template, as for a Deployment. */
export function rolloutImages (obj: K8sObject | undefined): Map<string, string> {
  return containerImages(obj)
}

/** The controller's revision counter (annotation rollout.argoproj.io/revision), if set. */
export function rolloutRevision (obj: K8sObject | undefined): number | undefined {
  return asGeneration(obj?.metadata?.annotations?.[ROLLOUT_REVISION])
}

function splitMessage (message: unknown): { reason?: string, message?: string } {
  if (typeof message !== 'string' || message === '') return {}
  const m = /^([A-Z][A-Za-z]+): (.*)$/s.exec(message)
  return m === null ? { message } : { reason: m[1], message: m[2] }
}

export function rolloutStatus (input: StatusInput): StatusResult {
  const obj = input.object
  const s = obj.status
  const gen = targetGeneration(input)
  if (s === undefined || s === null || typeof s !== 'object') return { state: 'waiting', reason: 'NoStatus', message: 'the controller has not written a status yet' }
  const observed = asGeneration(s.observedGeneration)
  if (observed === undefined || observed < gen) {
    return { state: 'waiting', reason: 'LatestGenerationNotObserved', message: `generation ${gen}, observed ${String(s.observedGeneration ?? 'none')}` }
  }
  if (s.abort === true) {
    const p = condition(obj, 'Progressing')
    return { state: 'failed', reason: 'RolloutAborted', ...(describe(p).message !== undefined ? { message: describe(p).message } : splitMessage(s.message)) }
  }
  if (s.phase === 'Degraded') return { state: 'failed', reason: 'Degraded', ...splitMessage(s.message) }
  if (s.phase === 'Healthy' && typeof s.stableRS === 'string' && s.stableRS !== '' && s.stableRS === s.currentPodHash) {
    return { state: 'succeeded', reason: 'Healthy', message: `stable ReplicaSet hash ${String(s.stableRS)}` }
  }
  if (s.phase === 'Paused') return { state: 'waiting', reason: 'Paused', ...(typeof s.message === 'string' && s.message !== '' ? { message: s.message } : {}) }
  return { state: 'waiting', reason: typeof s.phase === 'string' && s.phase !== '' ? s.phase : 'Progressing', ...(typeof s.message === 'string' && s.message !== '' ? { message: s.message } : {}) }
}

export const ROLLOUT: StatusRule = { name: 'argoproj.io/Rollout', evaluate: rolloutStatus }
