// The shared vocabulary of the pipeline. Every source produces Observations;
// everything after normalize is source-agnostic and produces Changes.

export type Source = 'audit' | 'admission' | 'watch' | 'event'
export const SOURCES: readonly Source[] = ['audit', 'admission', 'watch', 'event']

export type Action = 'create' | 'update' | 'patch' | 'delete' | 'status'

/** A Kubernetes object as JSON; only the fields the pipeline reads are typed. */
export interface K8sObject {
  apiVersion?: string
  kind?: string
  metadata?: {
    name?: string
    namespace?: string
    uid?: string
    resourceVersion?: string
    generation?: number
    creationTimestamp?: string
    deletionTimestamp?: string
    labels?: Record<string, string>
    annotations?: Record<string, string>
    ownerReferences?: OwnerRef[]
    [k: string]: unknown
  }
  spec?: any
  status?: any
  [k: string]: any
}

export interface OwnerRef {
  apiVersion: string
  kind: string
  name: string
  uid: string
  controller?: boolean
}

export interface ObjectRef {
  apiGroup: string
  version: string
  kind: string
  resource: string
  subresource?: string
  namespace: string
  name: string
  uid?: string
}

export interface Actor {
  username: string
  uid?: string
  groups: string[]
  sourceIPs?: string[]
  userAgent?: string
  impersonatedBy?: string
}

export interface Observation {
  source: Source
  /** Epoch milliseconds, in the event's own time. */
  at: number
  ref: ObjectRef
  action: Action
  resourceVersion?: string
  generation?: number
  /** The object after the write (audit responseObject, watch object). */
  object?: K8sObject
  oldObject?: K8sObject
  /** The request body (audit requestObject): for a patch, only the patch. */
  request?: unknown
  /** A write to the scale subresource: the desired replicas it set. */
  scale?: { replicas: number }
  actor?: Actor
  auditID?: string
  /** The AdmissionReview uid: on an admission observation, and on the audit event of the same request (via auditAnnotations). */
  admissionUID?: string
  owners: OwnerRef[]
  reason?: string
  message?: string
  /** Synthesized from a re-list diff: when it happened (and what happened in between) is unknown. */
  relist?: boolean
}

export type ChangeType = 'create' | 'update' | 'delete' | 'rollout' | 'restart' | 'scale' | 'endpoints' | 'job'
export const CHANGE_TYPES: readonly ChangeType[] = ['create', 'update', 'delete', 'rollout', 'restart', 'scale', 'endpoints', 'job']

export type Outcome = 'applied' | 'succeeded' | 'failed' | 'timed-out' | 'open'
export const OUTCOMES: readonly Outcome[] = ['applied', 'succeeded', 'failed', 'timed-out', 'open']

export interface FieldDiff { path: string; from?: unknown; to?: unknown }
export interface ImageChange { container: string; from: string | null; to: string | null }

export interface ChangeDetails {
  diff?: FieldDiff[]
  revision?: number
  images?: ImageChange[]
  replicas?: { desired?: number; ready?: number; available?: number; updated?: number; from?: number; to?: number }
  endpoints?: { service: string; added: string[]; removed: string[] }[]
  /** Revisions replaced by this one before they completed. */
  superseded?: { revision?: number; images?: ImageChange[]; actor?: string | null }[]
  reason?: string
  message?: string
  /** ConfigMap/Secret key names: values never appear anywhere. */
  keys?: { added: string[]; removed: string[]; changed: string[] }
  events?: { reason: string; message: string; count: number }[]
  /** A Service's addresses and ports (after the change; before it for a delete). */
  service?: { type: string; clusterIPs: string[]; ports: string[]; selector?: Record<string, string>; loadBalancerIPs: string[]; externalName?: string }
  /** A Service deleted and created again under its name: the uid it had, and what moved (cluster IP …). */
  recreated?: { uid: string; moves: string[] }
}

export interface TimelineEntry {
  at: string
  source: Source
  action: Action
  kind: string
  name: string
  subresource?: string
  user?: string
  auditID?: string
  note?: string
}

export interface Change {
  id: string
  /** The cluster's name (config `cluster` / KUBECHANGES_CLUSTER); absent when unset. */
  cluster?: string
  type: ChangeType
  outcome: Outcome
  object: { kind: string; namespace: string; name: string; uid: string }
  actor: { username: string; groups: string[] } | null
  summary: string
  startedAt: string
  endedAt: string
  durationMs: number
  details: ChangeDetails
  counts: Partial<Record<Source, number>>
  auditIDs: string[]
  timeline: TimelineEntry[]
}
