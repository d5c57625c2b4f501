import type { K8sObject, Outcome } from '../model.js'
import { statusRuleFor, type KindsConfig } from './status/index.js'

// Custom resources (and any kind from a group Kubernetes does not ship): a
// create or spec change ends when the kind's status rule says so — the
// built-in rule, the config's CEL rule, or the generic kstatus-style one.
// Pure: the correlator keeps the open change, this only judges it.

/** API groups served by kube-apiserver itself: their kinds have detectors of their own (or none). */
export function isBuiltinGroup (group: string): boolean {
  return group === '' || group === 'apps' || group === 'batch' || group === 'autoscaling' || group === 'policy' ||
    group.endsWith('.k8s.io') || group === 'apiregistration.k8s.io'
}

/** The Argo Rollout is a workload (pod template, ReplicaSets), handled with the Deployments. */
export function isArgoRollout (kind: string, group: string): boolean {
  return kind === 'Rollout' && group === 'argoproj.io'
}

export function isCustomKind (kind: string, group: string): boolean {
  return !isBuiltinGroup(group) && !isArgoRollout(kind, group)
}

/** How long a custom resource's change may stay undecided before it closes `timed-out`. */
export const DEFAULT_CUSTOM_TIMEOUT_S = 600

export type CustomVerdict =
  | { pending: 'succeeded' | 'failed', reason?: string, message?: string }
  /** Nothing to judge by: closes `applied` after the quiet period. */
  | { pending: 'applied' }
  /** Undecided: closes `timed-out` at the deadline unless a status write decides it first. */
  | { pending: 'timed-out', timeoutMs: number, reason?: string, message?: string }

export interface CustomInput {
  kind: string
  group: string
  resource?: string
  object: K8sObject | undefined
  /** The generation the change produced. */
  generation?: number
  /** When the change was made (ms). */
  since: number
  kinds?: KindsConfig
}

const opt = (k: 'reason' | 'message', v: string | undefined): Partial<Record<'reason' | 'message', string>> => v !== undefined && v !== '' ? { [k]: v } : {}

export function judgeCustom (input: CustomInput): CustomVerdict {
  const rule = statusRuleFor(input.kind, input.group, { ...(input.kinds !== undefined ? { kinds: input.kinds } : {}) }, input.resource)
  // An audit event at Metadata level carries no body: there is nothing to judge, as for a kind without status.
  if (input.object === undefined) return { pending: 'applied' }
  const r = rule.evaluate({ object: input.object, ...(input.generation !== undefined ? { generation: input.generation } : {}), since: new Date(input.since).toISOString() })
  if (r.state === 'succeeded' || r.state === 'failed') return { pending: r.state, ...opt('reason', r.reason), ...opt('message', r.message) }
  if (r.state === 'none') return { pending: 'applied' }
  return { pending: 'timed-out', timeoutMs: (rule.timeoutSeconds ?? DEFAULT_CUSTOM_TIMEOUT_S) * 1000, ...opt('reason', r.reason), ...opt('message', r.message) }
}

/** What an undecided change closes as when the input ends (replay) or the object goes away. */
export function undecided (pending: Outcome | null): Outcome | null {
  return pending === 'timed-out' ? 'open' : pending
}

/** Whether a custom resource declares this Secret as the one its controller writes (cert-manager's spec.secretName). */
export function namesSecret (obj: K8sObject | undefined, name: string): boolean {
  return typeof obj?.spec?.secretName === 'string' && obj.spec.secretName === name
}
