import type { Change, ImageChange } from '../model.js'
import { describePorts, describeService, serviceMoves, type ServiceProfile } from './service.js'

// The one line a person reads first. Built only from the Change itself.

export function formatDuration (ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 120) return `${s} s`
  const m = Math.round(s / 60)
  if (m < 120) return `${m} min`
  const h = Math.floor(m / 60)
  return `${h} h ${m % 60} min`
}

function images (list: ImageChange[] | undefined): string {
  if (list === undefined || list.length === 0) return ''
  const parts = list.map(i => list.length > 1 ? `${i.container} ${i.from ?? '∅'} → ${i.to ?? '∅'}` : `${i.from ?? '∅'} → ${i.to ?? '∅'}`)
  return `, image ${parts.join(', ')}`
}

function by (c: Change): string {
  return c.actor === null ? '' : `, by ${c.actor.username}`
}

function availability (c: Change): string {
  const r = c.details.replicas
  if (r === undefined || r.desired === undefined) return ''
  return `, ${r.available ?? r.ready ?? 0}/${r.desired} available`
}

export function summarize (c: Change): string {
  const obj = c.object.namespace === '' ? c.object.name : `${c.object.namespace}/${c.object.name}`
  const who = `${c.object.kind} ${obj}`
  const dur = formatDuration(c.durationMs)
  const ending = (): string => {
    switch (c.outcome) {
      case 'succeeded': return `${availability(c)} in ${dur}`
      case 'failed': return `, failed after ${dur}${c.details.reason !== undefined ? `: ${c.details.reason}` : ''}`
      case 'timed-out': return `, not finished after ${dur} (timed out)`
      case 'open': return `, still in progress after ${dur}`
      default: return ''
    }
  }
  // A superseded change without a revision (a DaemonSet's, a create's) is named as what is known of it, never "revision ?".
  const known = (c.details.superseded ?? []).filter(s => s.revision !== undefined).map(s => s.revision)
  const unknown = (c.details.superseded ?? []).length - known.length
  const sup = known.length > 0
    ? ` (superseding revision ${known.join(', ')}${unknown > 0 ? ` and ${unknown} unfinished` : ''})`
    : unknown > 0 ? ` (superseding ${unknown === 1 ? 'an unfinished rollout' : `${unknown} unfinished rollouts`})` : ''
  switch (c.type) {
    case 'rollout': {
      const rev = c.details.revision !== undefined ? ` revision ${c.details.revision}` : ''
      return `${who} rolled out${rev}${sup}${images(c.details.images)}${by(c)}${ending()}`
    }
    case 'restart': return `${who} restarted${c.details.revision !== undefined ? `, revision ${c.details.revision}` : ''}${by(c)}${ending()}`
    case 'scale': {
      const r = c.details.replicas
      const fromTo = r?.from !== undefined && r.to !== undefined ? ` ${r.from} → ${r.to}` : r?.to !== undefined ? ` to ${r.to}` : ''
      return `${who} scaled${fromTo}${by(c)}${ending()}`
    }
    case 'create': {
      const svc = c.details.service
      if (c.details.recreated !== undefined) {
        // What clients holding the old address need to know comes first.
        const moves = c.details.recreated.moves
        return `${who} re-created${by(c)}: ${moves.length > 0 ? moves.join(', ') : 'same addresses'}${svc !== undefined ? ` (${describeService(svc)})` : ''}`
      }
      return `${who} created${by(c)}${ending()}${svc !== undefined ? `: ${describeService(svc)}` : ''}`
    }
    case 'delete': return `${who} deleted${by(c)}${c.details.service !== undefined ? `: was ${describeService(c.details.service)}` : ''}`
    case 'update': {
      const k = c.details.keys
      const keys = k !== undefined ? [...k.added.map(x => `+${x}`), ...k.removed.map(x => `−${x}`), ...k.changed.map(x => `~${x}`)] : []
      const moves = c.details.service !== undefined ? serviceMovesOf(c) : []
      const what = keys.length > 0
        ? `: keys ${keys.join(' ')}`
        : moves.length > 0
          ? `: ${moves.join(', ')}${c.details.service !== undefined && !moves.some(m => m.startsWith('cluster IP')) ? ` (${c.details.service.type} ${c.details.service.clusterIPs.join(', ') || 'None'})` : ''}`
        : c.details.diff !== undefined && c.details.diff.length > 0 ? `: ${c.details.diff.slice(0, 3).map(d => d.path).join(', ')}${c.details.diff.length > 3 ? ` and ${c.details.diff.length - 3} more` : ''}` : ''
      // A custom resource's change ends by its status rule: say how.
      const end = c.outcome === 'succeeded' || c.outcome === 'failed' || (c.outcome === 'timed-out' && c.details.reason !== undefined) ? ending() : ''
      return `${who} updated${by(c)}${what}${end}`
    }
    case 'endpoints': {
      const e = c.details.endpoints?.[0]
      const moves = e === undefined ? '' : ` ${[...e.added.map(a => `+${a}`), ...e.removed.map(r => `−${r}`)].join(' ')}`
      return `${obj} endpoints changed${moves}`
    }
    case 'job': {
      if (c.outcome === 'succeeded') return `${who} succeeded in ${dur}${by(c)}`
      if (c.outcome === 'failed') return `${who} failed after ${dur}${c.details.reason !== undefined ? `: ${c.details.reason}` : ''}${by(c)}`
      return `${who} run${by(c)}${ending()}`
    }
  }
}

/** A Service update's moves, from the diff of the fields its clients use. */
function serviceMovesOf (c: Change): string[] {
  const now = c.details.service as ServiceProfile
  const before: ServiceProfile = structuredClone(now)
  for (const d of c.details.diff ?? []) {
    const from = d.from as any
    switch (d.path) {
      case 'spec.type': before.type = typeof from === 'string' ? from : 'ClusterIP'; break
      case 'spec.clusterIPs': before.clusterIPs = Array.isArray(from) ? from.map(String) : []; break
      case 'spec.clusterIP': if (!(c.details.diff ?? []).some(x => x.path === 'spec.clusterIPs')) before.clusterIPs = typeof from === 'string' ? [from] : []; break
      case 'spec.ports': before.ports = Array.isArray(from) ? describePorts(from) : []; break
      case 'spec.selector': if (from === undefined) delete before.selector; else before.selector = from; break
      case 'status.loadBalancer.ingress': before.loadBalancerIPs = Array.isArray(from) ? from.map(String) : []; break
      case 'spec.externalName': if (typeof from === 'string') before.externalName = from; else delete before.externalName; break
    }
  }
  return serviceMoves(before, now)
}
