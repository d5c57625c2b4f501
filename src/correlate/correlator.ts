import { createHash } from 'node:crypto'
import type { Actor, Change, ChangeDetails, ChangeType, K8sObject, Observation, Outcome, Source, TimelineEntry } from '../model.js'
import { LRUCache } from 'lru-cache'
import { Dedup, type WriteRecord } from './dedup.js'
import { ObjectIndex, SERVICE_NAME_LABEL, nameKey, type ObjectInfo, type RootRef } from './owners.js'
import { Window, type EvictReason } from './window.js'
import { desiredState, diffObjects, keyChanges } from '../detectors/diff.js'
import { classifyWorkloadWrite, imageChanges, replicaCounts, revisionOf, rolloutStatus, scaleStatus, WORKLOAD_KINDS, type RolloutStatus } from '../detectors/workload.js'
import { lbIngress, readyAddresses, selectorMatches, serviceDiff, serviceMoves, serviceProfile } from '../detectors/service.js'
import { detectorFor, NOT_MINE, type Detector, type DetectorContext } from '../detectors/index.js'
import { summarize } from '../detectors/summary.js'
import { isSensitiveKind } from '../sources/kinds.js'
import { isArgoRollout, isCustomKind, namesSecret, undecided } from '../detectors/custom.js'
import { statusRuleFor, type KindsConfig } from '../detectors/status/index.js'
import type { Open } from './open.js'

// The correlator turns deduplicated observations into logical changes. Each
// open change is a small state machine in the window, keyed by its root
// object (and, for a Service's endpoints, by the Service plus '#endpoints').
// It opens on a write to desired state, moves forward on evidence (status
// writes, child objects, Events), and closes when its detector's rule says
// so and a quiet period has passed with no further evidence.

export interface CorrelatorHooks {
  observed?: (source: Source) => void
  dropped?: (reason: 'duplicate' | 'merged' | 'noise') => void
  opened?: (type: ChangeType) => void
  closed?: (type: ChangeType, outcome: Outcome) => void
  evicted?: (reason: EvictReason) => void
  netZero?: () => void
}

export interface CorrelatorOptions {
  quietMs: number
  ttlMs: number
  maxObjects: number
  maxTimeline?: number
  /** Called once for every closed change, in closing order. */
  onChange: (change: Change) => void
  hooks?: CorrelatorHooks
  ignoreNamespaces?: string[]
  ignoreKinds?: string[]
  /**
   * While audit events are arriving, a change opened by the watch waits this
   * long for the audit event of the same write (the apiserver batches them,
   * 30 s by default) so it is reported once, with its actor.
   */
  auditGraceMs?: number
  /** Per-kind status rules (config `kinds:`) for custom resources. */
  kinds?: KindsConfig
}

/** Audit counts as "arriving" when an audit observation was seen this recently. */
const AUDIT_ACTIVE_MS = 5 * 60_000

// Everything in an open change is plain data (arrays and records, no Set,
// Map or class instance), so the correlation state can be written down and
// read back across restarts (see exportState/importState).

export type { EndpointFold, Open } from './open.js'

type Admission = { actor?: Actor, at: number, action: string, uid: string }

/**
 * The whole correlation state as plain data: what a snapshot holds. LRU
 * contents are listed least recently used first, so loading them in order
 * restores the recency (and with it what a full cache would evict next).
 */
export interface CorrelatorState {
  v: 1
  now: number
  /** null: Infinity (JSON has none). */
  nextSettle: number | null
  lastAuditAt: number | null
  /** [key, open change, when it entered the window (its TTL counts from there)]. */
  window: Array<[string, Open, number]>
  auditIDs: string[]
  writes: Array<[string, WriteRecord]>
  objects: ObjectInfo[]
  names: Array<[string, string]>
  /** slice key → [ready address, pod uid | null]. */
  slices: Array<[string, Array<[string, string | null]>]>
  serviceSlices: Array<[string, string[]]>
  admissions: Array<[string, Admission]>
  /** Continuing from durable state since this clock: first lists are compared with what was known. */
  resumedAt: number | null
}

/** How far apart an admission review and the write it announced may be seen, when no exact join exists. */
const ADMISSION_JOIN_MS = 30_000

function joinAction (a: string): string { return a === 'patch' ? 'update' : a }

const FAILURE_EVENTS = new Set(['FailedCreate', 'ImagePullBackOff', 'ErrImagePull', 'BackOff', 'FailedScheduling', 'FailedMount', 'Unhealthy', 'CrashLoopBackOff', 'FailedAttachVolume'])
const CHILD_KINDS = new Set(['Pod', 'ReplicaSet', 'EndpointSlice', 'Endpoints', 'ControllerRevision'])
const WORKLOAD_CHANGE = new Set<ChangeType>(['create', 'rollout', 'restart', 'scale'])

/** Controllers, the scheduler, kubelets and the API server itself. */
export function isSystemActor (actor: Actor | undefined): boolean {
  if (actor === undefined) return true
  const u = actor.username
  return u.startsWith('system:serviceaccount:kube-system:') || u.startsWith('system:node:') ||
    u === 'system:kube-controller-manager' || u === 'system:kube-scheduler' || u === 'system:apiserver'
}

/**
 * An operator's service account writing a child it controls (cert-manager
 * applying a Certificate's Secret, Argo Rollouts its ReplicaSets): the
 * custom resource's controller at work, not a person acting on the child.
 */
function isOperatorWrite (obs: Observation): boolean {
  if (obs.actor?.username.startsWith('system:serviceaccount:') !== true) return false
  const owner = obs.owners.find(o => o.controller === true)
  if (owner === undefined) return false
  const group = owner.apiVersion.includes('/') ? owner.apiVersion.split('/')[0]! : ''
  return isCustomKind(owner.kind, group) || isArgoRollout(owner.kind, group)
}

export function changeId (uid: string, type: ChangeType, rev: string): string {
  return `${type}-${createHash('sha256').update(`${uid}|${type}|${rev}`).digest('hex').slice(0, 20)}`
}

export class Correlator {
  readonly #opts: Required<Pick<CorrelatorOptions, 'quietMs' | 'ttlMs' | 'maxObjects' | 'maxTimeline' | 'auditGraceMs'>> & CorrelatorOptions
  readonly #dedup = new Dedup()
  readonly #index = new ObjectIndex()
  readonly #window: Window<Open>
  /** EndpointSlice key → ready address → pod ref. */
  readonly #slices = new Map<string, Map<string, string | undefined>>()
  /** Service key → slice keys. */
  readonly #serviceSlices = new Map<string, Set<string>>()
  /** Recent admission reviews waiting for the write they announced: their actor joins it. */
  readonly #admissions = new LRUCache<string, Admission>({ max: 20_000 })
  readonly #ignoreNs: Set<string>
  readonly #ignoreKinds: Set<string>
  /** "namespace/secret" → key of the open custom-resource change naming it (spec.secretName). Derived from the window, not persisted. */
  readonly #secretRefs = new Map<string, string>()
  #now = 0
  /** A lower bound of every open change's settleAt: when time passes it, a scan is due. */
  #nextSettle = Infinity
  #lastAuditAt = -Infinity
  #resumedAt: number | null = null
  /** What a detector may do to the state (see src/detectors/detector.ts). */
  readonly #ctx: DetectorContext

  constructor (opts: CorrelatorOptions) {
    this.#opts = { maxTimeline: 50, auditGraceMs: 35_000, ...opts }
    this.#ctx = {
      open: (obs, root, type, idRev, before) => this.#open(obs, root, type, idRev, before),
      close: (open, outcome) => { this.#close(open, outcome) },
      evidence: (open, obs, extend) => { this.#evidence(open, obs, extend) },
      settleLater: open => { this.#settleLater(open) },
      setSettle: (open, at) => { this.#setSettle(open, at) },
      noteRefs: open => { this.#noteSecretRef(open) },
      rev: obs => this.#rev(obs),
      kinds: opts.kinds
    }
    this.#ignoreNs = new Set(opts.ignoreNamespaces ?? [])
    this.#ignoreKinds = new Set(opts.ignoreKinds ?? [])
    this.#window = new Window<Open>({
      max: opts.maxObjects,
      ttlMs: opts.ttlMs,
      now: () => this.#now,
      onEvict: (_key, open, reason) => {
        this.#opts.hooks?.evicted?.(reason)
        this.#emit(open, open.pending === 'succeeded' || open.pending === 'failed' || open.pending === 'applied' ? open.pending : 'timed-out')
      }
    })
  }

  get now (): number { return this.#now }
  /** The earliest time an open change may settle (Infinity when none waits). */
  get nextSettle (): number { return this.#nextSettle }
  get openCount (): number { return this.#window.size }
  get indexSize (): number { return this.#index.size }

  /** An audit observation with this auditID would be dropped as a duplicate (recency untouched). */
  seenAudit (auditID: string): boolean { return this.#dedup.seenAudit(auditID) }

  /**
   * Whether an open change may read the status this observation carries: one
   * keyed by the object (or by its name, uid not yet known), or any when the
   * object has owners (its root is elsewhere). Conservative by design.
   */
  statusMayMatter (obs: Observation): boolean {
    if (obs.owners.length > 0) return true
    const uid = obs.ref.uid ?? obs.object?.metadata?.uid
    if (uid !== undefined && this.#window.peek(uid) !== undefined) return true
    return this.#window.peek(`pending:${nameKey(obs.ref.kind, obs.ref.namespace, obs.ref.name)}`) !== undefined || uid === undefined
  }

  /** The object index holds this object's last full state (recency untouched). */
  knowsState (uid: string | undefined): boolean {
    return uid !== undefined && this.#index.peek(uid)?.snapshot !== undefined
  }

  /** The whole state as plain data (a snapshot); importing it into a fresh correlator continues exactly. */
  exportState (): CorrelatorState {
    const d = this.#dedup.dump()
    const ix = this.#index.dump()
    return {
      v: 1,
      now: this.#now,
      nextSettle: Number.isFinite(this.#nextSettle) ? this.#nextSettle : null,
      lastAuditAt: Number.isFinite(this.#lastAuditAt) ? this.#lastAuditAt : null,
      window: this.#window.dump(),
      auditIDs: d.auditIDs,
      writes: d.writes,
      objects: ix.objects,
      names: ix.names,
      slices: [...this.#slices].map(([k, m]) => [k, [...m].map(([a, p]) => [a, p ?? null])]),
      serviceSlices: [...this.#serviceSlices].map(([k, set]) => [k, [...set]]),
      admissions: [...this.#admissions.rentries()] as Array<[string, Admission]>,
      resumedAt: this.#resumedAt
    }
  }

  /** Into a fresh correlator (nothing ingested yet). */
  importState (st: CorrelatorState): void {
    if (st.v !== 1) throw new Error(`correlation state version ${String(st.v)} is not supported`)
    this.#now = st.now
    this.#nextSettle = st.nextSettle ?? Infinity
    this.#lastAuditAt = st.lastAuditAt ?? -Infinity
    this.#window.load(st.window)
    for (const [, open] of st.window) this.#noteSecretRef(open)
    this.#dedup.load({ auditIDs: st.auditIDs, writes: st.writes })
    this.#index.load({ objects: st.objects, names: st.names })
    for (const [k, pairs] of st.slices) this.#slices.set(k, new Map(pairs.map(([a, p]) => [a, p ?? undefined])))
    for (const [k, keys] of st.serviceSlices) this.#serviceSlices.set(k, new Set(keys))
    for (const [k, v] of st.admissions) this.#admissions.set(k, v)
    this.#resumedAt = st.resumedAt ?? null
  }

  /** Whether this correlator continues from durable state (a restart). */
  get resumed (): boolean { return this.#resumedAt !== null }

  /** From here on, a source's first list is compared with what was known before the restart. */
  resume (): void {
    this.#resumedAt ??= this.#now
  }

  /**
   * A watch informer's first list after a restart held these uids: what the
   * state knows of that kind (and namespace) and the list lacks was deleted
   * while kubechanges was down.
   */
  listed (ref: { kind: string, apiGroup: string, version: string, resource: string }, namespace: string | undefined, uids: Set<string>, at: number): void {
    if (this.#resumedAt === null) return
    const gone = [...this.#index.ofKind(ref.kind, namespace)].filter(i => !uids.has(i.uid) && !i.uid.startsWith('pending:'))
    for (const info of gone) {
      const obs: Observation = {
        source: 'watch',
        at,
        ref: { apiGroup: ref.apiGroup, version: ref.version, kind: ref.kind, resource: ref.resource, namespace: info.namespace, name: info.name, uid: info.uid },
        action: 'delete',
        owners: info.owner !== undefined ? [info.owner] : [],
        relist: true
      }
      if (info.snapshot !== undefined) obs.object = info.snapshot
      const rv = info.snapshot?.metadata?.resourceVersion
      if (rv !== undefined) obs.resourceVersion = rv
      this.ingest(obs)
    }
  }

  /** Advance the clock (never backwards) and close what has settled or aged out. */
  tick (now: number): void {
    if (now > this.#now) this.#now = now
    this.#window.purgeStale()
    // Close in the order the changes settled, so reports come out in time order.
    if (this.#nextSettle > this.#now) return
    const due: Open[] = []
    let next = Infinity
    for (const o of this.#window.values()) {
      if (o.settleAt === null) continue
      if (o.settleAt <= this.#now) due.push(o)
      else if (o.settleAt < next) next = o.settleAt
    }
    this.#nextSettle = next
    due.sort((a, b) => (a.settleAt ?? 0) - (b.settleAt ?? 0))
    const auditActive = this.#now - this.#lastAuditAt < AUDIT_ACTIVE_MS
    for (const open of due) {
      if (auditActive && open.actor === null && open.openedBy === 'watch' && open.type !== 'endpoints' &&
          this.#now < open.lastAt + this.#opts.auditGraceMs) {
        this.#setSettle(open, open.lastAt + this.#opts.auditGraceMs)
        continue
      }
      this.#close(open, open.pending ?? 'applied')
    }
  }

  /** End of input: settle every quiet period; what has not finished is reported as `open`. */
  flush (): void {
    // Settling must not age anything out: the input ended, time did not pass.
    // Settled ones first, in the order they settle; then what is still open.
    const order = (o: Open): number => o.settleAt ?? Infinity
    for (const open of this.#window.values().sort((a, b) => order(a) === order(b) ? 0 : order(a) < order(b) ? -1 : 1)) {
      this.#close(open, open.settleAt !== null ? undecided(open.pending) ?? 'applied' : 'open')
    }
  }

  ingest (obs: Observation): void {
    // What settled before this observation closes first, so it cannot absorb a later write.
    if (obs.at >= this.#nextSettle) this.tick(obs.at)
    if (obs.at > this.#now) this.#now = obs.at
    this.#opts.hooks?.observed?.(obs.source)
    if (this.#ignoreNs.has(obs.ref.namespace) || this.#ignoreKinds.has(obs.ref.kind)) {
      this.#opts.hooks?.dropped?.('noise')
      return
    }
    if (obs.source === 'admission') {
      this.#onAdmission(obs)
      return
    }
    if (obs.source === 'audit') this.#lastAuditAt = this.#now
    const claimed = this.#joinAdmission(obs)
    const verdict = this.#dedup.check(obs)
    if (verdict.kind === 'duplicate') {
      this.#opts.hooks?.dropped?.('duplicate')
      return
    }
    if (verdict.kind === 'merge') {
      this.#opts.hooks?.dropped?.('merged')
      const open = verdict.record.changeKey !== undefined ? this.#window.get(verdict.record.changeKey) : undefined
      if (open !== undefined) {
        // Audit's user is authoritative: it replaces what a review claimed for this same write.
        if (obs.source === 'audit' && verdict.record.claimedBy !== undefined && open.actor?.username === verdict.record.claimedBy) open.actor = obs.actor ?? null
        else if (open.actor === null && obs.actor !== undefined && !isSystemActor(obs.actor)) open.actor = obs.actor
        this.#evidence(open, obs, false)
      }
      return
    }
    const key = this.#route(obs)
    if (verdict.record !== undefined && key !== undefined) verdict.record.changeKey = key
    if (verdict.record !== undefined && claimed !== undefined) verdict.record.claimedBy = claimed
  }

  /**
   * A controller's write that audit logged at Metadata level (no body, so no
   * uid and no owner) to a Pod, ReplicaSet or the like that nothing here knows
   * by name: bookkeeping, whose only trace in the state is its auditID (so a
   * re-sent batch is a duplicate). Most of a busy cluster's audit events are
   * these (kubelets' pod status patches, controllers' pod creates and
   * deletes). Decided on the state (names known, reviews waiting), so the
   * journal can keep only what `ingestInert` needs and a replay reaches the
   * same state.
   */
  inert (obs: Observation): boolean {
    const { ref } = obs
    return obs.source === 'audit' && obs.auditID !== undefined && ref.uid === undefined && obs.object === undefined &&
      obs.owners.length === 0 && obs.resourceVersion === undefined && obs.scale === undefined && obs.admissionUID === undefined &&
      ref.kind !== 'EndpointSlice' && CHILD_KINDS.has(ref.kind) && isSystemActor(obs.actor) &&
      // (An admission review waiting under this name could claim the write: see #joinAdmission.)
      (obs.action === 'status' || this.#admissions.size === 0 || !this.#admissions.has(`name:${nameKey(ref.kind, ref.namespace, ref.name)}`)) &&
      !this.#ignoreNs.has(ref.namespace) && !this.#ignoreKinds.has(ref.kind) && this.#index.peekUidByName(ref.kind, ref.namespace, ref.name) === undefined
  }

  /** What ingest does with an inert observation (see `inert`), from its auditID and time alone. */
  ingestInert (auditID: string, at: number): void {
    if (at >= this.#nextSettle) this.tick(at)
    if (at > this.#now) this.#now = at
    this.#opts.hooks?.observed?.('audit')
    this.#lastAuditAt = this.#now
    if (!this.#dedup.noteAuditID(auditID)) this.#opts.hooks?.dropped?.('duplicate')
  }

  /** An audit batch arrived (even one whose events were all dropped): audit is flowing. */
  noteAudit (): void {
    this.#lastAuditAt = this.#now
  }

  /**
   * Existing state from a source's first list: learned, never a change. A
   * rollout or Job already in progress is picked up and reported when it ends.
   */
  baseline (obs: Observation): void {
    if (obs.at > this.#now) this.#now = obs.at
    this.#opts.hooks?.observed?.(obs.source)
    if (this.#ignoreNs.has(obs.ref.namespace) || this.#ignoreKinds.has(obs.ref.kind)) return
    if (this.#resumedAt !== null && obs.source === 'watch' && obs.ref.uid !== undefined) {
      // After a restart the first list is not a blank baseline: an object known
      // before is the same write again (its resourceVersion) or one made while
      // kubechanges was down; one created meanwhile is a create.
      const created = Date.parse(obs.object?.metadata?.creationTimestamp ?? '')
      if (this.#index.get(obs.ref.uid) !== undefined) {
        this.ingest({ ...obs, action: 'update' })
        return
      }
      if (created > this.#resumedAt - 1000) {
        this.ingest({ ...obs, action: 'create' })
        return
      }
    }
    // Remembered so the audit event of the same write, arriving late, opens nothing.
    this.#dedup.check(obs)
    if (obs.source === 'event') return
    const uid = this.#resolveUid(obs)
    const { info } = this.#index.learn(obs, uid)
    const rv = Number(obs.resourceVersion)
    if (Number.isInteger(rv)) info.baselineRV = rv
    const { kind } = obs.ref
    if (kind === 'EndpointSlice') {
      this.#onEndpointSlice({ ...obs, action: 'update' }, uid, undefined)
      return
    }
    const obj = obs.object
    if (obj === undefined || this.#window.peek(uid) !== undefined) return
    const root = this.#index.root(uid, obs.ref)
    if (root.uid !== uid) return
    if (WORKLOAD_KINDS.has(kind) && rolloutStatus(obj, kind).state === 'waiting') {
      const open = this.#open(obs, root, 'rollout', this.#rev(obs), undefined)
      this.#progress(open)
    } else {
      detectorFor(kind, obs.ref.apiGroup)?.baseline?.(this.#ctx, obs as Observation & { object: K8sObject }, root)
    }
  }

  // ---- admission -------------------------------------------------------

  #onAdmission (obs: Observation): void {
    const id = obs.admissionUID ?? ''
    if (this.#admissions.has(`adm:${id}`)) {
      this.#opts.hooks?.dropped?.('duplicate')
      return
    }
    const entry = { at: obs.at, action: joinAction(obs.action), uid: id, ...(obs.actor !== undefined ? { actor: obs.actor } : {}) }
    this.#admissions.set(`adm:${id}`, entry)
    if (obs.ref.uid !== undefined && obs.action !== 'create') this.#admissions.set(`uid:${obs.ref.uid}`, entry)
    this.#admissions.set(`name:${nameKey(obs.ref.kind, obs.ref.namespace, obs.ref.name)}`, entry)
  }

  /**
   * The write an admission review announced arrives from audit (exactly, by
   * the admission uid in its annotations) or from the watch (by object and
   * time): it takes the reviewer's actor and the review is consumed, so the
   * two are never counted as two writes.
   */
  #joinAdmission (obs: Observation): string | undefined {
    if (this.#admissions.size === 0 || obs.action === 'status' || obs.source === 'event') return
    let entry = obs.admissionUID !== undefined ? this.#admissions.get(`adm:${obs.admissionUID}`) : undefined
    if (entry === undefined) {
      const byUid = obs.ref.uid !== undefined ? this.#admissions.get(`uid:${obs.ref.uid}`) : undefined
      const byName = this.#admissions.get(`name:${nameKey(obs.ref.kind, obs.ref.namespace, obs.ref.name)}`)
      entry = [byUid, byName].find(e => e !== undefined && e.action === joinAction(obs.action) && Math.abs(obs.at - e.at) <= ADMISSION_JOIN_MS)
    }
    if (entry === undefined) return undefined
    this.#admissions.delete(`adm:${entry.uid}`)
    if (obs.ref.uid !== undefined) this.#admissions.delete(`uid:${obs.ref.uid}`)
    this.#admissions.delete(`name:${nameKey(obs.ref.kind, obs.ref.namespace, obs.ref.name)}`)
    obs.admissionUID = entry.uid
    // While audit flows, the watch's write waits for audit's user (the audit
    // grace) instead of taking a review's word, which anyone can post.
    if (obs.actor !== undefined || entry.actor === undefined || (obs.source === 'watch' && this.#now - this.#lastAuditAt < AUDIT_ACTIVE_MS)) return undefined
    obs.actor = entry.actor
    return entry.actor.username
  }

  // ---- routing ---------------------------------------------------------

  #resolveUid (obs: Observation): string {
    const { kind, namespace, name } = obs.ref
    const pendingKey = `pending:${nameKey(kind, namespace, name)}`
    if (obs.ref.uid !== undefined) {
      // A change opened before the uid was known moves under the real key.
      const pending = this.#window.peek(pendingKey)
      if (pending !== undefined) {
        this.#window.delete(pendingKey)
        pending.key = obs.ref.uid
        pending.root = { ...pending.root, key: obs.ref.uid, uid: obs.ref.uid }
        this.#window.set(obs.ref.uid, pending)
      }
      return obs.ref.uid
    }
    return this.#index.uidByName(kind, namespace, name) ?? pendingKey
  }

  #route (obs: Observation): string | undefined {
    const uid = this.#resolveUid(obs)
    const known = this.#index.get(uid)
    // (Deletes are exempt: a re-list reports a delete with the last known resourceVersion.)
    if (known?.baselineRV !== undefined && obs.action !== 'delete' && Number(obs.resourceVersion) <= known.baselineRV) {
      // A late audit event of a write the first list already showed: history, not a change.
      // (resourceVersions of one object only ever grow, which is all this relies on.)
      this.#opts.hooks?.dropped?.('merged')
      return undefined
    }
    obs.ref.uid ??= uid.startsWith('pending:') ? undefined : uid
    const { before, info } = this.#index.learn(obs, uid)
    const { kind } = obs.ref
    // The watch says MODIFIED for every write; one that left desired state
    // alone is a status write (or bookkeeping), as audit would have said.
    if (obs.source === 'watch' && obs.action === 'update' && before !== undefined && obs.object !== undefined &&
        JSON.stringify(desiredState(before)) === JSON.stringify(desiredState(obs.object))) obs.action = 'status'
    if (obs.source === 'event') return this.#onEvent(obs)
    if (kind === 'EndpointSlice') return this.#onEndpointSlice(obs, uid, before)
    const root = this.#index.root(uid, obs.ref)
    if (root.uid !== uid) return this.#onChild(obs, root)
    if (info.owner === undefined && CHILD_KINDS.has(kind) && isSystemActor(obs.actor)) {
      // A controller's write to an object whose owner we cannot see (audit at
      // Metadata level carries no body): bookkeeping, never a change.
      return undefined
    }
    if (root.uid === uid && obs.action !== 'delete') {
      const parent = this.#referencingChange(obs)
      if (parent !== undefined) {
        this.#evidence(parent, obs, true)
        return parent.key
      }
    }
    return this.#onRoot(obs, root, before)
  }

  /**
   * cert-manager writes a Certificate's Secret, usually audited at Metadata
   * level (no body, so no ownerReference to follow): the open change of the
   * custom resource that names it (spec.secretName) is where it belongs.
   */
  #referencingChange (obs: Observation): Open | undefined {
    // (kube-system's controllers write token and bootstrap Secrets all day: never an operator's.)
    if (obs.ref.kind !== 'Secret' || obs.actor?.username.startsWith('system:serviceaccount:') !== true || isSystemActor(obs.actor)) return undefined
    const ref = `${obs.ref.namespace}/${obs.ref.name}`
    const key = this.#secretRefs.get(ref)
    if (key === undefined) return undefined
    const open = this.#window.peek(key)
    if (open !== undefined && open.group !== undefined && namesSecret(open.latest, obs.ref.name)) return this.#window.get(key)
    // The change closed (or moved on to another Secret): forget the stale entry.
    this.#secretRefs.delete(ref)
    return undefined
  }

  #noteSecretRef (open: Open): void {
    const name = open.group !== undefined ? open.latest?.spec?.secretName : undefined
    if (typeof name === 'string') this.#secretRefs.set(`${open.root.namespace}/${name}`, open.key)
  }

  #onChild (obs: Observation, root: RootRef): string | undefined {
    const open = this.#window.get(root.key)
    if (!isSystemActor(obs.actor) && !isOperatorWrite(obs) && obs.action !== 'status' && obs.source !== 'watch') {
      // A person acting on a child (deleting a pod by hand) is a change of its own.
      return this.#onRoot(obs, { key: obs.ref.uid ?? root.key, uid: obs.ref.uid ?? '', kind: obs.ref.kind, namespace: obs.ref.namespace, name: obs.ref.name }, undefined)
    }
    if (open === undefined) return undefined
    // The deployment controller creating a ReplicaSet proves a new template
    // when the write that opened the change could not be classified.
    if (open.tentative === true && obs.ref.kind === 'ReplicaSet' && obs.action === 'create') {
      open.type = 'rollout'
      open.tentative = false
    }
    this.#evidence(open, obs, true)
    return open.key
  }

  #onRoot (obs: Observation, root: RootRef, before: K8sObject | undefined): string | undefined {
    const { kind } = obs.ref
    const existing = this.#window.get(root.key)
    if (obs.action !== 'delete') {
      const routed = this.#toDetector(obs, root, before, existing)
      if (routed !== NOT_MINE) return routed
    }
    if (obs.action === 'delete') {
      if (existing?.type === 'delete') {
        // The same delete seen by the other source (audit's Status carries no resourceVersion to merge on).
        this.#evidence(existing, obs, true)
        return existing.key
      }
      if (existing !== undefined) this.#close(existing, undecided(existing.pending) ?? (existing.type === 'update' || existing.type === 'create' ? 'applied' : 'failed'))
      const open = this.#open(obs, root, 'delete', 'delete', before)
      // (A custom kind's group keeps a Knative Service's delete from being read as a core Service's.)
      if (isCustomKind(kind, obs.ref.apiGroup)) open.group = obs.ref.apiGroup
      if (obs.relist === true) open.relisted = true
      open.pending = 'applied'
      this.#settleLater(open)
      return open.key
    }
    if (obs.action === 'create') {
      if (existing !== undefined) this.#close(existing, existing.pending ?? 'open')
      if (WORKLOAD_KINDS.has(kind) && (kind !== 'Rollout' || isArgoRollout(kind, obs.ref.apiGroup))) {
        const open = this.#open(obs, root, 'create', this.#rev(obs), undefined)
        this.#progress(open)
        return open.key
      }
      // A re-list shows a uid gone and a new one, not when: whether it was "within the quiet period" is unknown.
      const deleted = kind === 'Service' && obs.ref.apiGroup === '' && obs.relist !== true ? this.#deletedService(obs.ref.namespace, obs.ref.name, root.uid) : undefined
      const open = this.#open(obs, root, 'create', this.#rev(obs), undefined)
      if (deleted !== undefined) this.#recreated(open, deleted)
      open.pending = 'applied'
      this.#settleLater(open)
      return open.key
    }
    if (obs.action === 'status') return this.#onStatus(obs, root, before, existing)
    if (WORKLOAD_KINDS.has(kind)) return this.#onWorkloadWrite(obs, root, before, existing)
    return this.#onGenericWrite(obs, root, before, existing)
  }

  /** The open delete of a Service of this name (another uid): it is being re-created within the quiet period. */
  #deletedService (namespace: string, name: string, uid: string): Open | undefined {
    for (const o of this.#window.values()) {
      if (o.type === 'delete' && o.relisted !== true && o.root.kind === 'Service' && o.group === undefined && o.root.namespace === namespace && o.root.name === name && o.root.uid !== uid) return o
    }
    return undefined
  }

  /**
   * Every client holding the old address must be told: one change, the
   * re-created Service, with what moved; its delete is folded in, not sent.
   */
  #recreated (open: Open, deleted: Open): void {
    this.#window.delete(deleted.key)
    open.replaces = deleted.root.uid
    const old = deleted.before ?? deleted.latest
    if (old !== undefined) open.before = old
    if (open.actor === null && deleted.actor !== null) open.actor = deleted.actor
    for (const [src, n] of Object.entries(deleted.counts)) open.counts[src as Source] = (open.counts[src as Source] ?? 0) + n
    open.auditIDs.unshift(...deleted.auditIDs.filter(id => !open.auditIDs.includes(id)))
    open.timeline.unshift(...deleted.timeline.slice(0, Math.max(0, this.#opts.maxTimeline - open.timeline.length)))
    open.startedAt = Math.min(open.startedAt, deleted.startedAt)
    for (const [svc, f] of Object.entries(deleted.folds)) open.folds[svc] ??= f
  }

  #onStatus (obs: Observation, root: RootRef, before: K8sObject | undefined, existing: Open | undefined): string | undefined {
    const { kind } = obs.ref
    if (kind === 'Service' && obs.object !== undefined && before !== undefined &&
        JSON.stringify(lbIngress(before)) !== JSON.stringify(lbIngress(obs.object))) {
      // A load-balancer IP moving is the "Service IP changed" case: a change even though it is status.
      return this.#onGenericWrite(obs, root, before, existing)
    }
    if (existing === undefined) return undefined
    this.#evidence(existing, obs, true)
    const detector = this.#detectorOf(existing)
    if (detector?.progress !== undefined) detector.progress(this.#ctx, existing)
    else if (WORKLOAD_KINDS.has(kind)) this.#progress(existing)
    return existing.key
  }

  #onWorkloadWrite (obs: Observation, root: RootRef, before: K8sObject | undefined, existing: Open | undefined): string | undefined {
    const kind = obs.ref.kind
    const cls = obs.scale !== undefined ? 'scale' : classifyWorkloadWrite(before, obs.object, obs.request, kind)
    if (cls === 'none') {
      if (existing === undefined) return undefined
      this.#evidence(existing, obs, true)
      this.#progress(existing)
      return existing.key
    }
    if (cls === 'rollout' || cls === 'restart') {
      if (existing !== undefined && WORKLOAD_CHANGE.has(existing.type) && existing.pending === null && existing.type !== 'scale') {
        // A newer template before the older finished: one report, for the newer.
        const open = this.#open(obs, root, cls, this.#rev(obs), existing.before ?? before, existing)
        this.#progress(open)
        return open.key
      }
      if (existing !== undefined && existing.type === 'scale' && existing.pending === null) {
        existing.type = cls
        existing.idRev = this.#rev(obs)
        if (obs.actor !== undefined && !isSystemActor(obs.actor)) existing.actor = obs.actor
        this.#evidence(existing, obs, true)
        this.#progress(existing)
        return existing.key
      }
      if (existing !== undefined) this.#close(existing, existing.pending ?? 'applied')
      const open = this.#open(obs, root, cls, this.#rev(obs), before)
      this.#progress(open)
      return open.key
    }
    if (cls === 'scale') {
      const to = obs.scale?.replicas ?? obs.object?.spec?.replicas
      if (existing !== undefined && WORKLOAD_CHANGE.has(existing.type) && existing.pending === null) {
        existing.replicasTo = to
        this.#evidence(existing, obs, true)
        this.#progress(existing)
        return existing.key
      }
      if (existing !== undefined) this.#close(existing, existing.pending ?? 'applied')
      const open = this.#open(obs, root, 'scale', this.#rev(obs), before)
      open.replicasFrom = before?.spec?.replicas
      open.replicasTo = to
      this.#progress(open)
      return open.key
    }
    // 'update' or 'unknown'
    if (existing !== undefined) {
      this.#evidence(existing, obs, true)
      if (existing.type === 'update') this.#settleLater(existing)
      else this.#progress(existing)
      return existing.key
    }
    const open = this.#open(obs, root, 'update', this.#rev(obs), before)
    if (cls === 'unknown') {
      open.tentative = true
      open.firstSight = true
    }
    open.pending = 'applied'
    this.#settleLater(open)
    return open.key
  }

  #onGenericWrite (obs: Observation, root: RootRef, before: K8sObject | undefined, existing: Open | undefined): string | undefined {
    if (existing !== undefined) {
      this.#evidence(existing, obs, true)
      if (existing.pending !== null) this.#settleLater(existing)
      return existing.key
    }
    if (before !== undefined && obs.object !== undefined && this.#diff(obs.ref.kind, before, obs.object).length === 0) {
      // A write that changed nothing a person declared (bookkeeping, a no-op apply).
      return undefined
    }
    const open = this.#open(obs, root, 'update', this.#rev(obs), before)
    open.firstSight = before === undefined
    open.pending = 'applied'
    this.#settleLater(open)
    return open.key
  }

  // ---- endpoints and events ---------------------------------------------

  #onEndpointSlice (obs: Observation, sliceKey: string, before: K8sObject | undefined): string | undefined {
    const svcName = obs.object?.metadata?.labels?.[SERVICE_NAME_LABEL] ?? before?.metadata?.labels?.[SERVICE_NAME_LABEL] ?? this.#index.get(sliceKey)?.labels?.[SERVICE_NAME_LABEL]
    if (svcName === undefined) return undefined
    const ns = obs.ref.namespace
    const svcUid = this.#index.uidByName('Service', ns, svcName)
    const svcKey = svcUid ?? `Service/${ns}/${svcName}`
    const known = this.#slices.has(sliceKey)
    const oldUnion = this.#union(svcKey)
    if (obs.action === 'delete') {
      this.#slices.delete(sliceKey)
      this.#serviceSlices.get(svcKey)?.delete(sliceKey)
    } else {
      if (obs.object === undefined) return undefined
      this.#slices.set(sliceKey, readyAddresses(obs.object))
      let set = this.#serviceSlices.get(svcKey)
      if (set === undefined) this.#serviceSlices.set(svcKey, set = new Set())
      set.add(sliceKey)
    }
    // The first sight of a slice that already existed is the baseline, not a change.
    if (!known && obs.action !== 'create' && obs.action !== 'delete') return undefined
    const newUnion = this.#union(svcKey)
    const added = [...newUnion.keys()].filter(a => !oldUnion.has(a))
    const removed = [...oldUnion.keys()].filter(a => !newUnion.has(a))
    const svcRoot: RootRef = { key: svcKey, uid: svcUid ?? '', kind: 'Service', namespace: ns, name: svcName }
    const explaining = this.#explainEndpoints(svcRoot, [...added.map(a => newUnion.get(a)), ...removed.map(a => oldUnion.get(a))])
    if (explaining !== undefined) {
      this.#evidence(explaining, obs, true)
      if (added.length + removed.length > 0) this.#fold(explaining, `${ns}/${svcName}`, oldUnion, newUnion)
      return explaining.key
    }
    if (added.length + removed.length === 0) return undefined
    const epKey = `${svcKey}#endpoints`
    let open = this.#window.get(epKey)
    if (open === undefined) {
      open = this.#open({ ...obs, actor: undefined }, { ...svcRoot, key: epKey }, 'endpoints', this.#rev(obs), undefined)
      open.pending = 'applied'
    } else {
      this.#evidence(open, obs, true)
    }
    this.#fold(open, `${ns}/${svcName}`, oldUnion, newUnion)
    this.#settleLater(open)
    return open.key
  }

  #union (svcKey: string): Map<string, string | undefined> {
    const out = new Map<string, string | undefined>()
    for (const s of this.#serviceSlices.get(svcKey) ?? []) for (const [a, p] of this.#slices.get(s) ?? []) out.set(a, p)
    return out
  }

  /** An open change of the Service itself or of a workload that backs it explains endpoint moves. */
  #explainEndpoints (svc: RootRef, pods: Array<string | undefined>): Open | undefined {
    for (const pod of pods) {
      if (pod === undefined || pod.startsWith('name:')) continue
      const info = this.#index.get(pod)
      if (info === undefined) continue
      const root = this.#index.root(pod, info)
      const open = this.#window.get(root.key)
      if (open !== undefined && WORKLOAD_CHANGE.has(open.type)) return open
    }
    // A Service created or edited moments ago explains its endpoints only when no workload does.
    const own = (): Open | undefined => {
      const o = this.#window.get(svc.key)
      return o !== undefined && (o.type === 'create' || o.type === 'update' || o.type === 'delete') ? o : undefined
    }
    const svcObj = this.#index.get(svc.uid)?.snapshot
    const selector = svcObj?.spec?.selector as Record<string, string> | undefined
    if (selector === undefined) return own()
    for (const open of this.#window.values()) {
      if (!WORKLOAD_CHANGE.has(open.type) || open.root.namespace !== svc.namespace) continue
      const labels = (open.latest ?? this.#index.get(open.root.uid)?.snapshot)?.spec?.template?.metadata?.labels
      if (selectorMatches(selector, labels)) return open
    }
    return own()
  }

  /**
   * Endpoint moves can arrive before the workload change that explains them
   * (informers resume in any order): an open endpoints change of a Service
   * this workload backs folds into it, keeping its baseline.
   */
  #adoptEndpoints (open: Open, obj: K8sObject | undefined): void {
    const labels = (obj ?? this.#index.get(open.root.uid)?.snapshot)?.spec?.template?.metadata?.labels
    if (labels === undefined) return
    for (const ep of this.#window.values()) {
      if (ep.type !== 'endpoints' || ep.root.namespace !== open.root.namespace) continue
      const selector = this.#index.get(ep.root.uid)?.snapshot?.spec?.selector as Record<string, string> | undefined
      if (!selectorMatches(selector, labels)) continue
      this.#window.delete(ep.key)
      for (const [svc, f] of Object.entries(ep.folds)) {
        const mine = open.folds[svc]
        if (mine === undefined) open.folds[svc] = f
        else mine.baseline = f.baseline
      }
      for (const [src, n] of Object.entries(ep.counts)) open.counts[src as Source] = (open.counts[src as Source] ?? 0) + n
      open.timeline.push(...ep.timeline.slice(0, Math.max(0, this.#opts.maxTimeline - open.timeline.length)))
    }
  }

  #fold (open: Open, service: string, oldUnion: Map<string, unknown>, newUnion: Map<string, unknown>): void {
    let f = open.folds[service]
    if (f === undefined) open.folds[service] = f = { service, baseline: [...oldUnion.keys()], current: [] }
    f.current = [...newUnion.keys()]
  }

  #onEvent (obs: Observation): string | undefined {
    const involved = obs.object?.involvedObject ?? obs.object?.regarding
    const uid = typeof involved?.uid === 'string' ? involved.uid : undefined
    if (uid === undefined) return undefined
    const root = this.#index.root(uid, { kind: String(involved.kind ?? ''), namespace: String(involved.namespace ?? ''), name: String(involved.name ?? '') })
    const open = this.#window.get(root.key)
    if (open === undefined) return undefined
    const reason = obs.reason ?? String(obs.object?.reason ?? '')
    const message = obs.message ?? String(obs.object?.message ?? obs.object?.note ?? '')
    // The Event's own count (or series.count) says how often it happened; updates only repeat it.
    const seen = Number(obs.object?.count ?? obs.object?.series?.count ?? 1)
    const count = Number.isFinite(seen) && seen > 0 ? seen : 1
    const e = open.events[reason]
    if (e === undefined) open.events[reason] = { reason, message, count }
    else { e.count = Math.max(e.count, count); e.message = message }
    this.#evidence(open, obs, true, reason)
    return open.key
  }

  // ---- state machine -----------------------------------------------------

  #rev (obs: Observation): string {
    if (obs.generation !== undefined && (obs.ref.kind !== 'Service' || obs.ref.apiGroup !== '')) return `g${obs.generation}`
    return obs.resourceVersion ?? obs.auditID ?? String(obs.at)
  }

  #open (obs: Observation, root: RootRef, type: ChangeType, idRev: string, before: K8sObject | undefined, superseding?: Open): Open {
    const open: Open = {
      key: root.key,
      type,
      root,
      openedBy: obs.source,
      actor: obs.actor !== undefined && (!isSystemActor(obs.actor) || obs.source === 'audit' || obs.source === 'admission') ? obs.actor : null,
      startedAt: obs.at,
      lastAt: obs.at,
      settleAt: null,
      pending: null,
      idRev,
      superseded: [],
      counts: {},
      auditIDs: [],
      timeline: [],
      timelineDropped: 0,
      folds: {},
      events: {}
    }
    if (before !== undefined) open.before = before
    if (superseding !== undefined) {
      // The superseded rollout is named in the newer one's report, never sent alone.
      open.superseded.push(...superseding.superseded, {
        revision: revisionOf(superseding.latest) ?? undefined,
        images: imageChanges(superseding.before, superseding.latest),
        actor: superseding.actor?.username ?? null
      })
      for (const [s, n] of Object.entries(superseding.counts)) open.counts[s as Source] = n
      open.auditIDs.push(...superseding.auditIDs)
      open.timeline.push(...superseding.timeline)
      open.folds = superseding.folds
      this.#window.delete(superseding.key)
    }
    this.#window.set(root.key, open)
    this.#opts.hooks?.opened?.(type)
    if (WORKLOAD_CHANGE.has(type) && WORKLOAD_KINDS.has(root.kind)) this.#adoptEndpoints(open, obs.object)
    this.#evidence(open, obs, false)
    return open
  }

  #evidence (open: Open, obs: Observation, extend: boolean, note?: string): void {
    // A change the watch opened without a name learns it from the audit event
    // of a write to the object itself, also one that does not merge by
    // resourceVersion (after a restart the first list shows only the last state).
    if (open.actor === null && open.type !== 'endpoints' && (obs.source === 'audit' || obs.source === 'admission') &&
        obs.action !== 'status' && obs.ref.uid === open.root.uid && obs.actor !== undefined && !isSystemActor(obs.actor)) open.actor = obs.actor
    open.lastAt = Math.max(open.lastAt, obs.at)
    open.counts[obs.source] = (open.counts[obs.source] ?? 0) + 1
    if (obs.auditID !== undefined && open.auditIDs[open.auditIDs.length - 1] !== obs.auditID) open.auditIDs.push(obs.auditID)
    if (obs.object !== undefined && obs.ref.uid === open.root.uid && obs.ref.kind === open.root.kind) open.latest = obs.object
    if (open.timeline.length < this.#opts.maxTimeline) {
      const entry: TimelineEntry = { at: new Date(obs.at).toISOString(), source: obs.source, action: obs.action, kind: obs.ref.kind, name: obs.ref.name }
      if (obs.ref.subresource !== undefined) entry.subresource = obs.ref.subresource
      if (obs.actor !== undefined) entry.user = obs.actor.username
      if (obs.auditID !== undefined) entry.auditID = obs.auditID
      if (note !== undefined && note !== '') entry.note = note
      open.timeline.push(entry)
    } else {
      open.timelineDropped++
    }
    // Evidence after a change has settled keeps it open a little longer, so
    // late endpoint moves and cascades land in the same report.
    // (An undecided change waits for its deadline, which evidence never moves.)
    if (extend && open.settleAt !== null && open.pending !== 'timed-out') this.#setSettle(open, obs.at + this.#opts.quietMs)
  }

  #settleLater (open: Open): void {
    this.#setSettle(open, open.lastAt + this.#opts.quietMs)
  }

  #setSettle (open: Open, at: number): void {
    open.settleAt = at
    if (at < this.#nextSettle) this.#nextSettle = at
  }

  #progress (open: Open): void {
    if (open.type === 'update' || open.type === 'delete') return
    const obj = open.latest
    if (obj === undefined) return
    const kind = open.root.kind
    let st: RolloutStatus
    if (open.type === 'scale') st = scaleStatus(obj, kind)
    else if (kind === 'Rollout') st = this.#argoRollout(obj)
    else st = rolloutStatus(obj, kind)
    if (st.state === 'failed') {
      open.doneAt ??= open.lastAt
      open.pending = 'failed'
      open.reason = st.reason
      open.message = st.message
      this.#settleLater(open)
    } else if (st.state === 'done' && open.pending === null) {
      open.doneAt = open.lastAt
      open.pending = 'succeeded'
      this.#settleLater(open)
    }
  }

  /** An Argo Rollout by its built-in rule, or the config's `kinds:` entry for rollouts.argoproj.io over it. */
  #argoRollout (obj: K8sObject): RolloutStatus {
    const r = statusRuleFor('Rollout', 'argoproj.io', this.#opts.kinds !== undefined ? { kinds: this.#opts.kinds } : {}, 'rollouts').evaluate({ object: obj })
    if (r.state === 'succeeded') return { state: 'done' }
    if (r.state === 'failed') return { state: 'failed', reason: r.reason ?? 'Degraded', message: r.message ?? '' }
    return { state: 'waiting' }
  }

  /** The detector that owns the root of this change. */
  #detectorOf (open: Open): Detector | undefined {
    return detectorFor(open.root.kind, open.group ?? '')
  }

  #toDetector (obs: Observation, root: RootRef, before: K8sObject | undefined, existing: Open | undefined): string | undefined | typeof NOT_MINE {
    const detector = detectorFor(obs.ref.kind, obs.ref.apiGroup)
    return detector?.onWrite !== undefined ? detector.onWrite(this.#ctx, obs, root, before, existing) : NOT_MINE
  }

  #diff (kind: string, before: K8sObject | undefined, after: K8sObject | undefined, group = ''): ReturnType<typeof diffObjects> {
    if (kind === 'Service' && group === '') {
      const d = serviceDiff(before, after)
      const rest = diffObjects(before, after, kind).filter(x => !x.path.startsWith('spec.'))
      return [...d, ...rest]
    }
    return diffObjects(before, after, kind)
  }

  #close (open: Open, outcome: Outcome): void {
    this.#window.delete(open.key)
    this.#emit(open, outcome)
  }

  #emit (open: Open, outcome: Outcome): void {
    const details: ChangeDetails = {}
    const kind = open.root.kind
    const latest = open.latest
    if (open.type === 'update') {
      if (!(open.firstSight ?? false) || open.before !== undefined) {
        const diff = this.#diff(kind, open.before, latest, open.group)
        if (diff.length === 0 && open.before !== undefined && latest !== undefined) {
          // Changed and changed back within the quiet period: nothing to report.
          this.#opts.hooks?.netZero?.()
          return
        }
        details.diff = diff
      }
      if (isSensitiveKind(kind) && open.before !== undefined && latest !== undefined) details.keys = keyChanges(open.before, latest)
    }
    if (open.type === 'create' && isSensitiveKind(kind) && latest !== undefined) details.keys = keyChanges(undefined, latest)
    if (kind === 'Service' && open.group === undefined && open.type !== 'endpoints') {
      const profile = serviceProfile(open.type === 'delete' ? open.before ?? latest : latest ?? open.before)
      if (profile !== undefined) details.service = profile
      if (open.replaces !== undefined) {
        details.recreated = { uid: open.replaces, moves: serviceMoves(serviceProfile(open.before), profile) }
        details.diff = this.#diff(kind, open.before, latest)
      }
    }
    if (WORKLOAD_KINDS.has(kind) && open.type !== 'delete' && open.type !== 'update') {
      const rev = revisionOf(latest)
      if (rev !== undefined && (kind === 'Deployment' || kind === 'Rollout')) details.revision = rev
      // A rollout picked up at start-up has no earlier template to compare with: no image claim.
      const images = open.type === 'create' || open.before !== undefined ? imageChanges(open.type === 'create' ? undefined : open.before, latest) : []
      if (images.length > 0 && open.type !== 'scale') details.images = images
      details.replicas = replicaCounts(latest, kind)
      if (open.replicasFrom !== undefined) details.replicas.from = open.replicasFrom
      if (open.replicasTo !== undefined) details.replicas.to = open.replicasTo
    }
    if (open.superseded.length > 0) details.superseded = open.superseded
    const endpoints = Object.values(open.folds).map(f => {
      const baseline = new Set(f.baseline)
      const current = new Set(f.current)
      return {
        service: f.service,
        added: [...current].filter(a => !baseline.has(a)).sort(),
        removed: [...baseline].filter(a => !current.has(a)).sort()
      }
    }).filter(e => e.added.length + e.removed.length > 0)
    if (endpoints.length > 0) details.endpoints = endpoints
    if (open.type === 'endpoints' && endpoints.length === 0) {
      this.#opts.hooks?.netZero?.()
      return
    }
    if (Object.keys(open.events).length > 0) details.events = Object.values(open.events).sort((a, b) => b.count - a.count).slice(0, 10)
    let reason = open.reason
    let message = open.message
    if (outcome === 'failed' || outcome === 'timed-out') {
      // Events say why a rollout stalled when the status only says that it did.
      const why = details.events?.find(e => FAILURE_EVENTS.has(e.reason))
      if (why !== undefined) {
        if (reason === undefined) reason = why.reason
        message = message === undefined || message === '' ? why.message : `${message}; ${why.reason}: ${why.message}`
      }
    }
    if (reason !== undefined) details.reason = reason
    if (message !== undefined && message !== '') details.message = message
    let startedAt = open.startedAt
    let endedAt = open.doneAt ?? open.lastAt
    // The object's own clock, when its detector knows one (a Job's status.startTime to its completion).
    const span = this.#detectorOf(open)?.span?.(open)
    if (span !== undefined) ({ startedAt, endedAt } = span)
    if (outcome === 'timed-out' || outcome === 'open') endedAt = Math.max(open.lastAt, this.#now)
    // A custom resource's deadline is when it timed out, however late the clock noticed.
    if (outcome === 'timed-out' && open.pending === 'timed-out' && open.settleAt !== null) endedAt = Math.max(open.lastAt, Math.min(endedAt, open.settleAt))
    if (open.timelineDropped > 0) {
      open.timeline.push({ at: new Date(open.lastAt).toISOString(), source: 'audit', action: 'update', kind, name: open.root.name, note: `${open.timelineDropped} more observations not shown` })
    }
    const change: Change = {
      id: changeId(open.root.uid !== '' ? open.root.uid : open.key, open.type, open.idRev),
      type: open.type,
      outcome,
      object: { kind, namespace: open.root.namespace, name: open.root.name, uid: open.root.uid.startsWith('pending:') ? '' : open.root.uid },
      actor: open.actor === null ? null : { username: open.actor.username, groups: open.actor.groups },
      summary: '',
      startedAt: new Date(startedAt).toISOString(),
      endedAt: new Date(endedAt).toISOString(),
      durationMs: Math.max(0, endedAt - startedAt),
      details,
      counts: open.counts,
      auditIDs: [...open.auditIDs],
      timeline: open.timeline
    }
    change.summary = summarize(change)
    this.#opts.hooks?.closed?.(open.type, outcome)
    this.#opts.onChange(change)
  }
}
