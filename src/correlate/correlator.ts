import { createHash } from 'node:crypto'
import type { Actor, Change, ChangeDetails, ChangeType, K8sObject, Observation, Outcome, Source, TimelineEntry } from '../model.js'
import { LRUCache } from 'lru-cache'
import { Dedup, type Fingerprint, type LegacyDedupDump, type WriteRow } from './dedup.js'
import { ObjectIndex, isControllerChild, nameKey, type ObjectInfo, type RootRef } from './owners.js'
import type { Sliceable } from './sliceable.js'
import { Window, type EvictReason } from './window.js'
import { desiredState } from '../detectors/diff.js'
import { DETECTORS, NOT_MINE, routesFor, type Detector, type DetectorContext, type DetectorState } from '../detectors/index.js'
import { endpointMoves, FAILURE_EVENTS } from '../detectors/report.js'
import { summarize } from '../detectors/summary.js'
import { undecided } from '../detectors/custom.js'
import type { KindsConfig } from '../detectors/status/index.js'
import { isSystemActor } from './actors.js'
import type { Open } from './open.js'

// The correlator turns deduplicated observations into logical changes: it
// routes each one (dedup → root → window → detector, src/detectors/) and owns
// the shared state and the clock. Each open change is a small state machine in
// the window, keyed by its root object (or by what its detector keys it by).
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
  /** Fingerprints of the last auditIDs, oldest first (a store from before them has the auditIDs themselves). */
  auditIDs: Fingerprint[] | LegacyDedupDump['auditIDs']
  writes: WriteRow[] | LegacyDedupDump['writes']
  objects: ObjectInfo[]
  names: Array<[string, string]>
  /** slice key → [ready address, pod uid | null] (the endpoints detector's state). */
  slices: Array<[string, Array<[string, string | null]>]>
  serviceSlices: Array<[string, string[]]>
  admissions: Array<[string, Admission]>
  /** Continuing from durable state since this clock: first lists are compared with what was known. */
  resumedAt: number | null
}

/** The state as a snapshot cut now reads it: each section sliceable (see Correlator.cutState). */
export type CutState = { [K in keyof CorrelatorState]: CorrelatorState[K] extends Array<infer T> ? Sliceable<T> : CorrelatorState[K] }

/** How far apart an admission review and the write it announced may be seen, when no exact join exists. */
const ADMISSION_JOIN_MS = 30_000

function joinAction (a: string): string { return a === 'patch' ? 'update' : a }

export { isSystemActor }

/**
 * An operator's service account writing a child it controls (cert-manager
 * applying a Certificate's Secret, Argo Rollouts its ReplicaSets): the
 * controller at work, not a person acting on the child.
 */
function isOperatorWrite (obs: Observation): boolean {
  if (obs.actor?.username.startsWith('system:serviceaccount:') !== true) return false
  const owner = obs.owners.find(o => o.controller === true)
  if (owner === undefined) return false
  const group = owner.apiVersion.includes('/') ? owner.apiVersion.split('/')[0]! : ''
  return routesFor(owner.kind, group).operated
}

export function changeId (uid: string, type: ChangeType, rev: string): string {
  return `${type}-${createHash('sha256').update(`${uid}|${type}|${rev}`).digest('hex').slice(0, 20)}`
}

export class Correlator {
  readonly #opts: Required<Pick<CorrelatorOptions, 'quietMs' | 'ttlMs' | 'maxObjects' | 'maxTimeline' | 'auditGraceMs'>> & CorrelatorOptions
  readonly #dedup = new Dedup()
  readonly #index = new ObjectIndex()
  readonly #window: Window<Open>
  /** The state detectors keep beside the open changes (a Service's EndpointSlices), in registry order. */
  readonly #states = new Map<Detector, DetectorState>()
  /** Recent admission reviews waiting for the write they announced: their actor joins it. */
  readonly #admissions = new LRUCache<string, Admission>({ max: 20_000 })
  readonly #ignoreNs: Set<string>
  readonly #ignoreKinds: Set<string>
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
      open: (obs, root, type, idRev, before) => {
        const open = this.#begin(obs, root, type, idRev, before)
        this.#evidence(open, obs, false)
        return open
      },
      begin: (obs, root, type, idRev, before) => this.#begin(obs, root, type, idRev, before),
      close: (open, outcome) => { this.#close(open, outcome) },
      evidence: (open, obs, extend) => { this.#evidence(open, obs, extend) },
      settleLater: open => { this.#settleLater(open) },
      setSettle: (open, at) => { this.#setSettle(open, at) },
      noteRefs: open => { this.#noteRefs(open) },
      rev: obs => this.#rev(obs),
      kinds: opts.kinds,
      maxTimeline: this.#opts.maxTimeline,
      get: key => this.#window.get(key),
      peek: key => this.#window.peek(key),
      opens: () => this.#window.values(),
      drop: open => { this.#window.delete(open.key) },
      known: uid => this.#index.get(uid),
      uidByName: (kind, namespace, name) => this.#index.uidByName(kind, namespace, name),
      rootOf: (uid, ref) => this.#index.root(uid, ref),
      stateOf: detector => this.#states.get(detector)
    }
    for (const d of DETECTORS) {
      const st = d.createState?.()
      if (st !== undefined) this.#states.set(d, st)
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
      },
      onLeave: key => { this.#dedup.forget(key) }
    })
  }

  get now (): number { return this.#now }
  /** The earliest time an open change may settle (Infinity when none waits). */
  get nextSettle (): number { return this.#nextSettle }
  /** Writes linked to an open change (at most a few per open change). */
  get linkCount (): number { return this.#dedup.links }
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
    return this.#state(this.#dedup.dump(), this.#index.dump())
  }

  /**
   * The same state for a snapshot encoded while ingest goes on, and unchanged by it: the big
   * sections as compact copies or as records nothing changes (about 7 MB at 100,000 objects and a
   * full dedup, where exportState()'s rows are about 60 MB), the small mutable ones copied.
   */
  cutState (): CutState {
    const st = this.#state(this.#dedup.cut(), this.#index.cut())
    // Open changes and admissions change in place as evidence comes: copied now (they are few).
    return { ...st, window: JSON.parse(JSON.stringify(st.window)), admissions: JSON.parse(JSON.stringify(st.admissions)) }
  }

  #state<D extends { auditIDs: unknown, writes: unknown }, X extends { objects: unknown, names: unknown }> (d: D, ix: X): Omit<CorrelatorState, 'auditIDs' | 'writes' | 'objects' | 'names'> & Pick<D, 'auditIDs' | 'writes'> & Pick<X, 'objects' | 'names'> {
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
      ...this.#detectorSections(),
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
    for (const [, open] of st.window) this.#noteRefs(open)
    this.#dedup.load({ auditIDs: st.auditIDs, writes: st.writes })
    this.#dedup.retainLinks(key => this.#window.peek(key) !== undefined)
    this.#index.load({ objects: st.objects, names: st.names })
    for (const d of this.#states.values()) d.load(st as unknown as Record<string, unknown>)
    for (const [k, v] of st.admissions) this.#admissions.set(k, v)
    this.#resumedAt = st.resumedAt ?? null
  }

  /** Each detector's own sections of the snapshot (the endpoints detector's `slices` and `serviceSlices`). */
  #detectorSections (): Pick<CorrelatorState, 'slices' | 'serviceSlices'> {
    const out: Record<string, unknown> = {}
    for (const d of this.#states.values()) Object.assign(out, d.dump())
    return out as unknown as Pick<CorrelatorState, 'slices' | 'serviceSlices'>
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

  /** What every observation does first, the inert ones too (see ingestInert). */
  #arrive (at: number, source: Observation['source']): void {
    // What settled before this observation closes first, so it cannot absorb a later write.
    if (at >= this.#nextSettle) this.tick(at)
    if (at > this.#now) this.#now = at
    this.#opts.hooks?.observed?.(source)
  }

  ingest (obs: Observation): void {
    this.#arrive(obs.at, obs.source)
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
    // A change that closed at once (or none) is no place for a later sighting of this write.
    if (verdict.record !== undefined && key !== undefined && this.#window.peek(key) !== undefined) {
      verdict.record.changeKey = key
      if (claimed !== undefined) verdict.record.claimedBy = claimed
    }
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
      isControllerChild(ref.kind) && routesFor(ref.kind, ref.apiGroup).observe === undefined && isSystemActor(obs.actor) &&
      // (An admission review waiting under this name could claim the write: see #joinAdmission.)
      (obs.action === 'status' || this.#admissions.size === 0 || !this.#admissions.has(`name:${nameKey(ref.kind, ref.namespace, ref.name)}`)) &&
      !this.#ignoreNs.has(ref.namespace) && !this.#ignoreKinds.has(ref.kind) && this.#index.peekUidByName(ref.kind, ref.namespace, ref.name) === undefined
  }

  /** What ingest does with an inert observation (see `inert`), from its auditID and time alone. */
  ingestInert (auditID: string, at: number): void {
    this.#arrive(at, 'audit')
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
    // The audit event of a listed write, arriving late, must open nothing: the
    // object's baselineRV drops it (#route), so only what has no such rule is
    // remembered as a write (a dedup record per listed object was about 25 MB
    // at 100,000 objects, and filled the dedup bound with history).
    const rv = Number(obs.resourceVersion)
    if (obs.source === 'event' || !Number.isInteger(rv)) this.#dedup.check(obs)
    if (obs.source === 'event') return
    const uid = this.#resolveUid(obs)
    this.#index.learn(obs, uid, Number.isInteger(rv) ? rv : undefined)
    const routes = routesFor(obs.ref.kind, obs.ref.apiGroup)
    if (routes.observe !== undefined) {
      // (A first list shows state: what it lists is no create.)
      routes.observe.observe!(this.#ctx, { ...obs, action: 'update' }, uid, undefined)
      return
    }
    if (obs.object === undefined || this.#window.peek(uid) !== undefined) return
    const root = this.#index.root(uid, obs.ref)
    if (root.uid !== uid) return
    routes.baseline?.baseline!(this.#ctx, obs as Observation & { object: K8sObject }, root)
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
    const routes = routesFor(kind, obs.ref.apiGroup)
    // The watch says MODIFIED for every write; one that left desired state
    // alone is a status write (or bookkeeping), as audit would have said.
    if (obs.source === 'watch' && obs.action === 'update' && before !== undefined && obs.object !== undefined &&
        JSON.stringify(desiredState(before)) === JSON.stringify(desiredState(obs.object))) obs.action = 'status'
    if (obs.source === 'event') return this.#onEvent(obs)
    if (routes.observe !== undefined) return routes.observe.observe!(this.#ctx, obs, uid, before)
    const root = this.#index.root(uid, obs.ref)
    if (root.uid !== uid) return this.#onChild(obs, root)
    if (info.owner === undefined && isControllerChild(kind) && isSystemActor(obs.actor)) {
      // A controller's write to an object whose owner we cannot see (audit at
      // Metadata level carries no body): bookkeeping, never a change.
      return undefined
    }
    if (routes.claim !== undefined && obs.action !== 'delete') {
      // A root write that belongs to another detector's change (a Certificate's Secret).
      const parent = routes.claim.claim!(this.#ctx, obs)
      if (parent !== undefined) {
        this.#evidence(parent, obs, true)
        return parent.key
      }
    }
    return this.#onRoot(obs, root, before, routes)
  }

  /** What an open change names, indexed by its detector so writes to those objects join it. */
  #noteRefs (open: Open): void {
    routesFor(open.root.kind, open.group ?? '').noteRefs?.noteRefs!(this.#ctx, open)
  }

  #onChild (obs: Observation, root: RootRef): string | undefined {
    const open = this.#window.get(root.key)
    if (!isSystemActor(obs.actor) && !isOperatorWrite(obs) && obs.action !== 'status' && obs.source !== 'watch') {
      // A person acting on a child (deleting a pod by hand) is a change of its own.
      return this.#onRoot(obs, { key: obs.ref.uid ?? root.key, uid: obs.ref.uid ?? '', kind: obs.ref.kind, namespace: obs.ref.namespace, name: obs.ref.name }, undefined, routesFor(obs.ref.kind, obs.ref.apiGroup))
    }
    if (open === undefined) return undefined
    routesFor(open.root.kind, open.group ?? '').onChild?.onChild!(this.#ctx, open, obs)
    this.#evidence(open, obs, true)
    return open.key
  }

  /** A write to a root object: its detectors, in registry order (the generic one last, for every kind). */
  #onRoot (obs: Observation, root: RootRef, before: K8sObject | undefined, routes: ReturnType<typeof routesFor>): string | undefined {
    const existing = this.#window.get(root.key)
    if (obs.action === 'delete') {
      const routed = routes.onDelete.onDelete!(this.#ctx, obs, root, before, existing)
      return routed === NOT_MINE ? undefined : routed
    }
    for (const d of routes.writes) {
      const routed = d.onWrite!(this.#ctx, obs, root, before, existing)
      if (routed !== NOT_MINE) return routed
    }
    return undefined
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
    if (obs.generation !== undefined) return `g${obs.generation}`
    return obs.resourceVersion ?? obs.auditID ?? String(obs.at)
  }

  /** A new open change in the window, before its first evidence. */
  #begin (obs: Observation, root: RootRef, type: ChangeType, idRev: string, before: K8sObject | undefined): Open {
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
    this.#window.set(root.key, open)
    this.#opts.hooks?.opened?.(type)
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

  #close (open: Open, outcome: Outcome): void {
    this.#window.delete(open.key)
    this.#emit(open, outcome)
  }

  #emit (open: Open, outcome: Outcome): void {
    const details: ChangeDetails = {}
    const kind = open.root.kind
    const routes = routesFor(kind, open.group ?? '')
    if (routes.details !== undefined && !routes.details.details!(this.#ctx, open, details)) {
      // Changed and changed back within the quiet period, endpoints that moved back: nothing to report.
      this.#opts.hooks?.netZero?.()
      return
    }
    if (open.superseded.length > 0) details.superseded = open.superseded
    const endpoints = endpointMoves(open)
    if (endpoints.length > 0) details.endpoints = endpoints
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
    const span = routes.span?.span!(open)
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
