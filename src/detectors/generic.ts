import type { ChangeDetails, FieldDiff, K8sObject, Observation } from '../model.js'
import type { Open } from '../correlate/open.js'
import type { RootRef } from '../correlate/owners.js'
import { isSensitiveKind } from '../sources/kinds.js'
import { diffObjects, keyChanges } from './diff.js'
import { undecided } from './custom.js'
import type { Detector, DetectorContext } from './detector.js'

// Every kind: a create or a change of desired state is applied once the quiet
// period passes; a delete closes what was open on the object and is a change
// of its own (the cascade that follows lands in it). Last in the registry,
// and the building blocks the other detectors reuse for their plain updates.

/** Which declared fields changed between two states (a detector may weigh some fields more). */
export type DiffFn = (kind: string, before: K8sObject | undefined, after: K8sObject | undefined) => FieldDiff[]

export const kindDiff: DiffFn = (kind, before, after) => diffObjects(before, after, kind)

/** A write to desired state: one `update` change, or more evidence for the one open. */
export function updateChange (ctx: DetectorContext, obs: Observation, root: RootRef, before: K8sObject | undefined, existing: Open | undefined, diff: DiffFn, rev: (obs: Observation) => string): string | undefined {
  if (existing !== undefined) {
    ctx.evidence(existing, obs, true)
    if (existing.pending !== null) ctx.settleLater(existing)
    return existing.key
  }
  if (before !== undefined && obs.object !== undefined && diff(obs.ref.kind, before, obs.object).length === 0) {
    // A write that changed nothing a person declared (bookkeeping, a no-op apply).
    return undefined
  }
  const open = ctx.open(obs, root, 'update', rev(obs), before)
  open.firstSight = before === undefined
  open.pending = 'applied'
  ctx.settleLater(open)
  return open.key
}

/** A delete: what was open on the object closes, the delete opens (`group` keeps a custom kind's delete its own). */
export function deleteChange (ctx: DetectorContext, obs: Observation, root: RootRef, before: K8sObject | undefined, existing: Open | undefined, group?: string): string {
  if (existing?.type === 'delete') {
    // The same delete seen by the other source (audit's Status carries no resourceVersion to merge on).
    ctx.evidence(existing, obs, true)
    return existing.key
  }
  if (existing !== undefined) ctx.close(existing, undecided(existing.pending) ?? (existing.type === 'update' || existing.type === 'create' ? 'applied' : 'failed'))
  const open = ctx.open(obs, root, 'delete', 'delete', before)
  if (group !== undefined) open.group = group
  if (obs.relist === true) open.relisted = true
  open.pending = 'applied'
  ctx.settleLater(open)
  return open.key
}

/** The diff of an update (false: changed and changed back, nothing to report) and a sensitive kind's key changes. */
export function updateDetails (open: Open, details: ChangeDetails, diff: DiffFn): boolean {
  const kind = open.root.kind
  const latest = open.latest
  if (open.type === 'update') {
    if (!(open.firstSight ?? false) || open.before !== undefined) {
      const d = diff(kind, open.before, latest)
      // Changed and changed back within the quiet period: nothing to report.
      if (d.length === 0 && open.before !== undefined && latest !== undefined) return false
      details.diff = d
    }
    if (isSensitiveKind(kind) && open.before !== undefined && latest !== undefined) details.keys = keyChanges(open.before, latest)
  }
  if (open.type === 'create' && isSensitiveKind(kind) && latest !== undefined) details.keys = keyChanges(undefined, latest)
  return true
}

export const genericDetector: Detector = {
  name: 'generic',
  owns: () => true,
  onWrite (ctx, obs, root, before, existing) {
    if (obs.action === 'create') {
      if (existing !== undefined) ctx.close(existing, existing.pending ?? 'open')
      const open = ctx.open(obs, root, 'create', ctx.rev(obs), undefined)
      open.pending = 'applied'
      ctx.settleLater(open)
      return open.key
    }
    if (obs.action === 'status') {
      // A status write only moves what is open.
      if (existing === undefined) return undefined
      ctx.evidence(existing, obs, true)
      return existing.key
    }
    return updateChange(ctx, obs, root, before, existing, kindDiff, ctx.rev)
  },
  onDelete: (ctx, obs, root, before, existing) => deleteChange(ctx, obs, root, before, existing),
  details: (_ctx, open, details) => updateDetails(open, details, kindDiff)
}
