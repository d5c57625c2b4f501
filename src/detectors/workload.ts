import type { ChangeType, ImageChange, K8sObject } from '../model.js'
import { diffObjects } from './diff.js'
import { rolloutStatus as argoRolloutStatus, ROLLOUT_REVISION } from './status/argo-rollouts.js'

// What a write to a workload (Deployment, StatefulSet, DaemonSet) means:
// (and Argo Rollout, which has a pod template and ReplicaSets of its own):
// a new pod template is a rollout (a restart when only kubectl's restartedAt
// annotation moved), replicas alone are a scale, anything else an update.

export type WorkloadWrite = 'rollout' | 'restart' | 'scale' | 'update' | 'none' | 'unknown'

export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt'
export const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Rollout'])
/** The change types a workload's own detector opens (and that explain its pods' endpoint moves). */
export const WORKLOAD_CHANGE = new Set<ChangeType>(['create', 'rollout', 'restart', 'scale'])

function isPlain (v: unknown): v is Record<string, any> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function templateWithout (tpl: any, dropRestart: boolean): string {
  if (!isPlain(tpl)) return JSON.stringify(tpl ?? null)
  const meta = isPlain(tpl.metadata) ? { ...tpl.metadata } : {}
  // The API server normalises creationTimestamp: null in templates; it is not a change.
  delete meta.creationTimestamp
  if (dropRestart && isPlain(meta.annotations)) {
    const { [RESTARTED_AT]: _r, ...rest } = meta.annotations
    meta.annotations = rest
    if (Object.keys(rest).length === 0) delete meta.annotations
  }
  return JSON.stringify({ ...tpl, metadata: meta })
}

export function classifyWorkloadWrite (before: K8sObject | undefined, after: K8sObject | undefined, request: unknown, kind: string): WorkloadWrite {
  if (before !== undefined && after !== undefined) {
    const tb = before.spec?.template
    const ta = after.spec?.template
    if (templateWithout(tb, false) !== templateWithout(ta, false)) {
      return templateWithout(tb, true) === templateWithout(ta, true) ? 'restart' : 'rollout'
    }
    if (kind !== 'DaemonSet' && (before.spec?.replicas ?? 1) !== (after.spec?.replicas ?? 1)) return 'scale'
    return diffObjects(before, after, kind).length > 0 ? 'update' : 'none'
  }
  // No earlier state known (first sight since start): read the patch itself.
  if (isPlain(request) && request.kind === undefined && isPlain(request.spec)) {
    const spec = request.spec
    if (spec.template !== undefined) {
      const ann = spec.template?.metadata?.annotations
      const onlyRestart = isPlain(ann) && Object.keys(ann).length === 1 && RESTARTED_AT in ann &&
        Object.keys(spec.template).length === 1 && Object.keys(spec.template.metadata).length === 1
      return onlyRestart ? 'restart' : 'rollout'
    }
    if (Object.keys(spec).length === 1 && 'replicas' in spec) return 'scale'
  }
  return 'unknown'
}

export function containerImages (obj: K8sObject | undefined): Map<string, string> {
  const m = new Map<string, string>()
  const spec = obj?.spec?.template?.spec
  for (const list of [spec?.initContainers, spec?.containers]) {
    if (!Array.isArray(list)) continue
    for (const c of list) if (isPlain(c) && typeof c.name === 'string') m.set(c.name, String(c.image ?? ''))
  }
  return m
}

export function imageChanges (before: K8sObject | undefined, after: K8sObject | undefined): ImageChange[] {
  const a = containerImages(before)
  const b = containerImages(after)
  const out: ImageChange[] = []
  for (const name of new Set([...a.keys(), ...b.keys()])) {
    const from = a.get(name) ?? null
    const to = b.get(name) ?? null
    if (from !== to) out.push({ container: name, from, to })
  }
  return out
}

export type RolloutStatus = { state: 'done' } | { state: 'waiting' } | { state: 'failed', reason: string, message: string }

function generationObserved (obj: K8sObject): boolean {
  const gen = obj.metadata?.generation
  // Argo Rollouts writes observedGeneration as a string.
  const raw = obj.status?.observedGeneration
  const observed = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw
  return typeof gen !== 'number' || (typeof observed === 'number' && observed >= gen)
}

/** kubectl rollout status for a Deployment (k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go). */
export function deploymentRolloutStatus (d: K8sObject): RolloutStatus {
  if (!generationObserved(d)) return { state: 'waiting' }
  const conds: any[] = Array.isArray(d.status?.conditions) ? d.status.conditions : []
  const progressing = conds.find(c => c?.type === 'Progressing')
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { state: 'failed', reason: 'ProgressDeadlineExceeded', message: String(progressing.message ?? '') }
  }
  const st = d.status ?? {}
  const desired = d.spec?.replicas ?? 1
  const updated = st.updatedReplicas ?? 0
  if (updated < desired) return { state: 'waiting' }
  if ((st.replicas ?? 0) > updated) return { state: 'waiting' }
  if ((st.availableReplicas ?? 0) < updated) return { state: 'waiting' }
  return { state: 'done' }
}

/** kubectl rollout status for a StatefulSet, partitions included. */
export function statefulSetRolloutStatus (s: K8sObject): RolloutStatus {
  const st = s.status ?? {}
  if (typeof st.observedGeneration !== 'number' || st.observedGeneration === 0 || !generationObserved(s)) return { state: 'waiting' }
  const desired = s.spec?.replicas ?? 1
  if ((st.readyReplicas ?? 0) < desired) return { state: 'waiting' }
  const strategy = s.spec?.updateStrategy
  const partition = strategy?.rollingUpdate?.partition
  if ((strategy?.type ?? 'RollingUpdate') === 'RollingUpdate' && typeof partition === 'number' && partition > 0) {
    return (st.updatedReplicas ?? 0) < desired - partition ? { state: 'waiting' } : { state: 'done' }
  }
  if (st.updateRevision !== st.currentRevision) return { state: 'waiting' }
  return { state: 'done' }
}

/** kubectl rollout status for a DaemonSet. */
export function daemonSetRolloutStatus (d: K8sObject): RolloutStatus {
  if (!generationObserved(d)) return { state: 'waiting' }
  const st = d.status ?? {}
  const desired = st.desiredNumberScheduled ?? 0
  if ((st.updatedNumberScheduled ?? 0) < desired) return { state: 'waiting' }
  if ((st.numberAvailable ?? 0) < desired) return { state: 'waiting' }
  return { state: 'done' }
}

export function rolloutStatus (obj: K8sObject, kind: string): RolloutStatus {
  if (kind === 'Rollout') {
    // (The correlator asks the configured rule first; this is the built-in one.)
    const r = argoRolloutStatus({ object: obj })
    if (r.state === 'succeeded') return { state: 'done' }
    if (r.state === 'failed') return { state: 'failed', reason: r.reason ?? 'Degraded', message: r.message ?? '' }
    return { state: 'waiting' }
  }
  if (kind === 'StatefulSet') return statefulSetRolloutStatus(obj)
  if (kind === 'DaemonSet') return daemonSetRolloutStatus(obj)
  return deploymentRolloutStatus(obj)
}

/** A scale is settled when every desired replica is available and no extra one is left. */
export function scaleStatus (obj: K8sObject, kind: string): RolloutStatus {
  if (!generationObserved(obj)) return { state: 'waiting' }
  const desired = obj.spec?.replicas ?? 1
  const st = obj.status ?? {}
  const ready = kind === 'StatefulSet' ? st.readyReplicas ?? 0 : st.availableReplicas ?? 0
  return ready === desired && (st.replicas ?? 0) === desired ? { state: 'done' } : { state: 'waiting' }
}

export function replicaCounts (obj: K8sObject | undefined, kind: string): { desired?: number, ready?: number, available?: number, updated?: number } {
  if (obj === undefined) return {}
  const st = obj.status ?? {}
  if (kind === 'DaemonSet') {
    return { desired: st.desiredNumberScheduled, ready: st.numberReady, available: st.numberAvailable, updated: st.updatedNumberScheduled }
  }
  return { desired: obj.spec?.replicas ?? 1, ready: st.readyReplicas ?? 0, available: st.availableReplicas ?? 0, updated: st.updatedReplicas ?? 0 }
}

export function revisionOf (obj: K8sObject | undefined): number | undefined {
  const r = obj?.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? obj?.metadata?.annotations?.[ROLLOUT_REVISION]
  const n = r === undefined ? NaN : Number(r)
  return Number.isInteger(n) ? n : undefined
}
