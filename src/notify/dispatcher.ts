// The dispatcher: routes each change into the outbox (synchronously, cheaply:
// ingest calls it and never waits for a delivery) and delivers due rows in
// the background, with exponential backoff and full jitter, marking a row
// dead after maxAttempts. Rows live in SQLite, so pending deliveries resume
// after a restart and a delivered row is never sent again.

import { performance } from 'node:perf_hooks'
import { Counter, Gauge, Histogram } from 'prom-client'
import type { Registry } from 'prom-client'
import type { Change } from '../model.js'
import type { Outbox, OutboxRow, OutboxTarget } from '../store/outbox.js'
import { DEFAULT_DELIVERY } from './config.js'
import type { NotifyConfig } from './config.js'
import { buildDigest, digestKey } from './digest.js'
import type { Digest } from './digest.js'
import { routeChange } from './routes.js'
import type { RouteTarget } from './routes.js'
import type { Sink } from './sink.js'

/** The part of a pino logger the dispatcher uses. */
export interface DispatcherLogger {
  info (obj: object, msg?: string): void
  warn (obj: object, msg?: string): void
  error (obj: object, msg?: string): void
}

export interface BackoffOptions {
  initialMs: number
  maxMs: number
  maxAttempts: number
}

export interface DispatcherOptions {
  outbox: Outbox
  sinks: Map<string, Sink> | Sink[]
  config: Pick<NotifyConfig, 'routes' | 'defaultSinks' | 'sinks'> & { delivery?: NotifyConfig['delivery'] }
  log: DispatcherLogger
  metrics?: { registry: Registry }
  /** Epoch ms; defaults to Date.now. */
  now?: () => number
  /** [0, 1); defaults to Math.random. */
  random?: () => number
  /** Defaults to config.delivery, else DEFAULT_DELIVERY. */
  backoff?: Partial<BackoffOptions>
  /** Deliveries in flight at once. */
  concurrency?: number
  /** How often the loop looks for due rows (enqueue also wakes it at once). */
  pollMs?: number
  /** How long a taken row stays invisible to other takers (a crash mid-send: retried after this). */
  leaseMs?: number
}

export interface EnqueueResult {
  targets: RouteTarget[]
  /** Deliveries added; 0 when the change was enqueued before (or routes nowhere). */
  added: number
}

export interface Dispatcher {
  /** Routes the change and records its deliveries. Synchronous; never waits for a delivery. `json`: the change as JSON, when the caller has it. */
  enqueue (change: Change, json?: string): EnqueueResult
  /** Starts the background loop. */
  start (): void
  /** Attempts every delivery due now once, and waits for all in flight. */
  drain (): Promise<void>
  /** Stops the loop and waits for the deliveries in flight. */
  stop (): Promise<void>
  /** stop(), then closes the sinks. */
  close (): Promise<void>
}

/** Full jitter: uniform in [0, min(maxMs, initialMs · 2^(attempts−1))). */
export function backoffDelay (attempts: number, b: Pick<BackoffOptions, 'initialMs' | 'maxMs'>, random: () => number): number {
  const cap = Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, Math.min(attempts - 1, 40)))
  return Math.floor(Math.max(0, Math.min(1, random())) * cap)
}

interface Metrics {
  deliveries: Counter<'sink' | 'result'>
  dead: Counter<'sink'>
  duration: Histogram<'sink'>
}

function getOrCreate<T> (registry: Registry, name: string, create: () => T): T {
  const existing = registry.getSingleMetric(name)
  return existing ? existing as unknown as T : create()
}

function createMetrics (registry: Registry, outbox: Outbox, sinkNames: () => string[]): Metrics {
  const deliveries = getOrCreate(registry, 'kubechanges_deliveries_total', () => new Counter({
    name: 'kubechanges_deliveries_total',
    help: 'Delivery attempts by sink and result (delivered, failed)',
    labelNames: ['sink', 'result'] as const,
    registers: [registry]
  }))
  const dead = getOrCreate(registry, 'kubechanges_deliveries_dead_total', () => new Counter({
    name: 'kubechanges_deliveries_dead_total',
    help: 'Deliveries given up after the last attempt, by sink',
    labelNames: ['sink'] as const,
    registers: [registry]
  }))
  const duration = getOrCreate(registry, 'kubechanges_delivery_duration_seconds', () => new Histogram({
    name: 'kubechanges_delivery_duration_seconds',
    help: 'Duration of one delivery attempt, by sink',
    labelNames: ['sink'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry]
  }))
  // The pending gauge reads the outbox at scrape time; a new dispatcher on the registry replaces it.
  registry.removeSingleMetric('kubechanges_outbox_pending')
  // eslint-disable-next-line no-new
  new Gauge({
    name: 'kubechanges_outbox_pending',
    help: 'Deliveries waiting in the outbox, by sink',
    labelNames: ['sink'] as const,
    registers: [registry],
    collect () {
      this.reset()
      for (const s of sinkNames()) this.set({ sink: s }, 0)
      for (const [s, n] of outbox.pendingBySink()) this.set({ sink: s }, n)
    }
  })
  return { deliveries, dead, duration }
}

function errorText (err: unknown): string {
  if (err instanceof Error) return err.message || err.name
  return String(err)
}

export function createDispatcher (opts: DispatcherOptions): Dispatcher {
  const { outbox, config, log } = opts
  const sinks = opts.sinks instanceof Map ? opts.sinks : new Map(opts.sinks.map(s => [s.name, s] as const))
  const now = opts.now ?? Date.now
  const random = opts.random ?? Math.random
  const delivery = config.delivery ?? DEFAULT_DELIVERY
  const backoff: BackoffOptions = {
    initialMs: opts.backoff?.initialMs ?? delivery.initialBackoffMs,
    maxMs: opts.backoff?.maxMs ?? delivery.maxBackoffMs,
    maxAttempts: opts.backoff?.maxAttempts ?? delivery.maxAttempts
  }
  const concurrency = Math.max(1, opts.concurrency ?? delivery.concurrency)
  const pollMs = Math.max(1, opts.pollMs ?? delivery.pollMs)
  const leaseMs = Math.max(1, opts.leaseMs ?? 120_000)
  const metrics = opts.metrics
    ? createMetrics(opts.metrics.registry, outbox, () => [...new Set([...sinks.keys(), ...config.sinks.map(s => s.name)])])
    : undefined

  const inFlight = new Map<number, Promise<void>>()
  // Changes just enqueued, by id: their first attempt takes them from here
  // instead of parsing them back out of the outbox (a change is a few KB of
  // JSON with its timeline). Retries and deliveries after a restart still read
  // the outbox, which stays the truth.
  const recent = new Map<string, Change>()
  const RECENT_MAX = 512
  const known = (id: string): Change | undefined => recent.get(id)
  /** Deliveries made but not yet marked: [row id, when]. */
  const delivered: Array<[number, number]> = []
  function writeDeliveredMarks (): void {
    if (delivered.length === 0) return
    const done = delivered.splice(0)
    outbox.atomically(() => { for (const [id, at] of done) outbox.markDelivered(id, at) })
  }
  let running = false
  let timer: NodeJS.Timeout | undefined
  let wakeScheduled = false

  async function deliverOne (row: OutboxRow): Promise<void> {
    const sink = sinks.get(row.sink)
    if (!sink || row.change === null) {
      const reason = !sink ? `sink "${row.sink}" is not configured` : 'change snapshot missing'
      outbox.markDead(row.id, now(), reason)
      metrics?.dead.inc({ sink: row.sink })
      log.error({ changeId: row.changeId, sink: row.sink }, `delivery dead: ${reason}`)
      return
    }
    const t0 = performance.now()
    try {
      const dopts = row.to ? { to: row.to } : undefined
      if (row.digest !== undefined) await sink.deliverDigest(row.digest as Digest, dopts)
      else await sink.deliver(row.change, dopts)
    } catch (err) {
      metrics?.duration.observe({ sink: row.sink }, (performance.now() - t0) / 1000)
      metrics?.deliveries.inc({ sink: row.sink, result: 'failed' })
      const attempts = row.attempts + 1
      const message = errorText(err)
      const at = now()
      if (attempts >= backoff.maxAttempts) {
        outbox.markDead(row.id, at, message)
        metrics?.dead.inc({ sink: row.sink })
        log.error({ changeId: row.changeId, sink: row.sink, attempts, err: message }, 'delivery dead after the last attempt')
      } else {
        const delay = backoffDelay(attempts, backoff, random)
        outbox.markFailed(row.id, at, message, at + delay)
        log.warn({ changeId: row.changeId, sink: row.sink, attempts, retryInMs: delay, err: message }, 'delivery failed, will retry')
      }
      return
    }
    metrics?.duration.observe({ sink: row.sink }, (performance.now() - t0) / 1000)
    metrics?.deliveries.inc({ sink: row.sink, result: 'delivered' })
    // Written with the next claim, in its transaction: one commit per pump
    // instead of one per delivery. Until then the row is leased, so nothing
    // claims it again; a crash in between delivers it once more (at least once).
    delivered.push([row.id, now()])
    log.info({ changeId: row.changeId, sink: row.sink, attempts: row.attempts + 1 }, 'change delivered')
  }

  function launch (row: OutboxRow, after?: () => void): void {
    const p = deliverOne(row)
      .catch(err => { log.error({ changeId: row.changeId, sink: row.sink, err: errorText(err) }, 'delivery bookkeeping failed') })
      .finally(() => {
        inFlight.delete(row.id)
        after?.()
      })
    inFlight.set(row.id, p)
  }

  /** Closes the digest windows that ended: each group becomes one digest row or goes out change by change. */
  function settle (t: number): void {
    const made = outbox.settleDigests(t, buildDigest)
    if (made > 0) log.info({ digests: made }, 'digest windows closed')
  }

  /** Fills the free slots with due rows; called by the timer, by enqueue and when a slot frees. */
  function pump (): void {
    const free = concurrency - inFlight.size
    let rows: OutboxRow[] = []
    try {
      outbox.atomically(() => {
        writeDeliveredMarks()
        if (!running || free <= 0) return
        const t = now()
        settle(t)
        rows = outbox.claim(t, free, t + leaseMs, new Set(inFlight.keys()), known)
      })
    } catch (err) {
      log.error({ err: errorText(err) }, 'outbox read failed')
      return
    }
    // A freed slot wakes the loop rather than pumping at once: the deliveries
    // that finish together (a batch's changes) share one claim and one commit.
    for (const row of rows) launch(row, wake)
  }

  function wake (): void {
    if (!running || wakeScheduled) return
    wakeScheduled = true
    setImmediate(() => { wakeScheduled = false; pump() })
  }

  return {
    enqueue (change: Change, json?: string): EnqueueResult {
      const targets = routeChange(change, config)
      const added = outbox.enqueue(change, targets.map(({ digest, ...t }): OutboxTarget => digest === undefined
        ? t
        : { ...t, digest: { key: digestKey(t.sink, change), windowMs: digest.windowSeconds * 1000, minChanges: digest.minChanges } }), now(), json)
      if (added > 0) {
        recent.set(change.id, change)
        if (recent.size > RECENT_MAX) recent.delete(recent.keys().next().value as string)
        wake()
      }
      return { targets, added }
    },

    start (): void {
      if (running) return
      running = true
      timer = setInterval(pump, pollMs)
      timer.unref()
      wake()
    },

    async drain (): Promise<void> {
      settle(now())
      const attempted = new Set<number>()
      for (;;) {
        for (const id of inFlight.keys()) attempted.add(id)
        const free = concurrency - inFlight.size
        let rows: OutboxRow[] = []
        if (free > 0) {
          const t = now()
          rows = outbox.claim(t, free, t + leaseMs, attempted, known)
          for (const row of rows) { attempted.add(row.id); launch(row) }
        }
        if (rows.length === 0 && inFlight.size === 0) {
          writeDeliveredMarks()
          return
        }
        if (rows.length === 0 || inFlight.size >= concurrency) await Promise.race(inFlight.values())
      }
    },

    async stop (): Promise<void> {
      running = false
      if (timer) clearInterval(timer)
      timer = undefined
      await Promise.all(inFlight.values())
      writeDeliveredMarks()
    },

    async close (): Promise<void> {
      await this.stop()
      await Promise.all([...sinks.values()].map(s => s.close().catch(() => {})))
    }
  }
}
