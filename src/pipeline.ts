import type { Logger } from 'pino'
import type { Change, Observation } from './model.js'
import { Correlator } from './correlate/correlator.js'
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
}

export interface BatchResult { received: number, observations: number, dropped: number, malformed: number }

export class Pipeline {
  readonly correlator: Correlator
  readonly #metrics: PipelineMetrics
  readonly #log: Logger

  constructor (opts: PipelineOptions) {
    const m = opts.metrics
    this.#metrics = m
    this.#log = opts.log
    this.correlator = new Correlator({
      quietMs: opts.quietMs,
      ttlMs: opts.ttlMs,
      maxObjects: opts.maxObjects,
      onChange: opts.onChange,
      ...(opts.ignoreNamespaces !== undefined ? { ignoreNamespaces: opts.ignoreNamespaces } : {}),
      ...(opts.ignoreKinds !== undefined ? { ignoreKinds: opts.ignoreKinds } : {}),
      hooks: {
        // Audit items are counted as they arrive (dropped ones too), in ingestAudit.
        observed: source => { if (source !== 'audit') m.received.inc({ source }) },
        dropped: reason => m.dropped.inc({ reason }),
        opened: type => m.opened.inc({ type }),
        closed: (type, outcome) => m.closed.inc({ type, outcome }),
        evicted: reason => m.evictions.inc({ reason }),
        netZero: () => m.netZero.inc()
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
    this.correlator.noteAudit()
    for (const item of items) {
      const r = normalizeAuditEvent(item)
      if (r.kind === 'observation') {
        res.observations++
        try {
          this.ingest(r.observation)
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

  ingest (obs: Observation): void {
    this.correlator.ingest(obs)
  }

  /** Existing state from a source's first list: learned, never a change (unless a rollout is in progress). */
  baseline (obs: Observation): void {
    this.correlator.baseline(obs)
  }

  tick (now: number): void {
    this.correlator.tick(now)
    this.#metrics.windowSize.set(this.correlator.openCount)
  }

  flush (): void {
    this.correlator.flush()
    this.#metrics.windowSize.set(this.correlator.openCount)
  }
}
