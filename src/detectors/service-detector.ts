import type { Observation, Source } from '../model.js'
import type { Open } from '../correlate/open.js'
import { diffObjects } from './diff.js'
import { lbIngress, serviceDiff, serviceMoves, serviceProfile } from './service.js'
import { updateChange, updateDetails, type DiffFn } from './generic.js'
import { endpointMoves } from './report.js'
import { NOT_MINE, type Detector, type DetectorContext } from './detector.js'

// Core Services: a create, edit or delete says what clients hold (cluster
// IPs, ports, type, selector, load-balancer IPs); a load-balancer IP moving is
// a change although it is status; a Service deleted and created again under
// the same name within the quiet period is one change, the re-created
// Service, with the address move spelled out.

/** The fields clients depend on first, then the rest of what was declared outside spec. */
export const serviceFullDiff: DiffFn = (kind, before, after) => [
  ...serviceDiff(before, after),
  ...diffObjects(before, after, kind).filter(x => !x.path.startsWith('spec.'))
]

/** A Service's change ids are by resourceVersion, never by generation (as they always were: ids stay stable across upgrades). */
export function serviceRev (obs: Observation): string {
  return obs.resourceVersion ?? obs.auditID ?? String(obs.at)
}

/** The open delete of a Service of this name (another uid): it is being re-created within the quiet period. */
function deletedService (ctx: DetectorContext, namespace: string, name: string, uid: string): Open | undefined {
  for (const o of ctx.opens()) {
    if (o.type === 'delete' && o.relisted !== true && o.root.kind === 'Service' && o.group === undefined && o.root.namespace === namespace && o.root.name === name && o.root.uid !== uid) return o
  }
  return undefined
}

/**
 * Every client holding the old address must be told: one change, the
 * re-created Service, with what moved; its delete is folded in, not sent.
 */
function recreated (ctx: DetectorContext, open: Open, deleted: Open): void {
  ctx.drop(deleted)
  open.replaces = deleted.root.uid
  const old = deleted.before ?? deleted.latest
  if (old !== undefined) open.before = old
  if (open.actor === null && deleted.actor !== null) open.actor = deleted.actor
  for (const [src, n] of Object.entries(deleted.counts)) open.counts[src as Source] = (open.counts[src as Source] ?? 0) + n
  open.auditIDs.unshift(...deleted.auditIDs.filter(id => !open.auditIDs.includes(id)))
  open.timeline.unshift(...deleted.timeline.slice(0, Math.max(0, ctx.maxTimeline - open.timeline.length)))
  open.startedAt = Math.min(open.startedAt, deleted.startedAt)
  for (const [svc, f] of Object.entries(deleted.folds)) open.folds[svc] ??= f
}

export const serviceDetector: Detector = {
  name: 'service',
  owns: (kind, group) => kind === 'Service' && group === '',
  onWrite (ctx, obs, root, before, existing) {
    if (obs.action === 'create') {
      if (existing !== undefined) ctx.close(existing, existing.pending ?? 'open')
      // A re-list shows a uid gone and a new one, not when: whether it was "within the quiet period" is unknown.
      const deleted = obs.relist !== true ? deletedService(ctx, obs.ref.namespace, obs.ref.name, root.uid) : undefined
      const open = ctx.open(obs, root, 'create', serviceRev(obs), undefined)
      if (deleted !== undefined) recreated(ctx, open, deleted)
      open.pending = 'applied'
      ctx.settleLater(open)
      return open.key
    }
    if (obs.action === 'status') {
      // A load-balancer IP moving is the "Service IP changed" case: a change even though it is status.
      if (obs.object === undefined || before === undefined || JSON.stringify(lbIngress(before)) === JSON.stringify(lbIngress(obs.object))) return NOT_MINE
    }
    return updateChange(ctx, obs, root, before, existing, serviceFullDiff, serviceRev)
  },
  details (_ctx, open, details) {
    if (open.type === 'endpoints') return endpointMoves(open).length > 0
    if (!updateDetails(open, details, serviceFullDiff)) return false
    const profile = serviceProfile(open.type === 'delete' ? open.before ?? open.latest : open.latest ?? open.before)
    if (profile !== undefined) details.service = profile
    if (open.replaces !== undefined) {
      details.recreated = { uid: open.replaces, moves: serviceMoves(serviceProfile(open.before), profile) }
      details.diff = serviceFullDiff(open.root.kind, open.before, open.latest)
    }
    return true
  }
}
