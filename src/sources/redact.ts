import { createHash } from 'node:crypto'
import type { K8sObject } from '../model.js'

// Secret and ConfigMap values must never reach a store, a log line or a
// notification. They are replaced here, at the edge, by a short digest: the
// diff can still tell which keys changed, and nothing downstream can leak a
// value because no value travels past this point.

const VALUE_FIELDS = ['data', 'binaryData', 'stringData'] as const
// kubectl apply copies the whole object, values included, into this annotation.
const VALUE_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration']

function digest (v: unknown): string {
  return 'sha256:' + createHash('sha256').update(typeof v === 'string' ? v : JSON.stringify(v) ?? '').digest('hex').slice(0, 16)
}

export function redactValues<T> (obj: T): T {
  if (obj === null || typeof obj !== 'object') return obj
  const src = obj as unknown as K8sObject
  const out: K8sObject = { ...src }
  for (const f of VALUE_FIELDS) {
    const data = src[f]
    if (data !== null && typeof data === 'object') {
      const r: Record<string, string> = {}
      for (const [k, v] of Object.entries(data as Record<string, unknown>)) r[k] = digest(v)
      out[f] = r
    }
  }
  const ann = src.metadata?.annotations
  if (ann !== undefined && ann !== null && typeof ann === 'object') {
    let copy: Record<string, string> | undefined
    for (const a of VALUE_ANNOTATIONS) {
      if (a in ann) {
        copy ??= { ...ann }
        copy[a] = digest(ann[a])
      }
    }
    if (copy !== undefined) out.metadata = { ...src.metadata, annotations: copy }
  }
  return out as unknown as T
}
