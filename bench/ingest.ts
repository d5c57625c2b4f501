// Ingest bench: POST /audit throughput of the real app (fastify, pipeline,
// SQLite store, outbox, log sink with a no-op writer, the wall-clock ticks of
// `serve`) against a bare node:http server that only receives the bytes and
// JSON.parses them: the floor cost of receiving the same batches in Node.
//
//   node --import tsx bench/ingest.ts [batches]
//
// Both servers run in this process, for each connection count asked for; the
// client is a child process (bench/ingest-client.ts) that makes the batches
// (bench/audit-batches.ts) and posts them over N keep-alive connections, so its
// work never lands on the server's thread. The measurement alternates slices
// (kubechanges, bare, kubechanges, bare, …; `rounds` of each) so that both
// sides see the same minutes of a shared machine's load.
//
// With `durableFloor`, a third server takes part in the same rounds: the bare
// one plus what any server must do before its 200 when an acknowledged batch
// may not be lost (issue 8): one SQLite transaction writing the body, on the
// store's settings (WAL, synchronous NORMAL, checkpoints by the same
// background worker). It is the floor of a durable ingest; the bare one of any
// ingest.

import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import v8 from 'node:v8'
import vm from 'node:vm'
import Database from 'better-sqlite3'
import pino from 'pino'
import { createApp, type App } from '../src/app.js'
import { applyFile, DEFAULTS } from '../src/config.js'
import { AUTOCHECKPOINT_PAGES, Checkpointer } from '../src/store/checkpointer.js'
import { batchMix, type BatchShape } from './audit-batches.js'
import { knownObjects } from './known-objects.js'
import type { ClientFigures, ClientInit, ClientMessage, ClientRun } from './ingest-client.js'

// ---- results -----------------------------------------------------------------

export interface ServerFigures {
  /** Events ÷ wall time of the measured slices (all connections together). */
  eventsPerSec: number
  p50Ms: number
  p99Ms: number
  meanMs: number
  maxMs: number
  batches: number
  events: number
  /** Wall time of the measured slices, summed. */
  wallMs: number
  /** Answers other than 200 (kubechanges: or not every event received). */
  errors: number
  /** TCP connections the server accepted (should equal the connections asked for). */
  connections: number
  /**
   * CPU of the bench process (the server under test, its worker threads included; the client is
   * another process) per batch posted in its slices, warm-ups included. Unlike events/s it does not
   * move with the VM's steal time or the other side's minutes: the figure to compare builds by.
   */
  cpuMsPerBatch: number
}

export interface RssPoint { pct: number, batch: number, rssMB: number, heapUsedMB: number, /** Heap after a full GC (with `liveHeap`). */ liveHeapMB?: number }

export interface KubechangesFigures extends ServerFigures {
  peakRssMB: number
  rssStartMB: number
  rssEndMB: number
  /** RSS after each round. */
  rssTimeline: RssPoint[]
  /** What the app did with the events. */
  app: { changesRecorded: number, outboxDelivered: number, outboxPending: number, windowOpen: number, indexedObjects: number, closed: Record<string, number> }
}

export interface IngestRun {
  /** Keep-alive connections the client posted over, concurrently. */
  connections: number
  kubechanges: KubechangesFigures
  bare: ServerFigures
  /** kubechanges events/s ÷ bare events/s (target ≥ 0.8). */
  ratio: number
  /** With durableFloor: the bare server that also commits each body to SQLite before its 200. */
  durable?: ServerFigures
  /** durable events/s ÷ bare events/s: what durability alone costs. */
  durableRatio?: number
}

export interface IngestBenchResult {
  /** One per connection count, in the order asked for. */
  runs: IngestRun[]
  batch: {
    shape: BatchShape
    size: number
    avgBytes: number
    minBytes: number
    maxBytes: number
    templates: number
    warmup: number
    rounds: number
    /** Events per batch by category. */
    mix: Record<string, number>
  }
  /** RSS of this (server) process before any app was created. */
  rssBaselineMB: number
  /** 1-minute load average before and after: figures from a busy machine are not comparable. */
  loadavg: { before: number, after: number }
  cpus: number
}

export interface IngestBenchOptions {
  /** Measured batches per server (after warm-up). */
  batches?: number
  /** Events per batch (kube-apiserver's default webhook batch size is 400). */
  batchSize?: number
  /** Upper bound of the measured run per server (all its slices together). */
  durationMs?: number
  /** Slices of each server, alternated (default 4). */
  rounds?: number
  /** Batches posted before measuring (JIT warm-up), per server. */
  warmup?: number
  /** Distinct templates: objects are rewritten every `templates` batches. */
  templates?: number
  /** Keep-alive connections posting concurrently; one measurement of both servers per entry. */
  connections?: number[]
  /** `heavy` (2.8 MiB per 400 events, default) or `light` (≈ 540 KiB, the issue's held-out run). */
  shape?: BatchShape
  /** Run one side only (profiling); the other side's figures are zero. */
  only?: 'kubechanges' | 'bare'
  /**
   * After each round, force a full GC (off the clock) and record the live
   * heap: what the app really retains, apart from when V8 chooses to collect.
   * Changes GC timing a little, so off by default.
   */
  liveHeap?: boolean
  /** Also measure the durable floor (a third side in the same rounds). */
  durableFloor?: boolean
  /** Objects the app already knows before the first batch, as a watch's first list gives them (bench/known-objects.ts). */
  objects?: number
  /** Progress lines (RSS every 10 %); stderr by default, `false` for none. */
  log?: ((line: string) => void) | false
}

const r1 = (x: number): number => Math.round(x * 10) / 10
const r2 = (x: number): number => Math.round(x * 100) / 100
const MB = (bytes: number): number => r1(bytes / 1048576)

const zero: ServerFigures = { eventsPerSec: 0, p50Ms: 0, p99Ms: 0, meanMs: 0, maxMs: 0, batches: 0, events: 0, wallMs: 0, errors: 0, connections: 0, cpuMsPerBatch: 0 }

function quantile (sorted: number[], q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

/** The slices of one server, pooled. */
function figures (slices: SliceFigures[], batchSize: number, connections: number): ServerFigures {
  const lat = slices.flatMap(s => s.latencies)
  const wallMs = slices.reduce((a, s) => a + s.wallMs, 0)
  const sorted = [...lat].sort((x, y) => x - y)
  const events = lat.length * batchSize
  return {
    eventsPerSec: wallMs > 0 ? Math.round(events / (wallMs / 1000)) : 0,
    p50Ms: r1(quantile(sorted, 0.5)),
    p99Ms: r1(quantile(sorted, 0.99)),
    meanMs: r1(lat.reduce((a, x) => a + x, 0) / Math.max(1, lat.length)),
    maxMs: r1(sorted[sorted.length - 1] ?? 0),
    batches: lat.length,
    events,
    wallMs: Math.round(wallMs),
    errors: slices.reduce((a, s) => a + s.errors, 0),
    connections,
    cpuMsPerBatch: r2(slices.reduce((a, s) => a + s.cpuMs, 0) / Math.max(1, slices.reduce((a, s) => a + s.posted, 0)))
  }
}

/** A slice as the client measured it, with the server process's CPU over it and the batches it posted. */
type SliceFigures = ClientFigures & { cpuMs: number, posted: number }

// ---- the client process --------------------------------------------------------

interface Client {
  templateBytes: number
  run: (o: Omit<ClientRun, 'type'>) => Promise<ClientFigures>
  close: () => void
}

async function startClient (init: Omit<ClientInit, 'type'>): Promise<Client> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./ingest-client.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  let listener: ((m: ClientMessage) => void) | undefined
  let failed: ((e: Error) => void) | undefined
  child.on('message', (m: ClientMessage) => listener?.(m))
  child.on('exit', code => failed?.(new Error(`bench client exited (${String(code)})`)))
  const ask = <T>(msg: ClientInit | ClientRun, on: (m: ClientMessage, ok: (v: T) => void, ko: (e: Error) => void) => void): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      failed = reject
      listener = m => { if (m.type === 'error') reject(new Error(m.message)); else on(m, resolve, reject) }
      child.send(msg)
    })
  const templateBytes = await ask<number>({ type: 'init', ...init }, (m, ok) => { if (m.type === 'ready') ok(m.templateBytes) })
  return {
    templateBytes,
    run: async o => ask<ClientFigures>({ type: 'run', ...o }, (m, ok) => { if (m.type === 'done') ok(m.figures) }),
    close: () => { failed = undefined; child.kill() }
  }
}

// ---- the bench -----------------------------------------------------------------

/** global.gc without --expose-gc on the command line (`npm run bench` cannot pass it). */
function exposeGc (): () => void {
  const g = (globalThis as { gc?: () => void }).gc
  if (typeof g === 'function') return g
  v8.setFlagsFromString('--expose-gc')
  return vm.runInNewContext('gc') as () => void
}

type SliceOptions = Omit<ClientRun, 'type' | 'name' | 'port' | 'check' | 'first'>

/** A server under test: started once per connection count, measured in slices. */
interface Side {
  name: 'kubechanges' | 'bare' | 'durable'
  port: number
  connections: () => number
  /** Batches posted to it so far (numbering goes on across slices: fresh auditIDs, later event time). */
  posted: number
  slices: SliceFigures[]
  close: () => Promise<void>
}

async function startKubechanges (objects = 0): Promise<Side & { app: App }> {
  const dir = mkdtempSync(join(tmpdir(), 'kc-bench-'))
  const config = applyFile(structuredClone(DEFAULTS), { store: join(dir, 'changes.db'), host: '127.0.0.1', port: 0, logLevel: 'silent', watch: { enabled: false } })
  const app = await createApp({ config, env: {}, log: pino({ level: 'silent' }), write: () => {} })
  if (objects > 0) {
    app.inTransaction(() => { for (const o of knownObjects(objects)) app.pipeline.baseline(o) })
    // As after a while of serving: the first list's journal folded into a snapshot.
    app.snapshot()
  }
  await app.listen()
  // The preload held the event loop for seconds: let the overload guard's next samples see it free again.
  if (objects > 0) await new Promise(resolve => setTimeout(resolve, 3000))
  app.start()
  let connections = 0
  app.server.server.on('connection', () => { connections++ })
  return {
    name: 'kubechanges',
    app,
    port: (app.server.server.address() as AddressInfo).port,
    connections: () => connections,
    posted: 0,
    slices: [],
    close: async () => {
      await app.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

async function startBare (durable = false): Promise<Side> {
  // The floor: receive the body, JSON.parse it, answer 200. Durable: and
  // commit the body (as received: no second encoding) before the 200.
  const dir = durable ? mkdtempSync(join(tmpdir(), 'kc-bench-durable-')) : undefined
  let db: Database.Database | undefined
  let insert: Database.Statement | undefined
  let checkpointer: Checkpointer | undefined
  if (dir !== undefined) {
    db = new Database(join(dir, 'floor.db'))
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.exec('CREATE TABLE batches (seq INTEGER PRIMARY KEY, body BLOB NOT NULL)')
    insert = db.prepare('INSERT INTO batches (body) VALUES (?)')
    checkpointer = new Checkpointer(join(dir, 'floor.db'))
    db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`)
  }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (d: Buffer) => chunks.push(d))
    req.on('end', () => {
      try {
        const bytes = Buffer.concat(chunks)
        const body = JSON.parse(bytes.toString('utf8')) as { items?: unknown[] }
        insert?.run(bytes)
        res.writeHead(200, { 'content-type': 'application/json' }).end(`{"received":${body.items?.length ?? 0}}`)
      } catch {
        res.writeHead(400).end()
      }
    })
  })
  server.keepAliveTimeout = 60_000
  let connections = 0
  server.on('connection', () => { connections++ })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()))
  return {
    name: durable ? 'durable' : 'bare',
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    posted: 0,
    slices: [],
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
      await checkpointer?.stop()
      db?.close()
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
    }
  }
}

async function slice (client: Client, side: Side, o: SliceOptions, warm: boolean): Promise<ClientFigures> {
  const cpu0 = process.cpuUsage()
  const fig = await client.run({ ...o, warmup: warm ? o.warmup : 0, name: side.name, port: side.port, check: side.name === 'kubechanges', first: side.posted })
  const cpu = process.cpuUsage(cpu0)
  const posted = (warm ? o.warmup : 0) + fig.latencies.length + fig.errors
  side.posted += posted
  side.slices.push({ ...fig, cpuMs: (cpu.user + cpu.system) / 1000, posted })
  return fig
}

export async function benchIngest (opts: IngestBenchOptions = {}): Promise<IngestBenchResult> {
  const batchSize = opts.batchSize ?? 400
  const batches = opts.batches ?? 300
  const durationMs = opts.durationMs ?? 15_000
  const warmup = opts.warmup ?? 8
  const P = opts.templates ?? 8
  const rounds = opts.rounds ?? 4
  const shape = opts.shape ?? 'heavy'
  const connectionCounts = opts.connections ?? [1]
  const log = opts.log === false ? () => {} : opts.log ?? ((line: string) => { process.stderr.write(line + '\n') })
  if (!(batchSize >= 20 && batchSize <= 5000)) throw new Error('batchSize: 20..5000')
  if (!(batches >= 1 && batches <= 100_000)) throw new Error('batches: 1..100000')
  if (!(durationMs >= 100 && durationMs <= 3_600_000)) throw new Error('durationMs: 100..3600000')
  if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 100)) throw new Error('rounds: 1..100')
  if (connectionCounts.length === 0 || !connectionCounts.every(n => Number.isInteger(n) && n >= 1 && n <= 64)) throw new Error('connections: 1..64')

  const rssBaseline = process.memoryUsage.rss()
  const loadBefore = loadavg()[0]!
  const gc = opts.liveHeap === true ? exposeGc() : undefined
  // Event time starts a little in the past and moves one second per batch.
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 60_000
  const client = await startClient({ batchSize, templates: P, shape })
  log(`client: ${P} templates of ${batchSize} events (${shape}), ${MB(client.templateBytes)} MiB each; ${rounds} rounds of up to ${Math.ceil(batches / rounds)} batches / ${Math.round(durationMs / rounds)} ms per server`)
  const runs: IngestRun[] = []
  const bytes: number[] = []
  try {
    for (const connections of connectionCounts) {
      const o: SliceOptions = { connections, batches: Math.ceil(batches / rounds), warmup, durationMs: durationMs / rounds, t0 }
      const kc = opts.only !== 'bare' ? await startKubechanges(opts.objects) : undefined
      const bare = opts.only !== 'kubechanges' ? await startBare() : undefined
      const durable = opts.durableFloor === true && opts.only === undefined ? await startBare(true) : undefined
      try {
        const rssStart = process.memoryUsage.rss()
        let peak = rssStart
        const sample = (): void => { const rss = process.memoryUsage.rss(); if (rss > peak) peak = rss }
        const timer = setInterval(sample, 100)
        const timeline: RssPoint[] = [{ pct: 0, batch: 0, rssMB: MB(rssStart), heapUsedMB: MB(process.memoryUsage().heapUsed) }]
        if (gc !== undefined) {
          gc()
          timeline[0]!.liveHeapMB = MB(process.memoryUsage().heapUsed)
        }
        try {
          for (let r = 0; r < rounds; r++) {
            if (kc !== undefined) {
              const f = await slice(client, kc, o, r === 0)
              bytes.push(...f.bytes)
              const m = process.memoryUsage()
              sample()
              const point: RssPoint = { pct: Math.round(100 * (r + 1) / rounds), batch: kc.slices.reduce((a, s) => a + s.latencies.length, 0), rssMB: MB(m.rss), heapUsedMB: MB(m.heapUsed) }
              if (gc !== undefined) {
                gc()
                point.liveHeapMB = MB(process.memoryUsage().heapUsed)
              }
              timeline.push(point)
              const c = kc.app.pipeline.correlator
              log(`  ${connections} conn, round ${r + 1}/${rounds}: kubechanges ${Math.round(f.latencies.length * batchSize / (f.wallMs / 1000))} events/s  rss ${point.rssMB} MB  heap ${point.heapUsedMB} MB${point.liveHeapMB !== undefined ? ` (live ${point.liveHeapMB} MB)` : ''}  open ${c.openCount}  indexed ${c.indexSize}  recorded ${kc.app.store.count()}`)
            }
            if (bare !== undefined) {
              const f = await slice(client, bare, o, r === 0)
              if (kc === undefined) bytes.push(...f.bytes)
              log(`  ${connections} conn, round ${r + 1}/${rounds}: bare ${Math.round(f.latencies.length * batchSize / (f.wallMs / 1000))} events/s`)
            }
            if (durable !== undefined) {
              const f = await slice(client, durable, o, r === 0)
              log(`  ${connections} conn, round ${r + 1}/${rounds}: durable floor ${Math.round(f.latencies.length * batchSize / (f.wallMs / 1000))} events/s`)
            }
          }
        } finally {
          clearInterval(timer)
        }
        sample()
        let kubechanges: KubechangesFigures = { ...zero, peakRssMB: 0, rssStartMB: 0, rssEndMB: 0, rssTimeline: [], app: { changesRecorded: 0, outboxDelivered: 0, outboxPending: 0, windowOpen: 0, indexedObjects: 0, closed: {} } }
        if (kc !== undefined) {
          const counts = kc.app.outbox.counts()
          const closed: Record<string, number> = {}
          for (const v of (await kc.app.metrics.closed.get()).values) closed[`${String(v.labels.type)}/${String(v.labels.outcome)}`] = v.value
          const c = kc.app.pipeline.correlator
          kubechanges = {
            ...figures(kc.slices, batchSize, kc.connections()),
            peakRssMB: MB(peak),
            rssStartMB: MB(rssStart),
            rssEndMB: MB(process.memoryUsage.rss()),
            rssTimeline: timeline,
            app: { changesRecorded: kc.app.store.count(), outboxDelivered: counts.delivered, outboxPending: counts.pending, windowOpen: c.openCount, indexedObjects: c.indexSize, closed }
          }
        }
        const floor = bare !== undefined ? figures(bare.slices, batchSize, bare.connections()) : zero
        const ratio = floor.eventsPerSec > 0 && kubechanges.eventsPerSec > 0 ? Math.round((kubechanges.eventsPerSec / floor.eventsPerSec) * 100) / 100 : 0
        log(`  ${connections} conn: kubechanges ${kubechanges.eventsPerSec} events/s (p99 ${kubechanges.p99Ms} ms), bare ${floor.eventsPerSec} events/s (p99 ${floor.p99Ms} ms): ratio ${ratio}`)
        const run: IngestRun = { connections, kubechanges, bare: floor, ratio }
        if (durable !== undefined) {
          run.durable = figures(durable.slices, batchSize, durable.connections())
          run.durableRatio = floor.eventsPerSec > 0 ? Math.round((run.durable.eventsPerSec / floor.eventsPerSec) * 100) / 100 : 0
        }
        runs.push(run)
      } finally {
        await kc?.close()
        await bare?.close()
        await durable?.close()
      }
    }
  } finally {
    client.close()
  }

  return {
    runs,
    batch: {
      shape,
      size: batchSize,
      avgBytes: Math.round(bytes.reduce((a, x) => a + x, 0) / Math.max(1, bytes.length)),
      minBytes: bytes.length > 0 ? Math.min(...bytes) : 0,
      maxBytes: bytes.length > 0 ? Math.max(...bytes) : 0,
      templates: P,
      warmup,
      rounds,
      mix: batchMix(batchSize, shape)
    },
    rssBaselineMB: MB(rssBaseline),
    loadavg: { before: r1(loadBefore), after: r1(loadavg()[0]!) },
    cpus: cpus().length
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const n = Number(process.argv[2] ?? 300)
  benchIngest({ batches: Number.isFinite(n) && n > 0 ? n : 300 }).then(r => { console.log(JSON.stringify(r, null, 2)) }, err => {
    console.error(err)
    process.exitCode = 1
  })
}
