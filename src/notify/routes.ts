// Pure routing: which sinks (and, for e-mail, which recipients) a change goes
// to. Every route whose criteria all match contributes its sinks; a route
// that matches but lists the change's type in quietTypes sends nothing (and
// still counts as matched, so the default route does not pick the change up).
// When no route matched, the default sinks get it.

import type { Change } from '../model.js'
import type { NotifyConfig, RouteMatch } from './config.js'
import type { DigestConfig } from './digest.js'

export interface RouteTarget {
  sink: string
  /** Recipients for an e-mail sink; absent: the sink's own. */
  to?: string[]
  /** Collect into a digest: the first matching route's, else the sink's own. */
  digest?: DigestConfig
}

const globCache = new Map<string, RegExp>()

function globRegExp (glob: string): RegExp {
  let re = globCache.get(glob)
  if (!re) {
    const src = glob.split('').map(c => c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')).join('')
    re = new RegExp(`^${src}$`)
    if (globCache.size > 1000) globCache.clear()
    globCache.set(glob, re)
  }
  return re
}

/** `*` matches any run of characters (also none), `?` one character. */
export function globMatch (glob: string, value: string): boolean {
  return globRegExp(glob).test(value)
}

/** Globs with `!`-prefixed exclusions: matches when some positive glob (or none are given) matches and no exclusion does. */
export function globsMatch (globs: readonly string[], value: string): boolean {
  let positives = 0
  let hit = false
  for (const g of globs) {
    if (g.startsWith('!')) {
      if (globMatch(g.slice(1), value)) return false
    } else {
      positives++
      if (!hit && globMatch(g, value)) hit = true
    }
  }
  return positives === 0 || hit
}

export function routeMatches (match: RouteMatch, change: Change): boolean {
  if (match.namespace && !globsMatch(match.namespace, change.object.namespace ?? '')) return false
  if (match.name && !globsMatch(match.name, change.object.name ?? '')) return false
  if (match.kind && !match.kind.some(k => k.toLowerCase() === (change.object.kind ?? '').toLowerCase())) return false
  if (match.type && !match.type.includes(change.type)) return false
  if (match.outcome && !match.outcome.includes(change.outcome)) return false
  if (match.actor && !globsMatch(match.actor, change.actor?.username ?? '')) return false
  return true
}

export function routeChange (change: Change, config: Pick<NotifyConfig, 'routes' | 'defaultSinks' | 'sinks'>): RouteTarget[] {
  // Per sink: undefined = the sink's own recipients; a Set = explicit ones.
  const picked = new Map<string, { own: boolean; to: Set<string>; digest?: DigestConfig }>()
  const add = (sink: string, to: string[] | undefined, digest?: DigestConfig): void => {
    let p = picked.get(sink)
    if (!p) { p = { own: false, to: new Set() }; picked.set(sink, p) }
    if (p.digest === undefined && digest !== undefined) p.digest = digest
    if (to) for (const a of to) p.to.add(a)
    else p.own = true
  }
  let matched = false
  for (const route of config.routes) {
    if (!routeMatches(route.match, change)) continue
    matched = true
    if (route.quietTypes?.includes(change.type)) continue
    for (const sink of route.sinks) add(sink, route.to, route.digest)
  }
  if (!matched) for (const sink of config.defaultSinks) add(sink, undefined)

  const sinkTypes = new Map(config.sinks.map(s => [s.name, s] as const))
  const out: RouteTarget[] = []
  for (const [sink, p] of picked) {
    const def = sinkTypes.get(sink)
    let target: RouteTarget
    if (def?.type !== 'email' || p.to.size === 0) {
      target = { sink }
    } else if (p.own) {
      // Both the sink's own recipients and a route's: send one mail to all of them.
      target = { sink, to: [...new Set([...def.to, ...p.to])] }
    } else {
      target = { sink, to: [...p.to] }
    }
    const digest = p.digest ?? def?.digest
    if (digest !== undefined) target.digest = digest
    out.push(target)
  }
  return out
}
