import type { K8sObject } from '../../model.js'
import type { StatusInput } from './types.js'

// Reading status the way the API conventions write it, with the pitfalls
// kstatus trips on guarded: observedGeneration as a string (Argo Rollouts),
// conditions that carry their own observedGeneration (metav1.Condition), and
// conditions from before the change.

export interface Condition {
  type: string
  status: 'True' | 'False' | 'Unknown' | string
  reason?: string
  message?: string
  observedGeneration?: unknown
  lastTransitionTime?: string
}

function isPlain (v: unknown): v is Record<string, any> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** A generation as written: a number, or a numeric string (Argo Rollouts' status.observedGeneration). */
export function asGeneration (v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v)
  return undefined
}

export function conditions (obj: K8sObject): Condition[] {
  const list = isPlain(obj.status) ? obj.status.conditions : undefined
  if (!Array.isArray(list)) return []
  return list.filter((c): c is Condition => isPlain(c) && typeof c.type === 'string' && typeof c.status === 'string')
}

export function condition (obj: K8sObject, type: string): Condition | undefined {
  return conditions(obj).find(c => c.type === type)
}

export function isTrue (c: Condition | undefined): boolean { return c?.status === 'True' }
export function isFalse (c: Condition | undefined): boolean { return c?.status === 'False' }

/** The generation the change must be judged against. */
export function targetGeneration (input: StatusInput): number {
  return input.generation ?? asGeneration(input.object.metadata?.generation) ?? 0
}

/** status.observedGeneration, if the controller writes one. */
export function observedGeneration (obj: K8sObject): number | undefined {
  return isPlain(obj.status) ? asGeneration(obj.status.observedGeneration) : undefined
}

/**
 * Whether a condition speaks about the change (not about the state before it):
 * its own observedGeneration, else the top-level one, else — with neither — only
 * a first generation (nothing existed before it) or a transition after the change.
 */
export function isCurrent (c: Condition, input: StatusInput): boolean {
  const gen = targetGeneration(input)
  const own = asGeneration(c.observedGeneration)
  if (own !== undefined) return own >= gen
  const top = observedGeneration(input.object)
  if (top !== undefined) return top >= gen
  if (gen <= 1) return true
  if (input.since === undefined || typeof c.lastTransitionTime !== 'string') return false
  // lastTransitionTime has second precision: compare whole seconds.
  return Math.floor(Date.parse(c.lastTransitionTime) / 1000) >= Math.floor(Date.parse(input.since) / 1000)
}

export function hasStatus (obj: K8sObject): boolean {
  return isPlain(obj.status) && Object.keys(obj.status).length > 0
}

/** "Reason: message" for a result's message when both are known. */
export function describe (c: Condition | undefined): { reason?: string, message?: string } {
  if (c === undefined) return {}
  return {
    ...(typeof c.reason === 'string' && c.reason !== '' ? { reason: c.reason } : {}),
    ...(typeof c.message === 'string' && c.message !== '' ? { message: c.message } : {})
  }
}
