import type { FieldDiff, K8sObject } from '../model.js'
import { isSensitiveKind } from '../sources/kinds.js'

// Field diffs between two states of an object, without the fields the API
// server and controllers rewrite on every write (bookkeeping never opens a
// change and is never worth reading in a report).

const IGNORED_METADATA = new Set(['resourceVersion', 'generation', 'managedFields', 'uid', 'creationTimestamp', 'selfLink'])
export const BOOKKEEPING_ANNOTATIONS = new Set([
  'deployment.kubernetes.io/revision',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'rollout.argoproj.io/revision',
  'rollout.argoproj.io/desired-replicas',
  'kubectl.kubernetes.io/last-applied-configuration',
  'endpoints.kubernetes.io/last-change-trigger-time',
  'control-plane.alpha.kubernetes.io/leader'
])
const MAX_DIFFS = 50
const MAX_VALUE = 200

function isPlain (v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function clip (v: unknown): unknown {
  if (v === undefined) return undefined
  const s = JSON.stringify(v)
  if (s !== undefined && s.length > MAX_VALUE) return s.slice(0, MAX_VALUE - 1) + '…'
  return v
}

function walk (a: unknown, b: unknown, path: string, out: FieldDiff[]): void {
  if (out.length >= MAX_DIFFS) return
  if (isPlain(a) && isPlain(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)])
    for (const k of [...keys].sort()) walk(a[k], b[k], path === '' ? k : `${path}.${k}`, out)
    return
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    for (let i = 0; i < a.length; i++) walk(a[i], b[i], `${path}[${i}]`, out)
    return
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return
  const d: FieldDiff = { path }
  if (a !== undefined) d.from = clip(a)
  if (b !== undefined) d.to = clip(b)
  out.push(d)
}

/** The parts of an object that are desired state: everything but status and bookkeeping. */
export function desiredState (obj: K8sObject | undefined): Record<string, unknown> {
  if (obj === undefined) return {}
  const { status: _status, metadata, apiVersion: _av, kind: _k, ...rest } = obj
  const meta: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(metadata ?? {})) {
    if (IGNORED_METADATA.has(k)) continue
    if (k === 'annotations' && isPlain(v)) {
      const ann: Record<string, unknown> = {}
      for (const [ak, av] of Object.entries(v)) if (!BOOKKEEPING_ANNOTATIONS.has(ak)) ann[ak] = av
      if (Object.keys(ann).length > 0) meta.annotations = ann
      continue
    }
    meta[k] = v
  }
  return { metadata: meta, ...rest }
}

/** Desired-state field diff. Values of Secret/ConfigMap keys are never reported, only the paths. */
export function diffObjects (before: K8sObject | undefined, after: K8sObject | undefined, kind: string): FieldDiff[] {
  const out: FieldDiff[] = []
  walk(desiredState(before), desiredState(after), '', out)
  if (!isSensitiveKind(kind)) return out
  return out.map(d => /^(data|binaryData|stringData)(\.|$)/.test(d.path) ? { path: d.path } : d)
}

export function keyChanges (before: K8sObject | undefined, after: K8sObject | undefined): { added: string[], removed: string[], changed: string[] } {
  const merged = (o: K8sObject | undefined): Record<string, unknown> => ({ ...(o?.data ?? {}), ...(o?.binaryData ?? {}), ...(o?.stringData ?? {}) })
  const a = merged(before)
  const b = merged(after)
  const added = Object.keys(b).filter(k => !(k in a)).sort()
  const removed = Object.keys(a).filter(k => !(k in b)).sort()
  const changed = Object.keys(b).filter(k => k in a && a[k] !== b[k]).sort()
  return { added, removed, changed }
}
