import type { K8sObject, OwnerRef } from '../../model.js'

// What kubechanges keeps of a watched object. The correlator's object index
// holds the last state of every root object (to diff the next write against)
// and the owner link of every child, for the whole cluster: so each object
// is cut to what a detector reads as soon as it is parsed, and the strings
// every object repeats (namespaces, label keys and values, kinds) are shared.

/** Never read: managedFields (often half the object), kubectl's copy of the spec, endpoint bookkeeping (diff.ts ignores them). */
const DROPPED_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration', 'endpoints.kubernetes.io/last-change-trigger-time']

/**
 * One copy of each short repeated string. Bounded: past `max` distinct
 * strings the pool stops growing (the string is then kept as parsed), so a
 * cluster of unique label values cannot grow it without end.
 */
export class Interner {
  readonly #pool = new Map<string, string>()
  /**
   * Small frozen subtrees of specs and statuses (see shareDeep), one per slot
   * of hash % length: a fixed-size table, so unique parts (a condition with
   * a fresh timestamp) overwrite each other instead of growing it, and the
   * parts many objects have come back to their slot.
   */
  readonly subtrees: Array<object | undefined>
  constructor (private readonly max = 100_000, private readonly maxLength = 64, subtreeSlots = 1 << 16) {
    this.subtrees = new Array<object | undefined>(subtreeSlots).fill(undefined)
  }

  get size (): number { return this.#pool.size }

  intern<T extends string | undefined> (s: T): T {
    // (Audit bodies are anyone's JSON: a name may be null or a number.)
    if (typeof s !== 'string' || s.length > this.maxLength) return s
    const hit = this.#pool.get(s)
    if (hit !== undefined) return hit as T
    if (this.#pool.size < this.max) this.#pool.set(s, s)
    return s
  }

  /** Labels with their strings pooled, as one frozen copy per distinct set (a ReplicaSet's pods all have its labels). */
  labels (l: Record<string, string> | undefined): Record<string, string> | undefined {
    if (l === undefined || l === null || typeof l !== 'object') return l
    const out: Record<string, string> = {}
    let h = 0x27d4eb2f
    for (const k of Object.keys(l)) {
      const v = l[k]
      const key = this.intern(k)
      out[key] = typeof v === 'string' ? this.intern(v) : v
      h = mix(mix(h, stringHash(key)), typeof v === 'string' ? stringHash(v) : 0)
    }
    return shareIn(out, h, this)
  }
}

type Meta = NonNullable<K8sObject['metadata']>

/** Owner references as one frozen copy per distinct list: siblings (a ReplicaSet's pods) share their owner's. */
function ownerRefs (refs: OwnerRef[], pool: Interner): OwnerRef[] {
  if (!Array.isArray(refs)) return refs
  let h = 0x5bd1e995
  const out = refs.map(r => {
    if (r === null || typeof r !== 'object') return r
    h = mix(mix(h, typeof r.uid === 'string' ? stringHash(r.uid) : 0), typeof r.name === 'string' ? stringHash(r.name) : 0)
    return { apiVersion: pool.intern(r.apiVersion), kind: pool.intern(r.kind), name: r.name, uid: r.uid, ...(r.controller !== undefined ? { controller: r.controller } : {}) }
  })
  return shareIn(out, h, pool)
}

/** `v` (plain data, hash `h`) or the equal copy already in the pool's subtree table; frozen either way once shared. */
function shareIn<T extends object> (v: T, h: number, pool: Interner): T {
  const slots = pool.subtrees
  if (slots.length === 0) return v
  const slot = (h >>> 0) % slots.length
  const seen = slots[slot]
  if (seen !== undefined && sameJson(seen, v)) return seen as T
  slots[slot] = deepFreeze(v)
  return v
}

/** metadata without managedFields and the never-read annotations; repeated strings shared. */
export function slimMeta (m: Meta | undefined, pool: Interner): Meta {
  if (m === undefined || m === null) return {}
  const { managedFields: _mf, annotations, labels, ownerReferences, namespace, ...rest } = m as Meta & { managedFields?: unknown }
  const out: Meta = { ...rest }
  if (namespace !== undefined) out.namespace = pool.intern(namespace)
  if (labels !== undefined) out.labels = pool.labels(labels)
  if (annotations !== undefined && annotations !== null && typeof annotations === 'object') {
    let kept: Record<string, string> | undefined
    for (const k of Object.keys(annotations)) {
      if (DROPPED_ANNOTATIONS.includes(k)) continue
      ;(kept ??= {})[pool.intern(k)] = annotations[k]
    }
    if (kept !== undefined) out.annotations = kept
  }
  if (ownerReferences !== undefined) out.ownerReferences = ownerRefs(ownerReferences, pool)
  return out
}

/** Only the identity, labels and owner links: what a Pod is kept for (the owner chain of endpoints and events). */
export function slimToLinks (o: K8sObject, pool: Interner): K8sObject {
  const m = o.metadata ?? {}
  const metadata: Meta = { name: m.name, namespace: pool.intern(m.namespace), uid: m.uid, resourceVersion: m.resourceVersion }
  if (metadata.namespace === undefined) delete metadata.namespace
  if (m.labels !== undefined) metadata.labels = pool.labels(m.labels)
  if (m.ownerReferences !== undefined) metadata.ownerReferences = ownerRefs(m.ownerReferences, pool)
  return { apiVersion: pool.intern(o.apiVersion), kind: pool.intern(o.kind), metadata }
}

/** A Pod as a link in an owner chain, with nothing shared: what the state journal keeps of Pods and ReplicaSets. */
const UNSHARED = new Interner(0, 64, 0)
export function podLink (o: K8sObject): K8sObject { return slimToLinks(o, UNSHARED) }

/** An Event as the correlator reads it: what it is about, why, how often. */
export function slimEvent (o: K8sObject, pool: Interner): K8sObject {
  const out: K8sObject = { apiVersion: pool.intern(o.apiVersion), kind: pool.intern(o.kind), metadata: slimMeta(o.metadata, pool) }
  for (const k of ['involvedObject', 'regarding', 'reason', 'message', 'note', 'count', 'series', 'type', 'eventTime', 'firstTimestamp', 'lastTimestamp'] as const) {
    if (o[k] !== undefined) out[k] = k === 'involvedObject' || k === 'regarding' ? involved(o[k], pool) : o[k]
  }
  return out
}

function involved (r: any, pool: Interner): unknown {
  if (r === null || typeof r !== 'object') return r
  return { kind: pool.intern(r.kind), namespace: pool.intern(r.namespace), name: r.name, uid: r.uid, ...(r.apiVersion !== undefined ? { apiVersion: pool.intern(r.apiVersion) } : {}), ...(r.fieldPath !== undefined ? { fieldPath: r.fieldPath } : {}) }
}

// Subtree sharing. The object index keeps the spec and status of every root
// object; across a cluster most of their small parts are equal (probes,
// resources, ports, strategies, env entries, conditions, `{}`): one frozen
// copy of each serves them all. Nothing downstream writes into a kept object
// (frozen, a write would throw instead of corrupting its twins).

/** Subtrees with more nodes than this are not looked up (their parts still are). */
const MAX_SHARED_NODES = 48

/** Set by shareDeep for the value it returned: its hash, node count, and whether it may be shared. */
let lastHash = 0
let lastNodes = 0
let lastShareable = true

function mix (h: number, x: number): number {
  return Math.imul(h ^ x, 0x01000193) >>> 0
}

function stringHash (s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/** Equal JSON values; shared parts are identical, so most comparisons end at `===`. */
function sameJson (a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i] || !sameJson((a as Record<string, unknown>)[ka[i]], (b as Record<string, unknown>)[kb[i]])) return false
  }
  return true
}

/**
 * Swaps `v`'s short strings for the pool's and its small subtrees for an
 * equal one met before (bottom up, so a shared parent is made of shared
 * children), IN PLACE: the object was just parsed and is ours, and copying
 * it would double what a sync allocates. The specs and statuses of a
 * cluster's workloads repeat the same values (pull policies, probe paths,
 * condition types, reasons and messages, timestamps) thousands of times, and
 * the object index keeps one per workload.
 */
export function shareDeep (v: unknown, pool: Interner, depth = 0): unknown {
  if (typeof v === 'string') {
    const s = pool.intern(v)
    lastHash = stringHash(s)
    lastNodes = 1
    lastShareable = true
    return s
  }
  if (v === null || typeof v !== 'object') {
    lastHash = typeof v === 'number' ? mix(0x9e3779b9, stringHash(String(v))) : v === true ? 1 : v === false ? 2 : 3
    lastNodes = 1
    lastShareable = typeof v === 'number' || typeof v === 'boolean' || v === null
    return v
  }
  if (depth > 32) { lastShareable = false; return v }
  let h: number
  let nodes = 1
  let shareable = true
  if (Array.isArray(v)) {
    h = 0x5bd1e995
    for (let i = 0; i < v.length; i++) {
      v[i] = shareDeep(v[i], pool, depth + 1)
      h = mix(h, lastHash)
      nodes += lastNodes
      shareable &&= lastShareable
    }
  } else {
    h = 0x27d4eb2f
    const o = v as Record<string, unknown>
    for (const k of Object.keys(o)) {
      // Unique by nature: pooling them would only fill the pool.
      const unique = k === 'uid' || k === 'resourceVersion'
      if (unique) { shareable = false; continue }
      o[k] = shareDeep(o[k], pool, depth + 1)
      h = mix(mix(h, stringHash(k)), lastHash)
      nodes += lastNodes
      shareable &&= lastShareable
    }
  }
  lastHash = h
  lastNodes = nodes
  lastShareable = shareable && nodes <= MAX_SHARED_NODES
  if (!lastShareable) return v
  return shareIn(v, h, pool)
}

function deepFreeze (v: object): object {
  if (Object.isFrozen(v)) return v
  Object.freeze(v)
  for (const x of Object.values(v)) if (x !== null && typeof x === 'object') deepFreeze(x)
  return v
}

/** Everything but the metadata bookkeeping: the state a detector diffs. Slims `o` in place. */
export function slimObject (o: K8sObject, pool: Interner): K8sObject {
  for (const k of Object.keys(o)) {
    o[k] = k === 'metadata' ? slimMeta(o.metadata, pool) : shareDeep(o[k], pool)
  }
  return o
}

/** A ReplicaSet is a link from pods to their Deployment: its pod spec (most of the object) is never read. */
export function slimReplicaSet (o: K8sObject, pool: Interner): K8sObject {
  const tpl = o.spec?.template
  if (tpl?.spec !== undefined) o.spec.template = { metadata: tpl.metadata }
  return slimObject(o, pool)
}

/** The slimming of one kind; `pool` is shared by every kind of a watch source. */
export function slimmerFor (kind: string, pool: Interner): (o: K8sObject) => K8sObject {
  switch (kind) {
    case 'Pod': return o => slimToLinks(o, pool)
    case 'ReplicaSet': return o => slimReplicaSet(o, pool)
    case 'Event': return o => slimEvent(o, pool)
    default: return o => slimObject(o, pool)
  }
}

/**
 * Kinds watched for their owner links alone: listed and watched as
 * PartialObjectMetadata, so neither the apiserver nor kubechanges ever
 * handles their spec and status (a Pod's are most of its bytes).
 */
export const METADATA_ONLY_KINDS: ReadonlySet<string> = new Set(['Pod'])
