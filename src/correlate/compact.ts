import type { Observation } from '../model.js'
import { WORKLOAD_KINDS } from '../detectors/workload.js'
import { podLink } from '../sources/pod-link.js'

// What the journal keeps of an observation: only what the correlator reads,
// so a journal row costs a fraction of the batch it came from. The copy is
// taken before ingest (the correlator fills in uids and actors on the
// observation it routes) and shares the object bodies, which nobody mutates.

/**
 * `skip`: the observation cannot reach the state machines (an ignored
 * namespace or kind, an auditID already seen): only its time, identity and
 * admission join fields matter.
 */
export function compactObservation (obs: Observation, skip: boolean): Observation {
  const { object, oldObject: _old, request, ...rest } = obs
  const out: Observation = { ...rest, ref: { ...obs.ref } }
  if (skip) return out
  if (object !== undefined) out.object = obs.ref.kind === 'Pod' ? podLink(object) : object
  // The request body only classifies workload writes (a patch names what it changed).
  if (request !== undefined && WORKLOAD_KINDS.has(obs.ref.kind)) out.request = request
  return out
}
