import { performance } from 'node:perf_hooks'
import type { Logger } from 'pino'
import type { Change, Observation } from './model.js'
import { Correlator, type CorrelatorState, type CutState } from './correlate/correlator.js'
import type { KindsConfig } from './detectors/status/index.js'
import { compactBaseline, compactObservation } from './correlate/compact.js'
import type { JournalEntry, ListedKind } from './store/state.js'
import { eventListItems, normalizeAuditEvent } from './sources/audit.js'
import type { PipelineMetrics } from './metrics.js'
import type { KubechangesError } from './errors.js'

// The stages wired in order: sources → normalize → dedup/correlate →
// detectors → (store, notify). The pipeline owns no clock: callers pass the
// time in (events' own time, or the wall clock in `serve`).

export interface PipelineOptions {
  quietMs: number
  ttlMs: number
  maxObjects: number
  metrics: PipelineMetrics
  log: Logger
  /** Every closed change, once. */
  onChange: (change: Change) => void
  ignoreNamespaces?: string[]
  ignoreKinds?: string[]
  /** Per-kind status rules for custom resources (config `kinds:`). */
  kinds?: KindsConfig
  /**
   * Keep a journal of what the correlator consumes (taken with takeJournal()
   * and written in the same transaction as the changes it closed).
   */
  journal?: boolean
  /** Runs f in one store transaction (nested calls join the outer one). */
  atomic?: <T>(f: () => T) => T
}

export interface BatchResult { received: number, observations: number, dropped: number, malformed: number }

export class Pipeline {
  readonly correlator: Correlator
  readonly #metrics: PipelineMetrics
  readonly #log: Logger
  readonly #ignoreNs: Set<string>
  readonly #ignoreKinds: Set<string>
  readonly #atomic: <T>(f: () => T) => T
  #journal: JournalEntry[] | undefined
  /** A tick that changed nothing but the clock: journaled before the next entry, not on its own. */
  #pendingClock: number | undefined
  #replaying = false

  constructor (opts: PipelineOptions) {
    const m = opts.metrics
    this.#metrics = m
    this.#log = opts.log
    this.#ignoreNs = new Set(opts.ignoreNamespaces ?? [])
    this.#ignoreKinds = new Set(opts.ignoreKinds ?? [])
    this.#atomic = opts.atomic ?? (f => f())
    if (opts.journal === true) this.#journal = []
    // Replaying the journal rebuilds state already counted once.
    const live = <A extends unknown[]>(f: (...a: A) => void) => (...a: A): void => { if (!this.#replaying) f(...a) }
    this.correlator = new Correlator({
      quietMs: opts.quietMs,
      ttlMs: opts.ttlMs,
      maxObjects: opts.maxObjects,
      onChange: opts.onChange,
      ...(opts.ignoreNamespaces !== undefined ? { ignoreNamespaces: opts.ignoreNamespaces } : {}),
      ...(opts.ignoreKinds !== undefined ? { ignoreKinds: opts.ignoreKinds } : {}),
      ...(opts.kinds !== undefined ? { kinds: opts.kinds } : {}),
      hooks: {
        // Audit items are counted as they arrive (dropped ones too), in ingestAudit.
        observed: live(source => { if (source !== 'audit') m.received.inc({ source }) }),
        dropped: live(reason => m.dropped.inc({ reason })),
        opened: live(type => m.opened.inc({ type })),
        closed: live((type, outcome) => m.closed.inc({ type, outcome })),
        evicted: live(reason => m.evictions.inc({ reason })),
        netZero: live(() => m.netZero.inc())
      }
    })
  }

  /** The body of POST /audit or one audit log line; a bad item is skipped, counted and logged. */
  ingestAudit (body: unknown): BatchResult | KubechangesError {
    const items = eventListItems(body)
    if (!Array.isArray(items)) return items
    const end = this.#metrics.ingestSeconds.startTimer({ source: 'audit' })
    const res: BatchResult = { received: items.length, observations: 0, dropped: 0, malformed: 0 }
    this.#metrics.received.inc({ source: 'audit' }, items.length)
    this.#record({ k: 'a' })
    this.correlator.noteAudit()
    for (const item of items) {
      const r = normalizeAuditEvent(item)
      if (r.kind === 'observation') {
        try {
          this.#ingest(r.observation)
          res.observations++
        } catch (err) {
          // A shape no detector expected must cost one event, not the batch:
          // a 500 would make the apiserver re-send it, and dedup would then drop it all.
          res.malformed++
          this.#metrics.dropped.inc({ reason: 'malformed' })
          this.#log.error({ err, auditID: r.observation.auditID }, 'audit event could not be processed')
        }
      } else if (r.kind === 'dropped') {
        res.dropped++
        this.#metrics.dropped.inc({ reason: r.reason })
      } else {
        res.malformed++
        this.#metrics.dropped.inc({ reason: 'malformed' })
        this.#log.warn({ code: r.error.code }, r.error.message)
      }
    }
    this.#metrics.windowSize.set(this.correlator.openCount)
    end()
    return res
  }

  /** Runs f as one transaction: the observations it ingests (a watch list page) commit together. */
  batch<T> (f: () => T): T { return this.#atomic(f) }

  /** One observation (watch, admission), in its own transaction unless inside one. */
  ingest (obs: Observation): void {
    this.#atomic(() => { this.#ingest(obs) })
  }

  #ingest (obs: Observation): void {
    const c = this.correlator
    if (c.inert(obs)) {
      this.#record({ k: 's', id: obs.auditID!, n: obs.at })
      c.ingestInert(obs.auditID!, obs.at)
      return
    }
    if (this.#journal !== undefined && !this.#replaying) {
      const statusRead = obs.action !== 'status' || c.statusMayMatter(obs)
      this.#record({ k: 'i', o: compactObservation(obs, this.#skips(obs), statusRead, !statusRead && c.knowsState(obs.ref.uid ?? obs.object?.metadata?.uid)) })
    }
    this.correlator.ingest(obs)
  }

  /** Existing state from a source's first list: learned, never a change (unless a rollout is in progress). */
  baseline (obs: Observation): void {
    this.#atomic(() => {
      if (this.#journal !== undefined && !this.#replaying) this.#record({ k: 'b', o: compactBaseline(obs, this.#skips(obs), this.correlator.resumed) })
      this.correlator.baseline(obs)
    })
  }

  tick (now: number): void {
    const c = this.correlator
    // A tick that closes nothing and ages nothing out only moves the clock:
    // that much is written before the next entry instead of once a second.
    const scans = c.nextSettle <= now
    const size = c.openCount
    c.tick(now)
    if (this.#journal !== undefined && !this.#replaying) {
      if (scans || c.openCount !== size) this.#record({ k: 't', n: now })
      else if (now > (this.#pendingClock ?? -Infinity)) this.#pendingClock = now
    }
    this.#metrics.windowSize.set(c.openCount)
  }

  /** The observation cannot move state: only its clock and identity are journaled. */
  #skips (obs: Observation): boolean {
    return this.#ignoreNs.has(obs.ref.namespace) || this.#ignoreKinds.has(obs.ref.kind) ||
      (obs.source === 'audit' && obs.auditID !== undefined && this.correlator.seenAudit(obs.auditID))
  }

  #record (e: JournalEntry): void {
    const j = this.#journal
    if (j === undefined || this.#replaying) return
    if (this.#pendingClock !== undefined) {
      j.push({ k: 't', n: this.#pendingClock })
      this.#pendingClock = undefined
    }
    j.push(e)
  }

  /** What was consumed since the last call: the caller writes it in the same transaction. */
  takeJournal (): JournalEntry[] {
    const j = this.#journal
    if (j === undefined || j.length === 0) return []
    this.#journal = []
    return j
  }

  /** Forget what was consumed but not written (its transaction rolled back). */
  dropJournal (): void {
    if (this.#journal !== undefined) this.#journal = []
  }

  exportState (): CorrelatorState { return this.correlator.exportState() }
  /** The state for a snapshot written while ingest goes on (Correlator.cutState). */
  cutState (): CutState { return this.correlator.cutState() }

  /**
   * Continue from a snapshot and the journal after it; changes closed on the way go to onChange as
   * before. `replayMs`: how long the journal took (the snapshot's import not included).
   */
  restore (state: CorrelatorState | undefined, journal: Iterable<JournalEntry[]>): { entries: number, failed: number, replayMs: number } {
    this.#replaying = true
    let entries = 0
    let failed = 0
    let t = 0
    try {
      if (state !== undefined) this.correlator.importState(state)
      t = performance.now()
      for (const row of journal) {
        for (const e of row) {
          entries++
          try {
            this.#apply(e)
          } catch (err) {
            // The live run failed on the same entry at the same point, and went on.
            failed++
            this.#log.debug({ err }, 'journal entry failed again on replay')
          }
        }
      }
    } finally {
      this.#replaying = false
    }
    this.#metrics.windowSize.set(this.correlator.openCount)
    return { entries, failed, replayMs: performance.now() - t }
  }

  #apply (e: JournalEntry): void {
    const c = this.correlator
    if (e.k === 'i') c.ingest(e.o)
    else if (e.k === 's') c.ingestInert(e.id, e.n)
    else if (e.k === 'b') c.baseline(e.o)
    else if (e.k === 'a') c.noteAudit()
    else if (e.k === 't') c.tick(e.n)
    else if (e.k === 'l') c.listed(e.ref, e.namespace, new Set(e.uids), e.at)
    else if (e.k === 'r') c.resume()
  }

  /**
   * A watch informer listed its kind for the first time since a restart:
   * objects the restored state knows of that kind but the list does not hold
   * were deleted while kubechanges was down.
   */
  listed (ref: ListedKind, namespace: string | undefined, uids: string[], at: number): void {
    if (!this.correlator.resumed) return
    this.#atomic(() => {
      this.#record({ k: 'l', ref, ...(namespace !== undefined ? { namespace } : {}), uids, at })
      this.correlator.listed(ref, namespace, new Set(uids), at)
    })
  }

  /** After a restart's replay: first lists from here on are compared with the restored state. */
  resume (): void {
    this.#atomic(() => {
      this.#record({ k: 'r' })
      this.correlator.resume()
    })
  }

  flush (): void {
    this.correlator.flush()
    this.#metrics.windowSize.set(this.correlator.openCount)
  }
}
