import type { K8sObject, Observation, Source } from '../model.js'
import type { Open } from '../correlate/open.js'
import { SERVICE_NAME_LABEL, type RootRef } from '../correlate/owners.js'
import { readyAddresses, selectorMatches } from './service.js'
import { WORKLOAD_CHANGE } from './workload.js'
import type { Detector, DetectorContext, DetectorState } from './detector.js'

// A Service's endpoints: the union of the ready addresses of its
// EndpointSlices. A move is folded into the change that explains it (a
// rollout of a workload behind the Service, or the Service's own create,
// edit or delete); one nothing explains is an `endpoints` change of its own,
// keyed by the Service plus '#endpoints'.

/** Slice key → ready address → pod ref; Service key → its slice keys. Snapshot sections `slices` and `serviceSlices`. */
export class EndpointSlices implements DetectorState {
  readonly slices = new Map<string, Map<string, string | undefined>>()
  readonly serviceSlices = new Map<string, Set<string>>()

  dump (): { slices: Array<[string, Array<[string, string | null]>]>, serviceSlices: Array<[string, string[]]> } {
    return {
      slices: [...this.slices].map(([k, m]) => [k, [...m].map(([a, p]) => [a, p ?? null])]),
      serviceSlices: [...this.serviceSlices].map(([k, set]) => [k, [...set]])
    }
  }

  load (st: Record<string, unknown>): void {
    const { slices, serviceSlices } = st as ReturnType<EndpointSlices['dump']>
    for (const [k, pairs] of slices) this.slices.set(k, new Map(pairs.map(([a, p]) => [a, p ?? undefined])))
    for (const [k, keys] of serviceSlices) this.serviceSlices.set(k, new Set(keys))
  }

  union (svcKey: string): Map<string, string | undefined> {
    const out = new Map<string, string | undefined>()
    for (const s of this.serviceSlices.get(svcKey) ?? []) for (const [a, p] of this.slices.get(s) ?? []) out.set(a, p)
    return out
  }
}

function fold (open: Open, service: string, oldUnion: Map<string, unknown>, newUnion: Map<string, unknown>): void {
  let f = open.folds[service]
  if (f === undefined) open.folds[service] = f = { service, baseline: [...oldUnion.keys()], current: [] }
  f.current = [...newUnion.keys()]
}

/** An open change of the Service itself or of a workload that backs it explains endpoint moves. */
function explaining (ctx: DetectorContext, svc: RootRef, pods: Array<string | undefined>): Open | undefined {
  for (const pod of pods) {
    if (pod === undefined || pod.startsWith('name:')) continue
    const info = ctx.known(pod)
    if (info === undefined) continue
    const open = ctx.get(ctx.rootOf(pod, info).key)
    if (open !== undefined && WORKLOAD_CHANGE.has(open.type)) return open
  }
  // A Service created or edited moments ago explains its endpoints only when no workload does.
  const own = (): Open | undefined => {
    const o = ctx.get(svc.key)
    return o !== undefined && (o.type === 'create' || o.type === 'update' || o.type === 'delete') ? o : undefined
  }
  const selector = ctx.known(svc.uid)?.snapshot?.spec?.selector as Record<string, string> | undefined
  if (selector === undefined) return own()
  for (const open of ctx.opens()) {
    if (!WORKLOAD_CHANGE.has(open.type) || open.root.namespace !== svc.namespace) continue
    const labels = (open.latest ?? ctx.known(open.root.uid)?.snapshot)?.spec?.template?.metadata?.labels
    if (selectorMatches(selector, labels)) return open
  }
  return own()
}

/**
 * Endpoint moves can arrive before the workload change that explains them
 * (informers resume in any order): an open endpoints change of a Service
 * this workload backs folds into it, keeping its baseline.
 */
export function adoptEndpoints (ctx: DetectorContext, open: Open, obj: K8sObject | undefined): void {
  const labels = (obj ?? ctx.known(open.root.uid)?.snapshot)?.spec?.template?.metadata?.labels
  if (labels === undefined) return
  for (const ep of ctx.opens()) {
    if (ep.type !== 'endpoints' || ep.root.namespace !== open.root.namespace) continue
    const selector = ctx.known(ep.root.uid)?.snapshot?.spec?.selector as Record<string, string> | undefined
    if (!selectorMatches(selector, labels)) continue
    ctx.drop(ep)
    for (const [svc, f] of Object.entries(ep.folds)) {
      const mine = open.folds[svc]
      if (mine === undefined) open.folds[svc] = f
      else mine.baseline = f.baseline
    }
    for (const [src, n] of Object.entries(ep.counts)) open.counts[src as Source] = (open.counts[src as Source] ?? 0) + n
    open.timeline.push(...ep.timeline.slice(0, Math.max(0, ctx.maxTimeline - open.timeline.length)))
  }
}

function onSlice (ctx: DetectorContext, obs: Observation, sliceKey: string, before: K8sObject | undefined): string | undefined {
  const st = ctx.stateOf(endpointsDetector) as EndpointSlices
  const svcName = obs.object?.metadata?.labels?.[SERVICE_NAME_LABEL] ?? before?.metadata?.labels?.[SERVICE_NAME_LABEL] ?? ctx.known(sliceKey)?.labels?.[SERVICE_NAME_LABEL]
  if (svcName === undefined) return undefined
  const ns = obs.ref.namespace
  const svcUid = ctx.uidByName('Service', ns, svcName)
  const svcKey = svcUid ?? `Service/${ns}/${svcName}`
  const known = st.slices.has(sliceKey)
  const oldUnion = st.union(svcKey)
  if (obs.action === 'delete') {
    st.slices.delete(sliceKey)
    st.serviceSlices.get(svcKey)?.delete(sliceKey)
  } else {
    if (obs.object === undefined) return undefined
    st.slices.set(sliceKey, readyAddresses(obs.object))
    let set = st.serviceSlices.get(svcKey)
    if (set === undefined) st.serviceSlices.set(svcKey, set = new Set())
    set.add(sliceKey)
  }
  // The first sight of a slice that already existed is the baseline, not a change.
  if (!known && obs.action !== 'create' && obs.action !== 'delete') return undefined
  const newUnion = st.union(svcKey)
  const added = [...newUnion.keys()].filter(a => !oldUnion.has(a))
  const removed = [...oldUnion.keys()].filter(a => !newUnion.has(a))
  const svcRoot: RootRef = { key: svcKey, uid: svcUid ?? '', kind: 'Service', namespace: ns, name: svcName }
  const by = explaining(ctx, svcRoot, [...added.map(a => newUnion.get(a)), ...removed.map(a => oldUnion.get(a))])
  if (by !== undefined) {
    ctx.evidence(by, obs, true)
    if (added.length + removed.length > 0) fold(by, `${ns}/${svcName}`, oldUnion, newUnion)
    return by.key
  }
  if (added.length + removed.length === 0) return undefined
  const epKey = `${svcKey}#endpoints`
  let open = ctx.get(epKey)
  if (open === undefined) {
    open = ctx.open({ ...obs, actor: undefined }, { ...svcRoot, key: epKey }, 'endpoints', ctx.rev(obs), undefined)
    open.pending = 'applied'
  } else {
    ctx.evidence(open, obs, true)
  }
  fold(open, `${ns}/${svcName}`, oldUnion, newUnion)
  ctx.settleLater(open)
  return open.key
}

export const endpointsDetector: Detector = {
  name: 'endpoints',
  owns: kind => kind === 'EndpointSlice',
  createState: () => new EndpointSlices(),
  observe: onSlice
}
