import type { ChangeType, K8sObject, Observation, Source } from '../model.js'
import type { Open } from '../correlate/open.js'
import type { RootRef } from '../correlate/owners.js'
import { isSystemActor } from '../correlate/actors.js'
import { classifyWorkloadWrite, imageChanges, replicaCounts, revisionOf, rolloutStatus, scaleStatus, WORKLOAD_CHANGE, WORKLOAD_KINDS, type RolloutStatus } from './workload.js'
import { isArgoRollout } from './custom.js'
import { statusRuleFor } from './status/index.js'
import { adoptEndpoints } from './endpoints.js'
import { kindDiff, updateDetails } from './generic.js'
import { NOT_MINE, type Detector, type DetectorContext } from './detector.js'

// Deployments, StatefulSets, DaemonSets and Argo Rollouts: a new pod template
// is a rollout (a restart when only kubectl's restartedAt moved), replicas
// alone a scale, anything else an update. A rollout or scale ends by
// kubectl's rollout-status rule (the Argo Rollout by its status rule); a newer
// template before the older finished supersedes it, in one report.

/** Open a workload change; `superseding` is the unfinished one it replaces (named in its report, never sent). */
function openWorkload (ctx: DetectorContext, obs: Observation, root: RootRef, type: ChangeType, before: K8sObject | undefined, superseding?: Open): Open {
  if (superseding !== undefined) ctx.drop(superseding)
  const open = ctx.begin(obs, root, type, ctx.rev(obs), before)
  if (superseding !== undefined) {
    open.superseded.push(...superseding.superseded, {
      revision: revisionOf(superseding.latest) ?? undefined,
      images: imageChanges(superseding.before, superseding.latest),
      actor: superseding.actor?.username ?? null
    })
    for (const [s, n] of Object.entries(superseding.counts)) open.counts[s as Source] = n
    open.auditIDs.push(...superseding.auditIDs)
    open.timeline.push(...superseding.timeline)
    open.folds = superseding.folds
  }
  if (WORKLOAD_CHANGE.has(type)) adoptEndpoints(ctx, open, obs.object)
  ctx.evidence(open, obs, false)
  return open
}

/** An Argo Rollout by its built-in rule, or the config's `kinds:` entry for rollouts.argoproj.io over it. */
function argoRollout (ctx: DetectorContext, obj: K8sObject): RolloutStatus {
  const r = statusRuleFor('Rollout', 'argoproj.io', ctx.kinds !== undefined ? { kinds: ctx.kinds } : {}, 'rollouts').evaluate({ object: obj })
  if (r.state === 'succeeded') return { state: 'done' }
  if (r.state === 'failed') return { state: 'failed', reason: r.reason ?? 'Degraded', message: r.message ?? '' }
  return { state: 'waiting' }
}

function progress (ctx: DetectorContext, open: Open): void {
  if (open.type === 'update' || open.type === 'delete') return
  const obj = open.latest
  if (obj === undefined) return
  const kind = open.root.kind
  let st: RolloutStatus
  if (open.type === 'scale') st = scaleStatus(obj, kind)
  else if (kind === 'Rollout') st = argoRollout(ctx, obj)
  else st = rolloutStatus(obj, kind)
  if (st.state === 'failed') {
    open.doneAt ??= open.lastAt
    open.pending = 'failed'
    open.reason = st.reason
    open.message = st.message
    ctx.settleLater(open)
  } else if (st.state === 'done' && open.pending === null) {
    open.doneAt = open.lastAt
    open.pending = 'succeeded'
    ctx.settleLater(open)
  }
}

function onUpdate (ctx: DetectorContext, obs: Observation, root: RootRef, before: K8sObject | undefined, existing: Open | undefined): string | undefined {
  const cls = obs.scale !== undefined ? 'scale' : classifyWorkloadWrite(before, obs.object, obs.request, obs.ref.kind)
  if (cls === 'none') {
    if (existing === undefined) return undefined
    ctx.evidence(existing, obs, true)
    progress(ctx, existing)
    return existing.key
  }
  if (cls === 'rollout' || cls === 'restart') {
    if (existing !== undefined && WORKLOAD_CHANGE.has(existing.type) && existing.pending === null && existing.type !== 'scale') {
      // A newer template before the older finished: one report, for the newer.
      const open = openWorkload(ctx, obs, root, cls, existing.before ?? before, existing)
      progress(ctx, open)
      return open.key
    }
    if (existing !== undefined && existing.type === 'scale' && existing.pending === null) {
      existing.type = cls
      existing.idRev = ctx.rev(obs)
      if (obs.actor !== undefined && !isSystemActor(obs.actor)) existing.actor = obs.actor
      ctx.evidence(existing, obs, true)
      progress(ctx, existing)
      return existing.key
    }
    if (existing !== undefined) ctx.close(existing, existing.pending ?? 'applied')
    const open = openWorkload(ctx, obs, root, cls, before)
    progress(ctx, open)
    return open.key
  }
  if (cls === 'scale') {
    const to = obs.scale?.replicas ?? obs.object?.spec?.replicas
    if (existing !== undefined && WORKLOAD_CHANGE.has(existing.type) && existing.pending === null) {
      existing.replicasTo = to
      ctx.evidence(existing, obs, true)
      progress(ctx, existing)
      return existing.key
    }
    if (existing !== undefined) ctx.close(existing, existing.pending ?? 'applied')
    const open = openWorkload(ctx, obs, root, 'scale', before)
    open.replicasFrom = before?.spec?.replicas
    open.replicasTo = to
    progress(ctx, open)
    return open.key
  }
  // 'update' or 'unknown'
  if (existing !== undefined) {
    ctx.evidence(existing, obs, true)
    if (existing.type === 'update') ctx.settleLater(existing)
    else progress(ctx, existing)
    return existing.key
  }
  const open = ctx.open(obs, root, 'update', ctx.rev(obs), before)
  if (cls === 'unknown') {
    open.tentative = true
    open.firstSight = true
  }
  open.pending = 'applied'
  ctx.settleLater(open)
  return open.key
}

export const workloadDetector: Detector = {
  name: 'workload',
  // (By kind alone, as before the detectors were modules: custom kinds are routed before this.)
  owns: kind => WORKLOAD_KINDS.has(kind),
  // Argo Rollouts' controller runs as a service account of its own.
  operated: isArgoRollout,
  baseline (ctx, obs, root) {
    // A rollout already in progress is picked up and reported when it ends.
    if (rolloutStatus(obs.object, obs.ref.kind).state !== 'waiting') return
    progress(ctx, openWorkload(ctx, obs, root, 'rollout', undefined))
  },
  onWrite (ctx, obs, root, before, existing) {
    if (obs.action === 'create') {
      // A kind named Rollout from another group is no workload of ours.
      if (obs.ref.kind === 'Rollout' && !isArgoRollout(obs.ref.kind, obs.ref.apiGroup)) return NOT_MINE
      if (existing !== undefined) ctx.close(existing, existing.pending ?? 'open')
      const open = openWorkload(ctx, obs, root, 'create', undefined)
      progress(ctx, open)
      return open.key
    }
    if (obs.action === 'status') {
      if (existing === undefined) return undefined
      ctx.evidence(existing, obs, true)
      progress(ctx, existing)
      return existing.key
    }
    return onUpdate(ctx, obs, root, before, existing)
  },
  onChild (_ctx, open, obs) {
    // The deployment controller creating a ReplicaSet proves a new template
    // when the write that opened the change could not be classified.
    if (open.tentative === true && obs.ref.kind === 'ReplicaSet' && obs.action === 'create') {
      open.type = 'rollout'
      open.tentative = false
    }
  },
  progress,
  details (_ctx, open, details) {
    if (!updateDetails(open, details, kindDiff)) return false
    if (open.type === 'delete' || open.type === 'update') return true
    const kind = open.root.kind
    const latest = open.latest
    const rev = revisionOf(latest)
    if (rev !== undefined && (kind === 'Deployment' || kind === 'Rollout')) details.revision = rev
    // A rollout picked up at start-up has no earlier template to compare with: no image claim.
    const images = open.type === 'create' || open.before !== undefined ? imageChanges(open.type === 'create' ? undefined : open.before, latest) : []
    if (images.length > 0 && open.type !== 'scale') details.images = images
    details.replicas = replicaCounts(latest, kind)
    if (open.replicasFrom !== undefined) details.replicas.from = open.replicasFrom
    if (open.replicasTo !== undefined) details.replicas.to = open.replicasTo
    return true
  }
}
