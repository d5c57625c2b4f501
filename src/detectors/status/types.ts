import type { K8sObject } from '../../model.js'

// One interface for every per-kind status rule (kstatus's per-kind status
// functions, ESLint's rules): a pure function from the object after a change
// to how far that change has got. No I/O, no clock, no state.

/**
 * - `waiting`: not decided yet (in progress, or the status is from before the change);
 * - `succeeded` / `failed`: the status shows the change in effect, or its failure;
 * - `none`: the object carries nothing to judge by (no status, or none of the
 *   standard fields): the caller closes `applied` after the quiet period,
 *   unless a later status write of the same object moves it.
 */
export type StatusState = 'waiting' | 'succeeded' | 'failed' | 'none'

export interface StatusResult {
  state: StatusState
  /** A CamelCase reason (the controller's own when it gave one). */
  reason?: string
  message?: string
  /** A rule that could not be evaluated as written (a CEL result that is not a bool): log it once, the state is `waiting`. */
  problem?: string
}

export interface StatusInput {
  /** The object after the change (audit responseObject, watch object, a later status write). */
  object: K8sObject
  /** metadata.generation the change produced; absent → the object's own. */
  generation?: number
  /** When the change was made (RFC 3339): guards a Ready condition that carries no generation. */
  since?: string
}

export interface StatusRule {
  /** `generic`, the built-in's `group/Kind`, or the config key path (`kinds["widgets.example.com"]`). */
  name: string
  /** Seconds after which an undecided change closes `timed-out`; undefined → the caller's default. */
  timeoutSeconds?: number
  evaluate: (input: StatusInput) => StatusResult
}
