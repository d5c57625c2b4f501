import type { FieldDiff, K8sObject } from '../model.js'

// Services: the fields operators care about (cluster IPs, ports, type,
// selector, load-balancer ingress IPs) and EndpointSlices' ready addresses.

function norm (v: unknown): string { return JSON.stringify(v ?? null) }

export function lbIngress (svc: K8sObject | undefined): string[] {
  const ing = svc?.status?.loadBalancer?.ingress
  if (!Array.isArray(ing)) return []
  return ing.map((i: any) => String(i?.ip ?? i?.hostname ?? '')).filter(s => s !== '').sort()
}

/** Spec fields that matter and the load-balancer ingress (a status field that still is a change). */
export function serviceDiff (before: K8sObject | undefined, after: K8sObject | undefined): FieldDiff[] {
  const out: FieldDiff[] = []
  const fields: Array<[string, (s: K8sObject | undefined) => unknown]> = [
    ['spec.type', s => s?.spec?.type],
    ['spec.clusterIP', s => s?.spec?.clusterIP],
    ['spec.clusterIPs', s => s?.spec?.clusterIPs],
    ['spec.ports', s => s?.spec?.ports],
    ['spec.selector', s => s?.spec?.selector],
    ['spec.externalName', s => s?.spec?.externalName],
    ['spec.externalIPs', s => s?.spec?.externalIPs],
    ['spec.loadBalancerIP', s => s?.spec?.loadBalancerIP],
    ['status.loadBalancer.ingress', s => lbIngress(s)]
  ]
  for (const [path, get] of fields) {
    const a = get(before)
    const b = get(after)
    if (norm(a) !== norm(b)) {
      const d: FieldDiff = { path }
      if (a !== undefined) d.from = a
      if (b !== undefined) d.to = b
      out.push(d)
    }
  }
  return out
}

/** Ready addresses of an EndpointSlice; an endpoint with no ready condition counts as ready (API semantics). */
export function readyAddresses (slice: K8sObject | undefined): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>()
  const eps = slice?.endpoints
  if (!Array.isArray(eps)) return out
  for (const ep of eps) {
    if (ep?.conditions?.ready === false) continue
    const pod = ep?.targetRef?.kind === 'Pod' ? (ep.targetRef.uid as string | undefined) ?? `name:${String(ep.targetRef.name)}` : undefined
    for (const a of Array.isArray(ep?.addresses) ? ep.addresses : []) if (typeof a === 'string') out.set(a, pod)
  }
  return out
}

export function selectorMatches (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined || labels === undefined) return false
  const entries = Object.entries(selector)
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v)
}
