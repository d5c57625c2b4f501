import type { Open } from '../correlate/open.js'
import { diffObjects } from './diff.js'
import { isCustomKind, judgeCustom, namesSecret, undecided } from './custom.js'
import { isSystemActor } from '../correlate/actors.js'
import { deleteChange } from './generic.js'
import type { Detector, DetectorContext, DetectorState } from './detector.js'

/**
 * "namespace/secret" → key of the open change naming it (spec.secretName).
 * Derived from the window (rebuilt when a snapshot loads), so nothing of it is dumped.
 */
class SecretRefs implements DetectorState {
  readonly refs = new Map<string, string>()
  dump (): Record<string, unknown> { return {} }
  load (): void {}
}

const secretRefs = (ctx: DetectorContext): SecretRefs => ctx.stateOf(customResourceDetector) as SecretRefs

/**
 * A custom resource: a create or a change of desired state opens a change
 * that the kind's status rule closes; status writes only move it. A delete is
 * every kind's delete, keeping the group: a Knative Service's is not a core Service's.
 */
export const customResourceDetector: Detector = {
  name: 'custom-resource',
  owns: isCustomKind,
  // An operator runs every custom resource: its writes to their children are the controller's.
  operated: () => true,
  createState: () => new SecretRefs(),
  joins: kind => kind === 'Secret',
  /**
   * cert-manager writes a Certificate's Secret, usually audited at Metadata
   * level (no body, so no ownerReference to follow): the open change of the
   * custom resource that names it (spec.secretName) is where it belongs.
   */
  claim (ctx, obs) {
    // (kube-system's controllers write token and bootstrap Secrets all day: never an operator's.)
    if (obs.actor?.username.startsWith('system:serviceaccount:') !== true || isSystemActor(obs.actor)) return undefined
    const { refs } = secretRefs(ctx)
    const ref = `${obs.ref.namespace}/${obs.ref.name}`
    const key = refs.get(ref)
    if (key === undefined) return undefined
    const open = ctx.peek(key)
    if (open !== undefined && open.group !== undefined && namesSecret(open.latest, obs.ref.name)) return ctx.get(key)
    // The change closed (or moved on to another Secret): forget the stale entry.
    refs.delete(ref)
    return undefined
  },
  noteRefs (ctx, open) {
    const name = open.group !== undefined ? open.latest?.spec?.secretName : undefined
    if (typeof name === 'string') secretRefs(ctx).refs.set(`${open.root.namespace}/${name}`, open.key)
  },
  onWrite (ctx, obs, root, before, existing) {
    const { kind, apiGroup } = obs.ref
    if (obs.action === 'status' || (existing !== undefined && obs.action !== 'create')) {
      if (existing === undefined) return undefined
      if (obs.action !== 'status' && (before === undefined || obs.object === undefined || diffObjects(before, obs.object, kind).length > 0)) {
        // A newer spec before the controller showed the older one in effect: the newer generation is what must show.
        const gen = obs.generation ?? obs.object?.metadata?.generation
        if (typeof gen === 'number') existing.generation = gen
      }
      ctx.evidence(existing, obs, true)
      customProgress(ctx, existing)
      return existing.key
    }
    if (obs.action === 'create') {
      if (existing !== undefined) ctx.close(existing, undecided(existing.pending) ?? 'open')
    } else if (before !== undefined && obs.object !== undefined && diffObjects(before, obs.object, kind).length === 0) {
      // Bookkeeping a controller writes to its own object (finalizers, annotations it owns): not a change.
      return undefined
    }
    const open = ctx.open(obs, root, obs.action === 'create' ? 'create' : 'update', ctx.rev(obs), obs.action === 'create' ? undefined : before)
    open.group = apiGroup
    open.resource = obs.ref.resource
    const gen = obs.generation ?? obs.object?.metadata?.generation
    if (typeof gen === 'number') open.generation = gen
    if (obs.action !== 'create') open.firstSight = before === undefined
    customProgress(ctx, open)
    return open.key
  },
  onDelete: (ctx, obs, root, before, existing) => deleteChange(ctx, obs, root, before, existing, obs.ref.apiGroup),
  progress: customProgress
}

function customProgress (ctx: DetectorContext, open: Open): void {
  ctx.noteRefs(open)
  if (open.pending === 'succeeded' || open.pending === 'failed') return
  const v = judgeCustom({
    kind: open.root.kind,
    group: open.group ?? '',
    ...(open.resource !== undefined ? { resource: open.resource } : {}),
    object: open.latest,
    ...(open.generation !== undefined ? { generation: open.generation } : {}),
    since: open.startedAt,
    ...(ctx.kinds !== undefined ? { kinds: ctx.kinds } : {})
  })
  if (v.pending === 'applied') {
    open.pending = 'applied'
    ctx.settleLater(open)
    return
  }
  if (v.reason !== undefined) open.reason = v.reason
  if (v.message !== undefined) open.message = v.message
  if (v.pending === 'timed-out') {
    if (open.pending !== 'timed-out') {
      open.pending = 'timed-out'
      // A deadline, which later evidence never moves.
      ctx.setSettle(open, open.startedAt + v.timeoutMs)
    }
    return
  }
  open.pending = v.pending
  open.doneAt = open.lastAt
  ctx.settleLater(open)
}
