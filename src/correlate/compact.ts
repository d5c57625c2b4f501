import type { K8sObject, Observation } from '../model.js'
import { WORKLOAD_KINDS } from '../detectors/workload.js'
import { podLink } from '../sources/watch/slim.js'

// What the journal keeps of an observation: only what the correlator reads,
// so a journal row costs a fraction of the batch it came from. The copy is
// taken before ingest (the correlator fills in uids and actors on the
// observation it routes) and shares the object bodies, which nobody mutates.

/** An EndpointSlice as the endpoints rules read it: its service label, ready addresses and their pods. */
function sliceAddresses (o: K8sObject): K8sObject {
  const eps = Array.isArray(o.endpoints) ? o.endpoints : undefined
  return {
    ...podLink(o),
    ...(eps !== undefined
      ? {
          endpoints: eps.map((ep: any) => ({
            addresses: ep?.addresses,
            ...(ep?.conditions !== undefined ? { conditions: { ready: ep.conditions.ready } } : {}),
            ...(ep?.targetRef !== undefined ? { targetRef: { kind: ep.targetRef.kind, name: ep.targetRef.name, uid: ep.targetRef.uid } } : {})
          }))
        }
      : {})
  }
}

/** Owned objects the correlator only ever reads as links in owner chains (never their spec or status). */
const LINK_KINDS = new Set(['Pod', 'ReplicaSet'])

/**
 * `skip`: the observation cannot reach the state machines (an ignored
 * namespace or kind, an auditID already seen): only its time, identity and
 * admission join fields matter. `statusRead`: some open change may read this
 * object's status; when none can, a workload's status write keeps its
 * desired state only (all a later diff compares).
 */
export function compactObservation (obs: Observation, skip: boolean, statusRead = true, known = false): Observation {
  const { object, oldObject: _old, request, ...rest } = obs
  const out: Observation = { ...rest, ref: { ...obs.ref } }
  // Of an actor the state keeps who and which groups (Change.actor): source IPs, user agent and uid
  // were a third of a journal row.
  if (rest.actor !== undefined) out.actor = { username: rest.actor.username, groups: rest.actor.groups }
  if (skip) return out
  const kind = obs.ref.kind
  if (object !== undefined) {
    if (LINK_KINDS.has(kind)) out.object = podLink(object)
    else if (kind === 'EndpointSlice') out.object = sliceAddresses(object)
    else if (!statusRead && obs.action === 'status' && WORKLOAD_KINDS.has(kind)) {
      // A status write cannot change desired state: when the object's desired
      // state is known already, the write adds nothing a later diff reads.
      if (!known) {
        const { status: _status, ...desired } = object
        out.object = desired
      }
    } else out.object = object
  }
  // The request body only classifies workload writes to desired state (a patch names what it changed).
  if (request !== undefined && WORKLOAD_KINDS.has(kind) && obs.action !== 'status') out.request = request
  return out
}

/**
 * A first list's entry. When nothing was restored, Correlator.baseline only
 * learns from it: of a Pod or ReplicaSet its owner links and labels, of an
 * Event its dedup key (uid and count). Their whole entries were 48 of the
 * 122 MB a 100,000-object first list journaled. After a restart the same
 * list is ingested as creates and updates instead, so it keeps what
 * compactObservation keeps (Events are deduplicated either way).
 */
export function compactBaseline (obs: Observation, skip: boolean, resumed: boolean): Observation {
  const out = compactObservation(obs, skip)
  const o = out.object
  if (skip || o === undefined) return out
  if (obs.source === 'event') {
    const key: K8sObject = {}
    if (o.count !== undefined) key.count = o.count
    if (o.series?.count !== undefined) key.series = { count: o.series.count }
    out.object = key
  } else if (!resumed && obs.source === 'watch' && LINK_KINDS.has(obs.ref.kind)) {
    const labels = o.metadata?.labels
    out.object = { metadata: labels !== undefined ? { labels } : {} }
  }
  return out
}
