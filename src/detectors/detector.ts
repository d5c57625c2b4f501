import type { ChangeDetails, ChangeType, K8sObject, Observation, Outcome } from '../model.js'
import type { Open } from '../correlate/open.js'
import type { ObjectInfo, RootRef } from '../correlate/owners.js'
import type { KindsConfig } from './status/index.js'

// One detector per family of kinds, like an ESLint rule or a kstatus status
// function: it says which kinds it owns, which writes open a change, how
// evidence moves an open change, when it is done, and what it adds to the
// report. The correlator routes (dedup → root → window → detector) and keeps
// the state; a detector only reads and writes the plain-data Open it is given
// and asks the correlator for the rest through this context.

/** The few correlator operations a detector needs. */
export interface DetectorContext {
  /** Open a change keyed by root (it records obs as its first evidence). */
  open: (obs: Observation, root: RootRef, type: ChangeType, idRev: string, before: K8sObject | undefined) => Open
  /** Open a change without recording obs yet: for a detector that folds other changes in before the first evidence. */
  begin: (obs: Observation, root: RootRef, type: ChangeType, idRev: string, before: K8sObject | undefined) => Open
  close: (open: Open, outcome: Outcome) => void
  /** Record obs on the change; `extend` pushes a settled change's quiet period out. */
  evidence: (open: Open, obs: Observation, extend: boolean) => void
  /** Close once the quiet period after the last evidence has passed. */
  settleLater: (open: Open) => void
  /** Close at this time, whatever evidence comes (a deadline). */
  setSettle: (open: Open, at: number) => void
  /** The change names other objects (a Certificate's Secret): index them so their writes join it. */
  noteRefs: (open: Open) => void
  /** The revision that makes a change id stable across sources. */
  rev: (obs: Observation) => string
  /** Per-kind status rules (config `kinds:`). */
  readonly kinds: KindsConfig | undefined
  /** How many timeline entries a change keeps. */
  readonly maxTimeline: number
  /** The open change under this key (counts as a use). */
  get: (key: string) => Open | undefined
  /** The same without counting as a use. */
  peek: (key: string) => Open | undefined
  /** Every open change: a scan, for rare paths only. */
  opens: () => Open[]
  /** Take a change out of the window unreported: it was folded into another. */
  drop: (open: Open) => void
  /** What the object index knows of a uid. */
  known: (uid: string) => ObjectInfo | undefined
  uidByName: (kind: string, namespace: string, name: string) => string | undefined
  /** The root an object's controller owner references lead to. */
  rootOf: (uid: string, ref: { kind: string, namespace: string, name: string }) => RootRef
  /** This detector's own state in this correlator (see Detector.createState). */
  stateOf: (detector: Detector) => unknown
}

/** A write routed to its detector: the key of the change it moved, undefined when none, NOT_MINE to fall through. */
export const NOT_MINE = Symbol('not mine')
export type Routed = string | undefined | typeof NOT_MINE

/**
 * State a detector keeps beside the open changes (a Service's EndpointSlices),
 * one per correlator, written into the snapshot as top-level plain-data
 * sections (dump's keys are CorrelatorState keys).
 */
export interface DetectorState {
  dump: () => Record<string, unknown>
  load: (state: Record<string, unknown>) => void
}

export interface Detector {
  name: string
  /** By kind and API group; the registry asks each detector in order, so a later one may own everything. */
  owns: (kind: string, group: string) => boolean
  /** One fresh state per correlator, when the detector keeps any. */
  createState?: () => DetectorState
  /**
   * A write that is not about a root object of its own (an EndpointSlice is a
   * Service's): routed to the detector before root resolution, a first list's
   * objects too (as updates). `key` is the uid or the name key the object is indexed by.
   */
  observe?: (ctx: DetectorContext, obs: Observation, key: string, before: K8sObject | undefined) => string | undefined
  /** A source's first list: an object already mid-change is picked up (never a change of its own). */
  baseline?: (ctx: DetectorContext, obs: Observation & { object: K8sObject }, root: RootRef) => void
  /** Any write to the root object itself but a delete: a create, a change of desired state, a status write. */
  onWrite?: (ctx: DetectorContext, obs: Observation, root: RootRef, before: K8sObject | undefined, existing: Open | undefined) => Routed
  /** A delete of the root object. */
  onDelete?: (ctx: DetectorContext, obs: Observation, root: RootRef, before: K8sObject | undefined, existing: Open | undefined) => Routed
  /**
   * Whether an operator (a service account outside kube-system) runs objects
   * of this kind: its writes to their children are the controller at work,
   * not a person acting on a child.
   */
  operated?: (kind: string, group: string) => boolean
  /** Root writes of kinds this detector does not own that may still belong to one of its changes (a Certificate's Secret). */
  joins?: (kind: string, group: string) => boolean
  /** The open change such a write belongs to (it is evidence there, never a change of its own). */
  claim?: (ctx: DetectorContext, obs: Observation) => Open | undefined
  /** Index what an open change names (ctx.noteRefs; the correlator also calls it for every change it loads). */
  noteRefs?: (ctx: DetectorContext, open: Open) => void
  /** A controller's write to a child of an open change (a ReplicaSet of a rollout), before it is recorded. */
  onChild?: (ctx: DetectorContext, open: Open, obs: Observation) => void
  /** Evidence moved an open change: decide whether it is done, failed or still waiting. */
  progress?: (ctx: DetectorContext, open: Open) => void
  /** What the report says of this kind (diff, images, addresses): false when there is nothing to report. */
  details?: (ctx: DetectorContext, open: Open, details: ChangeDetails) => boolean
  /** The change's own clock, when the object reports one better than the observations'. */
  span?: (open: Open) => { startedAt: number, endedAt: number } | undefined
}
