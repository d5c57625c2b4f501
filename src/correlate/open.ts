import type { Actor, ChangeDetails, ChangeType, K8sObject, Outcome, Source, TimelineEntry } from '../model.js'
import type { RootRef } from './owners.js'

// An open change: the state one detector's state machine keeps in the window.
export interface EndpointFold { service: string, baseline: string[], current: string[] }

export interface Open {
  key: string
  type: ChangeType
  root: RootRef
  openedBy: Source
  actor: Actor | null
  startedAt: number
  lastAt: number
  /** When set, the change closes with `pending` once the clock passes it. */
  settleAt: number | null
  pending: Outcome | null
  idRev: string
  before?: K8sObject
  latest?: K8sObject
  /** A write seen before any earlier state was known: which fields changed is unknown. */
  firstSight?: boolean
  tentative?: boolean
  replicasFrom?: number
  replicasTo?: number
  reason?: string
  message?: string
  /** When the detector's rule first held: the end of the change, before the quiet period. */
  doneAt?: number
  superseded: NonNullable<ChangeDetails['superseded']>
  counts: Partial<Record<Source, number>>
  /** In arrival order; dedup already makes each auditID reach a change once. */
  auditIDs: string[]
  timeline: TimelineEntry[]
  timelineDropped: number
  /** Service "namespace/name" → its endpoint fold. */
  folds: Record<string, EndpointFold>
  /** Event reason → what the Events said. */
  events: Record<string, { reason: string, message: string, count: number }>
  /** API group of the root (set for custom resources, whose kinds may collide with core ones: Knative's Service). */
  group?: string
  resource?: string
  /** The generation the opening write produced: the status must show it. */
  generation?: number
  /** A Service created again under a name just deleted: the uid it replaces (its delete is folded in). */
  replaces?: string
  /** Opened by a re-list diff (the time of the write is unknown). */
  relisted?: boolean
}
