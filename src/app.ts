import { performance } from 'node:perf_hooks'
import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import pino, { type Logger } from 'pino'
import type { Config } from './config.js'
import type { Change } from './model.js'
import { createMetrics, type PipelineMetrics } from './metrics.js'
import { Pipeline } from './pipeline.js'
import { ChangeStore } from './store/changes.js'
import { Outbox } from './store/outbox.js'
import { StateStore, type SnapshotWriter } from './store/state.js'
import { createDispatcher, type Dispatcher } from './notify/dispatcher.js'
import { createSinks, describeNotifyConfig, parseNotifyConfig } from './notify/config.js'
import { buildServer } from './http/server.js'
import type { AppContext } from './http/context.js'
import { loadTls, watchTls } from './tls/reload.js'
import { errors, type KubechangesError } from './errors.js'
import Database from 'better-sqlite3'
import type { StreamOptions } from './http/routes/stream.js'
import { AUTOCHECKPOINT_PAGES, Checkpointer, type CheckpointResult } from './store/checkpointer.js'

// Wires the stages: sources (HTTP routes, and the watch when a cluster is
// reachable) → pipeline → store → outbox → sinks. The clock is a parameter:
// tests inject one and call tick(); serve lets the wall clock drive it.

export interface AppOptions {
  config: Config
  log?: Logger
  now?: () => number
  env?: NodeJS.ProcessEnv
  /** Where log sinks write (stdout by default). */
  write?: (line: string) => void
  metrics?: PipelineMetrics
  /** Extra readiness checks (the watch adds "informers synced"). */
  readiness?: Array<() => string | undefined>
  random?: () => number
  /** When to write a snapshot of the correlation state (defaults: SNAPSHOT_EVERY). */
  snapshotEvery?: Partial<typeof SNAPSHOT_EVERY>
  /** Items per snapshot row, and how long one step of a snapshot written between batches may take (tests make both small). */
  snapshotWrite?: { partItems?: number, stepMs?: number }
  /** A store commit failed (see inTransaction): serve exits so that a restart reloads the state from disk. */
  onStoreFailure?: (err: KubechangesError) => void
  /** GET /changes/stream: heartbeat interval and per-client buffer limit. */
  stream?: StreamOptions
}

/**
 * A snapshot replaces the journal once it holds this much, once its rows took `replayMs` to ingest,
 * or `ms` after the last one (if the journal has grown to an eighth of the snapshot's size), and at
 * shutdown. Bounds the store file and the replay at start-up.
 *
 * `replayMs`: a restart after a crash replays the rows in about the time their ingest took (the same
 * correlator on the same inputs), and that bounds restarts where a row count cannot. A Deployment
 * row replays in about 25 us with 100 open changes and in 0.5 ms among 10,000 (bench/startup.ts);
 * at 550 watch events/s a cap of 20,000 rows rewrote a 100,000-object state (90 MB) every 36 s.
 */
export const SNAPSHOT_EVERY = { bytes: 64 * 1024 * 1024, rows: 200_000, ms: 5 * 60_000, replayMs: 5_000 }

export interface App {
  server: FastifyInstance
  pipeline: Pipeline
  store: ChangeStore
  outbox: Outbox
  dispatcher: Dispatcher
  metrics: PipelineMetrics
  config: Config
  log: Logger
  /** Advance the pipeline clock and close what settled. */
  tick: (now?: number) => void
  /** Runs f in one store transaction with the journal of what it consumed (what POST /audit does around a batch). */
  inTransaction: <T>(f: () => T) => T
  /** Start background work: the clock, retention, the delivery loop. */
  start: () => void
  listen: () => Promise<string>
  close: () => Promise<void>
  readiness: Array<() => string | undefined>
  /** What /readyz reports without blocking readiness (kinds left out of the watch, RBAC gaps). */
  readinessNotes: Array<() => string[]>
  /** Run before the store closes (sources stop here). */
  onClose: (f: () => Promise<void>) => void
  /** Write the whole correlation state and empty the journal (also at close). */
  snapshot: () => void
  /** snapshot() when the journal is due for one (what the clock does between batches); true when written. */
  snapshotIfDue: () => boolean
  /** A WAL checkpoint by the background worker (started by start()), as it reports it. */
  checkpoint: () => Promise<CheckpointResult | Error | undefined>
  /** What start-up restored: journal entries replayed and how long it took. */
  restored: { snapshot: boolean, entries: number, ms: number }
}

function readToken (key: string, file: string | undefined): string | undefined {
  if (file === undefined) return undefined
  let token: string
  try {
    token = readFileSync(file, 'utf8').trim()
  } catch (e) {
    throw errors.BAD_CONFIG(`${key} ${file}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`)
  }
  if (token === '') throw errors.BAD_CONFIG(`${key} ${file}: empty`)
  return token
}

export async function createApp (opts: AppOptions): Promise<App> {
  const { config } = opts
  const env = opts.env ?? process.env
  const log = opts.log ?? pino({ level: config.logLevel }, pino.destination(2))
  const now = opts.now ?? Date.now
  const metrics = opts.metrics ?? createMetrics()
  const store = new ChangeStore({ path: config.store, maxAgeDays: config.retention.maxAgeDays, maxCount: config.retention.maxCount })
  const outbox = new Outbox(store.db)
  const state = new StateStore(store.db, opts.snapshotWrite?.partItems !== undefined ? { partItems: opts.snapshotWrite.partItems } : {})
  const notify = parseNotifyConfig(config.notify, env)
  // The top-level externalURL links notifications too, unless notify sets its own.
  if (notify.externalURL === undefined && config.externalURL !== undefined) notify.externalURL = config.externalURL
  log.info(`delivery: ${describeNotifyConfig(notify)}`)
  const sinks = createSinks(notify, opts.write !== undefined ? { write: opts.write } : {})
  const dispatcher = createDispatcher({
    outbox,
    sinks,
    config: notify,
    log,
    metrics: { registry: metrics.registry },
    now,
    ...(opts.random !== undefined ? { random: opts.random } : {})
  })

  // Who hears of each newly recorded change (the live stream).
  const recorded = new Set<(change: Change) => void>()
  const onChange = (change: Change): void => {
    // The store decides what is new: a change recorded before (a replay, a
    // re-sent batch after restart) is never delivered again.
    if (config.cluster !== undefined) change.cluster = config.cluster
    // One encoding for the row and its deliveries (they hold the same text).
    const json = JSON.stringify(change)
    if (store.record(change, now(), json)) {
      dispatcher.enqueue(change, json)
      for (const f of recorded) f(change)
    }
  }
  const pipeline = new Pipeline({
    quietMs: config.quietPeriodSeconds * 1000,
    ttlMs: config.window.ttlSeconds * 1000,
    maxObjects: config.window.maxObjects,
    metrics,
    log,
    onChange,
    ignoreNamespaces: config.ignore.namespaces,
    ignoreKinds: config.ignore.kinds,
    ...(config.kinds !== undefined ? { kinds: config.kinds } : {}),
    journal: true,
    atomic: f => inTransaction(f)
  })

  const apiToken = readToken('apiTokenFile', config.apiTokenFile) ?? config.apiToken
  const auditToken = readToken('auditTokenFile', config.auditTokenFile) ?? config.auditToken
  if (auditToken === undefined && config.tls.clientCA === undefined && !['127.0.0.1', '::1', 'localhost'].includes(config.host)) {
    log.warn('POST /audit accepts unauthenticated events: anyone who reaches this port can forge changes (set --audit-token-file and/or --client-ca)')
  }

  const readiness = opts.readiness ?? []
  const readinessNotes: Array<() => string[]> = []
  // Closing a change writes it and its deliveries: one SQLite transaction per
  // tick or batch instead of two per change. The same transaction appends
  // what the correlator consumed to the journal: a batch is durable exactly
  // when the changes it closed are, before its 200 is sent.
  //
  // A commit the disk refuses (full, I/O error) leaves the correlator ahead of
  // what is on disk, with no way back in memory: from then on every input is
  // answered 503 (the apiserver retries it), no snapshot is written from
  // memory, /healthz fails and `opts.onStoreFailure` is told (serve exits),
  // so the next start continues from what the disk holds. A logic error is not
  // that: it is thrown as before.
  let depth = 0
  let storeFailed: KubechangesError | undefined
  // Made once (better-sqlite3 builds a wrapper per db.transaction() call).
  const journaled = store.db.transaction((f: () => unknown): unknown => {
    const t = performance.now()
    const r = f()
    state.append(pipeline.takeJournal(), performance.now() - t)
    return r
  })
  function inTransaction<T> (f: () => T): T {
    if (storeFailed !== undefined) throw storeFailed
    if (depth > 0) return f()
    depth++
    try {
      return journaled(f) as T
    } catch (e) {
      pipeline.dropJournal()
      if (e instanceof Database.SqliteError) {
        storeFailed = errors.STORE_FAILED(`the store could not commit (${e.code}: ${e.message}); restart to continue from what is on disk`, { cause: e })
        log.error({ err: e }, 'store commit failed: refusing input until restarted')
        opts.onStoreFailure?.(storeFailed)
        throw storeFailed
      }
      throw e
    } finally {
      depth--
    }
  }

  // Start-up: the snapshot, then the journal after it, through the same
  // correlator; what closes on the way was recorded then (record() says so)
  // and is not delivered again.
  const t0 = performance.now()
  const loaded = state.load()
  const restored = { snapshot: loaded.state !== undefined, entries: 0, ms: 0 }
  if (loaded.state !== undefined || loaded.journalRows > 0) {
    let replayMs = 0
    inTransaction(() => { ({ entries: restored.entries, replayMs } = pipeline.restore(loaded.state, loaded.journal)) })
    pipeline.resume()
    restored.ms = Math.round(performance.now() - t0)
    // Replaying this journal again after another crash would cost as long: it counts towards the next snapshot.
    state.chargeReplay(replayMs)
    log.info({ snapshot: restored.snapshot, journalEntries: restored.entries, open: pipeline.correlator.openCount, objects: pipeline.correlator.indexSize, ms: restored.ms }, 'correlation state restored')
  }
  const every = { ...SNAPSHOT_EVERY, ...opts.snapshotEvery }
  let lastSnapshotAt = now()
  // The whole state at once (shutdown, the bench): the stepped writer run to the end in one transaction.
  const snapshot = (): void => {
    writer = undefined
    const t = performance.now()
    const { bytes } = state.writeSnapshot(pipeline.exportState(), now())
    lastSnapshotAt = now()
    log.debug({ bytes, ms: Math.round(performance.now() - t), open: pipeline.correlator.openCount, objects: pipeline.correlator.indexSize }, 'correlation state snapshot written')
  }
  // A due snapshot is cut at once (the export: about 0.1 s for 100,000 objects) and written
  // `stepMs` at a time between batches: in one piece, a 100,000-object state held ingest for
  // 0.7-3 s (its encoding and SQLite writes) and was the p99 of audit batches under traffic.
  const stepMs = opts.snapshotWrite?.stepMs ?? 10
  let writer: SnapshotWriter | undefined
  let writerStarted = 0
  const maybeSnapshot = (): boolean => {
    if (storeFailed !== undefined) return false
    if (writer === undefined) {
      const j = state.journalSize
      // By the clock only once the journal is an eighth of the snapshot: folding a few MB of journal
      // into a 90 MB state every few minutes held ingest for a second or two each time and rewrote the
      // file, for a replay the size thresholds bound anyway.
      const byClock = j.rows > 0 && now() - lastSnapshotAt >= every.ms && j.bytes * 8 >= state.snapshotBytes
      if (!(j.bytes >= every.bytes || j.rows >= every.rows || (j.rows > 0 && j.ms >= every.replayMs) || byClock)) return false
      // Not during a first sync (a 100,000-object list journals about 64 MiB):
      // a snapshot then would be written again moments later, and it held up the
      // sync by about a second. Deferred up to 4x the size, so a source that
      // never gets ready cannot grow the journal without bound.
      if (j.bytes < every.bytes * 4 && j.rows < every.rows * 4 && !ctx.readiness().ready) return false
      writer = state.beginSnapshot(pipeline.cutState(), now())
      writerStarted = performance.now()
      lastSnapshotAt = now()
    }
    let done: boolean
    try {
      done = writer.step(stepMs)
    } catch (e) {
      // Given up (the caller logs it); the next due snapshot starts over.
      writer = undefined
      throw e
    }
    if (!done) return false
    writer = undefined
    log.debug({ bytes: state.snapshotBytes, ms: Math.round(performance.now() - writerStarted), open: pipeline.correlator.openCount, objects: pipeline.correlator.indexSize }, 'correlation state snapshot written')
    return true
  }
  let closing = false
  // (After a failed commit nothing more can be written: the clock stops with the input.)
  const tick = (t?: number): void => { if (storeFailed === undefined) inTransaction(() => { pipeline.tick(t ?? now()) }) }
  const ctx: AppContext = {
    config,
    pipeline,
    store,
    outbox,
    metrics,
    now,
    inTransaction,
    closing: () => closing,
    storeFailed: () => storeFailed,
    readiness: () => {
      const reasons = readiness.map(f => f()).filter((r): r is string => r !== undefined)
      return { ready: reasons.length === 0, reasons, warnings: readinessNotes.flatMap(f => f()) }
    },
    apiToken: () => apiToken,
    auditToken: () => auditToken,
    recorded,
    ...(opts.stream !== undefined ? { stream: opts.stream } : {})
  }
  const tls = config.tls.cert !== undefined && config.tls.key !== undefined ? loadTls(config.tls.cert, config.tls.key, config.tls.clientCA) : undefined
  const server = await buildServer(ctx, { log, ...(tls !== undefined ? { https: tls } : {}) })

  const timers: NodeJS.Timeout[] = []
  const closers: Array<() => Promise<void>> = []
  let stopClock = (): void => {}
  let stopTls: (() => void) | undefined
  let checkpointer: Checkpointer | undefined
  const start = (): void => {
    // The wall clock moves the windows, so a quiet period ends without further
    // events: wake at the next settle deadline (at least once a second, for TTLs).
    const maxWait = Math.max(10, Math.min(1000, config.quietPeriodSeconds * 1000))
    const wake = (): void => {
      try {
        tick()
      } catch (err) {
        // Never let one bad change stop the clock (or the process).
        log.error({ err }, 'closing settled changes failed')
      }
      try {
        // Between batches (handlers run to completion): the state is whole here.
        maybeSnapshot()
      } catch (err) {
        log.error({ err }, 'writing the correlation snapshot failed (the journal still holds everything)')
      }
      // While a snapshot is being written, its next step after as long again as a step may take:
      // a batch's body arrives over several turns of the event loop, and a step at every turn
      // held each body for a step per read (audit p99 279-513 ms at 100k objects with both sources).
      const delay = writer !== undefined ? stepMs : Math.min(maxWait, Math.max(0, pipeline.correlator.nextSettle - now()))
      clock = setTimeout(wake, delay).unref()
    }
    let clock = setTimeout(wake, maxWait).unref()
    stopClock = () => { clearTimeout(clock) }
    // Retention: changes by age and count; finished deliveries on the same
    // horizon (older ones would let a replay of an older log mail again, so
    // never prune them sooner than the changes).
    const retain = (): void => {
      store.prune(now())
      outbox.prune(now() - config.retention.maxAgeDays * 86_400_000)
    }
    retain()
    timers.push(setInterval(retain, 10 * 60_000).unref())
    dispatcher.start()
    if (config.store !== ':memory:') {
      checkpointer = new Checkpointer(config.store, { onError: err => { log.warn({ err }, 'WAL checkpoint in the background failed (the store checkpoints itself meanwhile)') } })
      store.db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`)
    }
  }
  return {
    server,
    pipeline,
    store,
    outbox,
    dispatcher,
    metrics,
    config,
    log,
    tick,
    inTransaction,
    start,
    readiness,
    readinessNotes,
    onClose: f => { closers.push(f) },
    snapshot,
    snapshotIfDue: maybeSnapshot,
    checkpoint: async () => await checkpointer?.run(),
    restored,
    listen: async () => {
      const address = await server.listen({ host: config.host, port: config.port })
      if (tls !== undefined) {
        stopTls = watchTls(server.server as unknown as import('node:tls').Server, { cert: config.tls.cert!, key: config.tls.key!, ...(config.tls.clientCA !== undefined ? { ca: config.tls.clientCA } : {}) }, {
          onReload: () => log.info('TLS certificate reloaded'),
          onError: e => log.error({ code: (e as { code?: string }).code }, e.message)
        })
      }
      return address
    },
    close: async () => {
      // Not ready first (the Service stops routing here), then no new input:
      // sources stop, the server finishes the batch in flight; then the whole
      // state is written, so the next start replays nothing.
      closing = true
      stopClock()
      for (const t of timers) clearInterval(t)
      stopTls?.()
      for (const f of closers) await f()
      await server.close()
      await dispatcher.close()
      try {
        // (Memory is ahead of disk after a failed commit: the journal on disk is the truth then.)
        if (storeFailed === undefined) snapshot()
      } catch (err) {
        log.error({ err }, 'writing the correlation snapshot at shutdown failed (the journal still holds everything)')
      }
      await checkpointer?.stop()
      store.close()
    }
  }
}
