import type { Action, Actor, K8sObject, Observation, OwnerRef } from '../model.js'
import { errors, type KubechangesError } from '../errors.js'
import { isInertSubresource, isNoiseResource, isSensitiveKind, kindForResource } from './kinds.js'
import { redactValues } from './redact.js'

// Audit events (audit.k8s.io/v1 and the older v1beta1 shape) → Observations.
// Pure: no state, no I/O. Dedup by auditID happens later, in correlate/dedup.

export type DropReason = 'stage' | 'read' | 'failed' | 'dry-run' | 'noise'

export type AuditResult =
  | { kind: 'observation', observation: Observation }
  | { kind: 'dropped', reason: DropReason, auditID?: string }
  | { kind: 'malformed', error: KubechangesError }

const READ_VERBS = new Set(['get', 'list', 'watch'])
const WRITE_VERBS: Record<string, Action> = { create: 'create', update: 'update', patch: 'patch', delete: 'delete' }

function isObject (v: unknown): v is Record<string, any> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function str (v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

function parseTime (c: unknown): number | undefined {
  if (typeof c !== 'string') return undefined
  const t = Date.parse(c)
  return Number.isNaN(t) ? undefined : t
}

function isDryRun (requestURI: string | undefined): boolean {
  if (requestURI === undefined) return false
  const q = requestURI.indexOf('?')
  if (q < 0) return false
  // Most writes carry no dryRun at all: skip parsing their query (unless it is
  // percent-encoded, where "dryRun" may be spelled with escapes).
  if (!requestURI.includes('dryRun', q) && !requestURI.includes('%', q)) return false
  // dryRun=All is the only value the API accepts; any dryRun means "not persisted".
  return new URLSearchParams(requestURI.slice(q + 1)).has('dryRun')
}

/** The array itself when every element is a string (the usual case: no copy), else its strings. */
function strings (v: unknown[]): string[] {
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'string') return v.filter((s: unknown): s is string => typeof s === 'string')
  }
  return v as string[]
}

function isOwnerRef (r: unknown): r is OwnerRef {
  return isObject(r) && typeof r.uid === 'string' && typeof r.kind === 'string' && typeof r.name === 'string'
}

export function actorFromUserInfo (user: unknown, impersonated?: unknown, extra?: { sourceIPs?: unknown, userAgent?: unknown }): Actor | undefined {
  if (!isObject(user) || typeof user.username !== 'string') return undefined
  const base = isObject(impersonated) && typeof impersonated.username === 'string' ? impersonated : user
  // The arrays of a freshly parsed body are ours: kept as they are, not copied.
  const actor: Actor = { username: base.username, groups: Array.isArray(base.groups) ? strings(base.groups) : [] }
  if (typeof base.uid === 'string') actor.uid = base.uid
  if (base !== user) actor.impersonatedBy = user.username
  if (extra !== undefined) {
    if (Array.isArray(extra.sourceIPs)) actor.sourceIPs = strings(extra.sourceIPs)
    if (typeof extra.userAgent === 'string') actor.userAgent = extra.userAgent
  }
  return actor
}

export function ownersOf (obj: K8sObject | undefined): OwnerRef[] {
  const refs = obj?.metadata?.ownerReferences
  if (!Array.isArray(refs)) return []
  for (let i = 0; i < refs.length; i++) {
    if (!isOwnerRef(refs[i])) return refs.filter(isOwnerRef)
  }
  return refs
}

/** The uid of the object a response talks about; a delete answers with a Status carrying details.uid. */
function responseUid (resp: unknown): string | undefined {
  if (!isObject(resp)) return undefined
  if (resp.kind === 'Status') return str(resp.details?.uid) || undefined
  return str(resp.metadata?.uid) || undefined
}

/** The full object after the write, when the response is that object (not a Status, not a Scale). */
function responseObject (resp: unknown, kind: string): K8sObject | undefined {
  if (!isObject(resp) || !isObject(resp.metadata)) return undefined
  if (resp.kind !== undefined && resp.kind !== kind) return undefined
  return resp as K8sObject
}

/** Our admission webhook's auditAnnotations arrive prefixed with the webhook's name. */
function admissionUidOf (annotations: unknown): string | undefined {
  if (!isObject(annotations)) return undefined
  for (const k in annotations) {
    const v: unknown = annotations[k]
    if (typeof v === 'string' && v !== '' && k.endsWith('/admission-uid')) return v
  }
  return undefined
}

export function normalizeAuditEvent (ev: unknown): AuditResult {
  if (!isObject(ev)) return { kind: 'malformed', error: errors.BAD_EVENT('audit event is not an object') }
  const auditID = str(ev.auditID)
  if (auditID === undefined || auditID === '') return { kind: 'malformed', error: errors.BAD_EVENT('audit event has no auditID') }
  if (ev.kind !== undefined && ev.kind !== 'Event') return { kind: 'malformed', error: errors.BAD_EVENT(`audit event ${auditID}: kind must be "Event"`) }
  const stage = str(ev.stage)
  const verb = str(ev.verb)
  if (stage === undefined || verb === undefined) return { kind: 'malformed', error: errors.BAD_EVENT(`audit event ${auditID}: missing stage or verb`) }
  // Only the final stage is the outcome of the request; earlier stages of the
  // same auditID would otherwise count the write twice.
  if (stage !== 'ResponseComplete' && stage !== 'Panic') return { kind: 'dropped', reason: 'stage', auditID }
  if (READ_VERBS.has(verb)) return { kind: 'dropped', reason: 'read', auditID }
  const code = ev.responseStatus?.code
  if (stage === 'Panic' || (typeof code === 'number' && code >= 400)) return { kind: 'dropped', reason: 'failed', auditID }
  const requestURI = str(ev.requestURI)
  if (isDryRun(requestURI)) return { kind: 'dropped', reason: 'dry-run', auditID }

  const objectRef = ev.objectRef
  // Non-resource requests (/healthz, /version) and deletecollection name no single object.
  if (!isObject(objectRef) || typeof objectRef.resource !== 'string') return { kind: 'dropped', reason: 'noise', auditID }
  const group = str(objectRef.apiGroup) ?? ''
  const resource = objectRef.resource
  const subresource = str(objectRef.subresource) || undefined
  if (isNoiseResource(group, resource) || isInertSubresource(subresource)) return { kind: 'dropped', reason: 'noise', auditID }
  let action = WRITE_VERBS[verb]
  if (action === undefined) return { kind: 'dropped', reason: 'noise', auditID }
  const name = str(objectRef.name) ?? str(ev.responseObject?.metadata?.name) ?? ''
  if (name === '') return { kind: 'dropped', reason: 'noise', auditID }
  if (subresource === 'status') action = 'status'

  const at = parseTime(ev.stageTimestamp) ?? parseTime(ev.timestamp) ?? parseTime(ev.requestReceivedTimestamp)
  if (at === undefined) return { kind: 'malformed', error: errors.BAD_EVENT(`audit event ${auditID}: no valid timestamp`) }

  const kind = kindForResource(resource, ev.responseObject?.kind ?? ev.requestObject?.kind)
  const sensitive = isSensitiveKind(kind)
  let object = subresource === undefined || subresource === 'status' ? responseObject(ev.responseObject, kind) : undefined
  if (object !== undefined && sensitive) object = redactValues(object)
  // managedFields is bookkeeping, often half the object, and it would sit in the object index.
  if (object?.metadata?.managedFields !== undefined) {
    const { managedFields: _m, ...metadata } = object.metadata
    object = { ...object, metadata }
  }
  // The response is the truth: objectRef.uid is empty on create/patch/delete
  // and may even be stale (copied from a request body).
  const uid = responseUid(ev.responseObject) ?? (str(objectRef.uid) || undefined)

  const obs: Observation = {
    source: 'audit',
    at,
    ref: {
      apiGroup: group,
      version: str(objectRef.apiVersion) ?? '',
      kind,
      resource,
      // A Namespace's own objectRef names itself as its namespace; it is cluster-scoped.
      namespace: resource === 'namespaces' ? '' : str(objectRef.namespace) ?? '',
      name,
      ...(subresource !== undefined ? { subresource } : {}),
      ...(uid !== undefined ? { uid } : {})
    },
    action,
    auditID,
    owners: ownersOf(object),
    actor: actorFromUserInfo(ev.user, ev.impersonatedUser, { sourceIPs: ev.sourceIPs, userAgent: ev.userAgent })
  }
  if (object !== undefined) {
    obs.object = object
    const rv = str(object.metadata?.resourceVersion)
    if (rv !== undefined) obs.resourceVersion = rv
    if (typeof object.metadata?.generation === 'number') obs.generation = object.metadata.generation
  } else if (isObject(ev.responseObject) && ev.responseObject.kind === 'Scale') {
    const rv = str(ev.responseObject.metadata?.resourceVersion)
    if (rv !== undefined) obs.resourceVersion = rv
    if (typeof ev.responseObject.spec?.replicas === 'number') obs.scale = { replicas: ev.responseObject.spec.replicas }
  }
  const admissionUID = admissionUidOf(ev.annotations)
  if (admissionUID !== undefined) obs.admissionUID = admissionUID
  // Secret/ConfigMap request bodies may be JSON patches carrying values: never keep them.
  if (ev.requestObject !== undefined && !sensitive) obs.request = ev.requestObject
  return { kind: 'observation', observation: obs }
}

/**
 * Accepts what the apiserver's webhook backend sends (an EventList), an
 * audit log's single Event, or a bare array; returns the items.
 */
export function eventListItems (body: unknown): unknown[] | KubechangesError {
  if (Array.isArray(body)) return body
  if (!isObject(body)) return errors.BAD_EVENT_LIST('body must be an audit EventList or Event object')
  if (body.kind === 'EventList' || (body.kind === undefined && Array.isArray(body.items))) {
    if (!Array.isArray(body.items)) return errors.BAD_EVENT_LIST('EventList has no items array')
    return body.items
  }
  if (body.kind === 'Event' || (body.kind === undefined && typeof body.auditID === 'string')) return [body]
  return errors.BAD_EVENT_LIST(`expected kind EventList or Event, got ${JSON.stringify(body.kind)?.slice(0, 40) ?? 'nothing'}`)
}
