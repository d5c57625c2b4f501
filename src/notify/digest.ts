// Digests: when one actor makes many changes of one type at once (`kubectl
// rollout restart deploy -n shop` over 200 Deployments), a sink with a digest
// gets ONE message listing them all. Pure functions over plain data: the
// outbox holds the members ('held') until the window closes and stores the
// digest as one delivery; this module names the groups and writes the words.

import { createHash } from 'node:crypto'
import type { Change, ChangeType, Outcome } from '../model.js'
import { OUTCOME_WORDS } from './render.js'

export interface DigestConfig {
  /** Changes of one type by one actor enqueued within this many seconds of the first one form a group. */
  windowSeconds: number
  /** A group of at least this many changes becomes one digest; smaller groups are sent one by one. */
  minChanges: number
}

/** A member as the digest lists it: the Change without its timeline (that stays on /changes/:id). */
export type DigestItem = Omit<Change, 'timeline'>

export interface Digest {
  kind: 'Digest'
  /** Deterministic: the same members for the same sink always give the same id. */
  id: string
  cluster?: string
  type: ChangeType
  /** The actor's username; '' for changes without one. */
  actor: string
  /** RFC 3339: the first member's enqueue time and the window's close. */
  windowStart: string
  windowEnd: string
  count: number
  outcomes: Partial<Record<Outcome, number>>
  changes: DigestItem[]
}

/** The group a change joins at a sink: same sink, same type, same actor. */
export function digestKey (sink: string, change: Change): string {
  return JSON.stringify([sink, change.type, change.actor?.username ?? ''])
}

export function digestId (sink: string, memberIds: readonly string[]): string {
  const h = createHash('sha256').update(JSON.stringify([sink, [...memberIds].sort()])).digest('hex')
  return `digest-${h.slice(0, 32)}`
}

export function buildDigest (sink: string, members: readonly Change[], windowStart: number, windowEnd: number): Digest {
  const outcomes: Partial<Record<Outcome, number>> = {}
  for (const m of members) outcomes[m.outcome] = (outcomes[m.outcome] ?? 0) + 1
  const first = members[0]
  const d: Digest = {
    kind: 'Digest',
    id: digestId(sink, members.map(m => m.id)),
    type: first.type,
    actor: first.actor?.username ?? '',
    windowStart: new Date(windowStart).toISOString(),
    windowEnd: new Date(windowEnd).toISOString(),
    count: members.length,
    outcomes,
    changes: members.map(({ timeline: _t, ...rest }) => rest)
  }
  if (first.cluster !== undefined) d.cluster = first.cluster
  return d
}

const VERBS: Record<ChangeType, string> = {
  create: 'created',
  update: 'updated',
  delete: 'deleted',
  rollout: 'rolled out',
  restart: 'restarted',
  scale: 'scaled',
  endpoints: 'changed endpoints of',
  job: 'ran'
}

const OUTCOME_ORDER: Outcome[] = ['succeeded', 'applied', 'failed', 'timed-out', 'open']

function plural (kind: string, n: number): string {
  if (n === 1) return kind
  if (/(s|x|ch|sh)$/.test(kind)) return `${kind}es`
  if (/[^aeiou]y$/.test(kind)) return `${kind.slice(0, -1)}ies`
  return `${kind}s`
}

/** `19 succeeded, 1 failed` */
export function outcomesPhrase (d: Pick<Digest, 'outcomes'>): string {
  return OUTCOME_ORDER.filter(o => (d.outcomes[o] ?? 0) > 0).map(o => `${d.outcomes[o]} ${OUTCOME_WORDS[o]}`).join(', ')
}

/** `alice restarted 20 Deployments in storm: 19 succeeded, 1 failed` */
export function digestTitle (d: Digest): string {
  const kinds = new Set(d.changes.map(c => c.object.kind))
  const what = kinds.size === 1 ? plural([...kinds][0], d.count) : plural('object', d.count)
  const namespaces = new Set(d.changes.map(c => c.object.namespace))
  let where = ''
  if (namespaces.size === 1) {
    const ns = [...namespaces][0]
    where = ns ? ` in ${ns}` : ''
  } else {
    where = ` in ${namespaces.size} namespaces`
  }
  return `${d.actor || 'unknown'} ${VERBS[d.type] ?? d.type} ${d.count} ${what}${where}: ${outcomesPhrase(d)}`
}

/** One line per member: `shop/web (Deployment) succeeded — summary`. */
export function digestLines (d: Digest): string[] {
  return d.changes.map(c => {
    const obj = c.object.namespace ? `${c.object.namespace}/${c.object.name}` : c.object.name
    const reason = c.details.reason ? ` (${c.details.reason})` : ''
    return `${obj} ${c.object.kind}: ${OUTCOME_WORDS[c.outcome] ?? c.outcome}${reason}`
  })
}
