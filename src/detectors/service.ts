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
    // (An audit body is anyone's JSON: a uid that is not a string is no uid.)
    const uid: unknown = ep?.targetRef?.uid
    const pod = ep?.targetRef?.kind === 'Pod' ? (typeof uid === 'string' ? uid : `name:${String(ep.targetRef.name)}`) : undefined
    for (const a of Array.isArray(ep?.addresses) ? ep.addresses : []) if (typeof a === 'string') out.set(a, pod)
  }
  return out
}

export function selectorMatches (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined || labels === undefined) return false
  const entries = Object.entries(selector)
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v)
}

/** What a Service offers its clients: the addresses and ports they hold. Plain data, in a change's details. */
export interface ServiceProfile {
  type: string
  clusterIPs: string[]
  ports: string[]
  selector?: Record<string, string>
  loadBalancerIPs: string[]
  externalName?: string
}

/** A port as `kubectl get svc` shows it: `80/TCP`, `80:31380/TCP` with a node port (the target port is the pods' business). */
function portText (p: any): string {
  const node = typeof p?.nodePort === 'number' ? `:${String(p.nodePort)}` : ''
  return `${String(p?.port ?? '?')}${node}/${String(p?.protocol ?? 'TCP')}`
}

export function describePorts (ports: unknown[]): string[] { return ports.map(portText) }

export function serviceProfile (svc: K8sObject | undefined): ServiceProfile | undefined {
  const spec = svc?.spec
  if (spec === undefined || spec === null) return undefined
  const ips: string[] = Array.isArray(spec.clusterIPs) ? spec.clusterIPs.map(String) : typeof spec.clusterIP === 'string' && spec.clusterIP !== '' ? [spec.clusterIP] : []
  const p: ServiceProfile = {
    type: typeof spec.type === 'string' ? spec.type : 'ClusterIP',
    clusterIPs: ips,
    ports: Array.isArray(spec.ports) ? spec.ports.map(portText) : [],
    loadBalancerIPs: lbIngress(svc)
  }
  if (spec.selector !== undefined && spec.selector !== null && typeof spec.selector === 'object') p.selector = { ...spec.selector }
  if (typeof spec.externalName === 'string') p.externalName = spec.externalName
  return p
}

const list = (xs: string[]): string => xs.length === 0 ? '∅' : xs.join(', ')
const sel = (s: Record<string, string> | undefined): string => s === undefined || Object.keys(s).length === 0 ? '∅' : Object.entries(s).map(([k, v]) => `${k}=${v}`).join(',')

/** One line: `ClusterIP 10.96.0.12, port 80/TCP, selector app=web` (load-balancer IPs when there are). */
export function describeService (p: ServiceProfile): string {
  const parts = [p.type === 'ExternalName' ? `ExternalName ${p.externalName ?? '?'}` : `${p.type} ${p.clusterIPs.length > 0 ? p.clusterIPs.join(', ') : 'None'}`]
  if (p.ports.length > 0) parts.push(`${p.ports.length > 1 ? 'ports' : 'port'} ${p.ports.join(', ')}`)
  if (p.loadBalancerIPs.length > 0) parts.push(`load-balancer IP ${p.loadBalancerIPs.join(', ')}`)
  if (p.selector !== undefined) parts.push(`selector ${sel(p.selector)}`)
  return parts.join(', ')
}

/** What moved between two profiles, in a person's words: `cluster IP 10.96.12.3 → 10.96.77.201`. */
export function serviceMoves (a: ServiceProfile | undefined, b: ServiceProfile | undefined): string[] {
  if (a === undefined || b === undefined) return []
  const out: string[] = []
  if (a.type !== b.type) out.push(`type ${a.type} → ${b.type}`)
  if (list(a.clusterIPs) !== list(b.clusterIPs)) out.push(`cluster IP ${list(a.clusterIPs)} → ${list(b.clusterIPs)}`)
  if (list(a.ports) !== list(b.ports)) out.push(`ports ${list(a.ports)} → ${list(b.ports)}`)
  if (list(a.loadBalancerIPs) !== list(b.loadBalancerIPs)) out.push(`load-balancer IP ${list(a.loadBalancerIPs)} → ${list(b.loadBalancerIPs)}`)
  if (sel(a.selector) !== sel(b.selector)) out.push(`selector ${sel(a.selector)} → ${sel(b.selector)}`)
  if ((a.externalName ?? '') !== (b.externalName ?? '')) out.push(`external name ${a.externalName ?? '∅'} → ${b.externalName ?? '∅'}`)
  return out
}
