import { LRUCache } from 'lru-cache'
import type { K8sObject, Observation, OwnerRef } from '../model.js'
import type { Sliceable } from './sliceable.js'

// What the pipeline knows about objects it has seen: uid → identity, owner,
// labels and the last full state (to diff the next write against), and the
// name index (kind/namespace/name → uid) that resolves the empty
// objectRef.uid of audit creates, patches and deletes.

export interface ObjectInfo {
  uid: string
  kind: string
  namespace: string
  name: string
  owner?: OwnerRef
  labels?: Record<string, string>
  /** Last known full object (Secret/ConfigMap values already redacted). */
  snapshot?: K8sObject
  /** resourceVersion of the state a source's first list showed: writes up to it are history, not changes. */
  baselineRV?: number
}

export interface RootRef { key: string, uid: string, kind: string, namespace: string, name: string }

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name'
const OWNED_KINDS = new Set(['Pod', 'ReplicaSet', 'EndpointSlice', 'ControllerRevision'])
/** Kinds controllers create for their owners: a system write to one whose owner is unknown is bookkeeping. */
const CONTROLLER_CHILDREN = new Set([...OWNED_KINDS, 'Endpoints'])
export function isControllerChild (kind: string): boolean { return CONTROLLER_CHILDREN.has(kind) }

export function nameKey (kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`
}

export function controllerOf (owners: OwnerRef[]): OwnerRef | undefined {
  return owners.find(o => o.controller === true) ?? (owners.length === 1 ? owners[0] : undefined)
}

export class ObjectIndex {
  readonly #byUid: LRUCache<string, ObjectInfo>
  readonly #byName: LRUCache<string, string>

  /**
   * `max` bounds the entries by count without preallocating them (lru-cache
   * allocates `max` slots up front when given `max`): the index grows with
   * the cluster, and a cluster of fewer objects never has an owner link
   * evicted.
   */
  constructor (max = 1_000_000) {
    this.#byUid = new LRUCache({ maxSize: max, sizeCalculation: () => 1 })
    this.#byName = new LRUCache({ maxSize: max, sizeCalculation: () => 1 })
  }

  get (uid: string): ObjectInfo | undefined { return this.#byUid.get(uid) }
  /** Read without refreshing recency. */
  peek (uid: string): ObjectInfo | undefined { return this.#byUid.peek(uid) }

  uidByName (kind: string, namespace: string, name: string): string | undefined {
    return this.#byName.get(nameKey(kind, namespace, name))
  }

  /** uidByName without refreshing recency. */
  peekUidByName (kind: string, namespace: string, name: string): string | undefined {
    return this.#byName.peek(nameKey(kind, namespace, name))
  }

  get size (): number { return this.#byUid.size }

  /**
   * Contents, least recently used first. The records are the index's own, which nothing changes
   * (learn() replaces them), so a snapshot can encode the dump while ingest goes on.
   */
  dump (): { objects: ObjectInfo[], names: Array<[string, string]> } {
    return {
      objects: [...this.#byUid.rvalues()] as ObjectInfo[],
      names: [...this.#byName.rentries()] as Array<[string, string]>
    }
  }

  /** What dump() gives, for a snapshot encoded later: the names as two arrays of the index's strings, pairs made when sliced. */
  cut (): { objects: ObjectInfo[], names: Sliceable<[string, string]> } {
    const keys: string[] = []
    const uids: string[] = []
    for (const [k, uid] of this.#byName.rentries()) { keys.push(k as string); uids.push(uid as string) }
    return {
      objects: [...this.#byUid.rvalues()] as ObjectInfo[],
      names: { length: keys.length, slice: (from, to) => keys.slice(from, to).map((k, i) => [k, uids[from + i]!]) }
    }
  }

  load (s: { objects: ObjectInfo[], names: Array<[string, string]> }): void {
    for (const info of s.objects) this.#byUid.set(info.uid, info)
    for (const [k, uid] of s.names) this.#byName.set(k, uid)
  }

  /** Known objects of one kind (and namespace, when given), without touching recency. */
  *ofKind (kind: string, namespace?: string): Generator<ObjectInfo> {
    for (const info of this.#byUid.values()) {
      if (info.kind === kind && (namespace === undefined || info.namespace === namespace)) yield info
    }
  }

  /**
   * Record what an observation teaches (and, from a first list, the resourceVersion it showed);
   * returns the state before it (for diffs). Each call makes a new record rather than changing the
   * one in the index: a snapshot being written holds the old ones, as they were when it was cut.
   */
  learn (obs: Observation, uid: string, baselineRV?: number): { before?: K8sObject, info: ObjectInfo } {
    const { kind, namespace, name } = obs.ref
    const prev = this.#byUid.get(uid)
    if (prev === undefined && obs.object === undefined && obs.owners.length === 0 && uid.startsWith('pending:')) {
      // Nothing to learn but a name whose uid is unknown: kept, it would be
      // one entry per pod a Metadata-level audit policy ever named (about
      // 40,000 per 300 busy batches), up to the bound.
      return { info: { uid, kind, namespace, name } }
    }
    const before = prev?.snapshot
    const info: ObjectInfo = prev === undefined ? { uid, kind, namespace, name } : { ...prev }
    const owner = controllerOf(obs.owners)
    if (owner !== undefined) info.owner = owner
    if (obs.object !== undefined) {
      // Owned objects are only ever links in an owner chain: their full state
      // is never diffed, and there are many of them.
      if (!OWNED_KINDS.has(kind)) info.snapshot = obs.object
      if (obs.object.metadata?.labels !== undefined) info.labels = obs.object.metadata.labels
    }
    if (baselineRV !== undefined) info.baselineRV = baselineRV
    this.#byUid.set(uid, info)
    this.#byName.set(nameKey(kind, namespace, name), uid)
    return { before, info }
  }

  /**
   * Follow controller owner references to the root (Pod → ReplicaSet →
   * Deployment). An owner we have never seen is still a valid root: its
   * reference names its kind, name and uid.
   */
  root (uid: string, ref: { kind: string, namespace: string, name: string }): RootRef {
    let cur: RootRef = { key: uid, uid, kind: ref.kind, namespace: ref.namespace, name: ref.name }
    const seen = new Set<string>([uid])
    for (let depth = 0; depth < 8; depth++) {
      const info = this.#byUid.get(cur.uid)
      const owner = info?.owner
      if (owner === undefined || seen.has(owner.uid)) break
      seen.add(owner.uid)
      cur = { key: owner.uid, uid: owner.uid, kind: owner.kind, namespace: cur.namespace, name: owner.name }
    }
    return cur
  }
}
