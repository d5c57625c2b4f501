import { condition, describe, observedGeneration, targetGeneration } from './conditions.js'
import type { StatusInput, StatusResult, StatusRule } from './types.js'

// Knative Serving Service (serving.knative.dev/v1), as pkg/apis/serving/v1/service_lifecycle.go
// defines it: ready when status.observedGeneration == metadata.generation and
// Ready=True; failed when the generation is observed and Ready=False (Knative's
// condition sets use Unknown for "in progress", False for failure, e.g.
// RevisionFailed propagated from the Configuration).

export function knativeServiceStatus (input: StatusInput): StatusResult {
  const obj = input.object
  const gen = targetGeneration(input)
  const observed = observedGeneration(obj)
  if (observed === undefined || observed < gen) {
    return { state: 'waiting', reason: 'LatestGenerationNotObserved', message: `generation ${gen}, observed ${observed ?? 'none'}` }
  }
  const ready = condition(obj, 'Ready')
  if (ready?.status === 'True') {
    const rev = obj.status?.latestReadyRevisionName
    const url = obj.status?.url
    return { state: 'succeeded', reason: 'Ready', message: [typeof rev === 'string' ? `revision ${rev}` : undefined, typeof url === 'string' ? url : undefined].filter(x => x !== undefined).join(' at ') || 'Ready' }
  }
  if (ready?.status === 'False') return { state: 'failed', ...describe(ready) }
  return { state: 'waiting', reason: ready?.reason ?? 'Deploying', ...(ready?.message !== undefined ? { message: ready.message } : {}) }
}

export const KNATIVE_SERVICE: StatusRule = { name: 'serving.knative.dev/Service', evaluate: knativeServiceStatus }
