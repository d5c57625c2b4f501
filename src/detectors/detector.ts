import type { ChangeType, K8sObject, Observation, Outcome } from '../model.js'
import type { Open } from '../correlate/open.js'
import type { RootRef } from '../correlate/owners.js'
import type { KindsConfig } from './status/index.js'

// One detector per family of kinds, like an ESLint rule or a kstatus status
// function: it says which kinds it owns, which writes open a change, how
// evidence moves an open change, when it is done, and what it adds to the
// report. The correlator routes (dedup → root → window → detector) and keeps
// the state; a detector only reads and writes the plain-data Open it is given.

/** The few correlator operations a detector needs. */
export interface DetectorContext {
  /** Open a change keyed by root (it records obs as its first evidence). */
  open: (obs: Observation, root: RootRef, type: ChangeType, idRev: string, before: K8sObject | undefined) => Open
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
}

/** A write routed to its detector: the key of the change it moved, undefined when none, NOT_MINE to fall through. */
export const NOT_MINE = Symbol('not mine')
export type Routed = string | undefined | typeof NOT_MINE

export interface Detector {
  name: string
  owns: (kind: string, group: string) => boolean
  /** A source's first list: an object already mid-change is picked up (never a change of its own). */
  baseline?: (ctx: DetectorContext, obs: Observation & { object: K8sObject }, root: RootRef) => void
  /** Any write to the root object itself but a delete: a create, a change of desired state, a status write. */
  onWrite?: (ctx: DetectorContext, obs: Observation, root: RootRef, before: K8sObject | undefined, existing: Open | undefined) => Routed
  /** Evidence moved an open change: decide whether it is done, failed or still waiting. */
  progress?: (ctx: DetectorContext, open: Open) => void
  /** The change's own clock, when the object reports one better than the observations'. */
  span?: (open: Open) => { startedAt: number, endedAt: number } | undefined
}
