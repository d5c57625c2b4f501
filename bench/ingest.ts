// Ingest bench: POST /audit throughput of the real app (fastify, pipeline,
// SQLite store, outbox, log sink with a no-op writer, the wall-clock ticks of
// `serve`) against a bare node:http server that only receives the bytes and
// JSON.parses them: the floor cost of receiving the same batches in Node.
//
//   node --import tsx bench/ingest.ts [batches]
//
// Both servers run in this process, one after the other, for each connection
// count asked for; the client is a child process (bench/ingest-client.ts) that
// makes the batches (bench/audit-batches.ts) and posts them over N keep-alive
// connections, so its work never lands on the server's thread.

import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import v8 from 'node:v8'
import vm from 'node:vm'
import pino from 'pino'
import { createApp, type App } from '../src/app.js'
import { applyFile, DEFAULTS } from '../src/config.js'
import { batchMix, type BatchShape } from './audit-batches.js'
import type { ClientFigures, ClientInit, ClientMessage, ClientRun } from './ingest-client.js'

// ---- results -----------------------------------------------------------------

/** What the client measured (events/s is events ÷ wall time, all connections together), and the TCP connections the server accepted. */
export type ServerFigures = Omit<ClientFigures, 'bytes'> & { connections: number }

export interface RssPoint { pct: number, batch: number, rssMB: number, heapUsedMB: number, /** Heap after a full GC (with `liveHeap`). */ liveHeapMB?: number }

export interface KubechangesFigures extends ServerFigures {
  peakRssMB: number
  rssStartMB: number
  rssEndMB: number
  /** RSS at each 10 % of the run. */
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
  /** Upper bound of the measured run per server. */
  durationMs?: number
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
   * At each 10 %, force a full GC and record the live heap: what the app
   * really retains, apart from when V8 chooses to collect. Changes GC timing
   * (and stalls the server while it runs), so off by default.
   */
  liveHeap?: boolean
  /** Progress lines (RSS every 10 %); stderr by default, `false` for none. */
  log?: ((line: string) => void) | false
}

const r1 = (x: number): number => Math.round(x * 10) / 10
const MB = (bytes: number): number => r1(bytes / 1048576)

const zero: ServerFigures = { eventsPerSec: 0, p50Ms: 0, p99Ms: 0, meanMs: 0, maxMs: 0, batches: 0, events: 0, busyMs: 0, wallMs: 0, errors: 0, connections: 0 }

// ---- the client process --------------------------------------------------------

interface Client {
  templateBytes: number
  run: (o: Omit<ClientRun, 'type'>, onDecile?: (pct: number, batch: number) => void) => Promise<ClientFigures>
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
    run: async (o, onDecile) => ask<ClientFigures>({ type: 'run', ...o }, (m, ok) => {
      if (m.type === 'decile') onDecile?.(m.pct, m.batch)
      else if (m.type === 'done') ok(m.figures)
    }),
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

type RunOptions = Omit<ClientRun, 'type' | 'name' | 'port' | 'check'>

async function measureKubechanges (client: Client, o: RunOptions, log: (line: string) => void, gc: (() => void) | undefined): Promise<{ figures: KubechangesFigures, bytes: ClientFigures['bytes'] }> {
  const dir = mkdtempSync(join(tmpdir(), 'kc-bench-'))
  let app: App | undefined
  try {
    const config = applyFile(structuredClone(DEFAULTS), { store: join(dir, 'changes.db'), host: '127.0.0.1', port: 0, logLevel: 'silent', watch: { enabled: false } })
    app = await createApp({ config, env: {}, log: pino({ level: 'silent' }), write: () => {} })
    await app.listen()
    app.start()
    const port = (app.server.server.address() as AddressInfo).port
    let connections = 0
    app.server.server.on('connection', () => { connections++ })
    const rssStart = process.memoryUsage.rss()
    let peak = rssStart
    const sample = (): void => { const rss = process.memoryUsage.rss(); if (rss > peak) peak = rss }
    const timer = setInterval(sample, 100)
    const timeline: RssPoint[] = [{ pct: 0, batch: 0, rssMB: MB(rssStart), heapUsedMB: MB(process.memoryUsage().heapUsed) }]
    if (gc !== undefined) {
      gc()
      timeline[0]!.liveHeapMB = MB(process.memoryUsage().heapUsed)
    }
    log(`kubechanges, ${o.connections} connection(s): warm-up ${o.warmup} batches, then up to ${o.batches} batches / ${o.durationMs} ms`)
    let fig: ClientFigures
    try {
      fig = await client.run({ ...o, name: 'kubechanges', port, check: true }, (pct, batch) => {
        const m = process.memoryUsage()
        sample()
        const point: RssPoint = { pct, batch, rssMB: MB(m.rss), heapUsedMB: MB(m.heapUsed) }
        if (gc !== undefined) {
          gc()
          point.liveHeapMB = MB(process.memoryUsage().heapUsed)
        }
        timeline.push(point)
        log(`  ${String(pct).padStart(3)} %  batch ${String(batch).padStart(5)}  rss ${point.rssMB} MB  heap ${point.heapUsedMB} MB${point.liveHeapMB !== undefined ? ` (live ${point.liveHeapMB} MB)` : ''}  open ${app!.pipeline.correlator.openCount}  indexed ${app!.pipeline.correlator.indexSize}  recorded ${app!.store.count()}`)
      })
    } finally {
      clearInterval(timer)
    }
    const rssEnd = process.memoryUsage.rss()
    if (rssEnd > peak) peak = rssEnd
    const counts = app.outbox.counts()
    const closed: Record<string, number> = {}
    for (const v of (await app.metrics.closed.get()).values) closed[`${String(v.labels.type)}/${String(v.labels.outcome)}`] = v.value
    const { bytes, ...rest } = fig
    const figures: KubechangesFigures = {
      ...rest,
      connections,
      peakRssMB: MB(peak),
      rssStartMB: MB(rssStart),
      rssEndMB: MB(rssEnd),
      rssTimeline: timeline,
      app: { changesRecorded: app.store.count(), outboxDelivered: counts.delivered, outboxPending: counts.pending, windowOpen: app.pipeline.correlator.openCount, indexedObjects: app.pipeline.correlator.indexSize, closed }
    }
    log(`  kubechanges: ${figures.eventsPerSec} events/s, p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms over ${figures.batches} batches`)
    return { figures, bytes }
  } finally {
    await app?.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function measureBare (client: Client, o: RunOptions, log: (line: string) => void): Promise<{ figures: ServerFigures, bytes: ClientFigures['bytes'] }> {
  // The floor: receive the body, JSON.parse it, answer 200.
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (d: Buffer) => chunks.push(d))
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { items?: unknown[] }
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
  try {
    log(`bare node:http + JSON.parse, ${o.connections} connection(s): up to ${o.batches} batches / ${o.durationMs} ms`)
    const { bytes, ...rest } = await client.run({ ...o, name: 'bare', port: (server.address() as AddressInfo).port, check: false })
    const figures = { ...rest, connections }
    log(`  bare: ${figures.eventsPerSec} events/s, p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms over ${figures.batches} batches`)
    return { figures, bytes }
  } finally {
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }
}

export async function benchIngest (opts: IngestBenchOptions = {}): Promise<IngestBenchResult> {
  const batchSize = opts.batchSize ?? 400
  const batches = opts.batches ?? 300
  const durationMs = opts.durationMs ?? 15_000
  const warmup = opts.warmup ?? 8
  const P = opts.templates ?? 8
  const shape = opts.shape ?? 'heavy'
  const connectionCounts = opts.connections ?? [1]
  const log = opts.log === false ? () => {} : opts.log ?? ((line: string) => { process.stderr.write(line + '\n') })
  if (!(batchSize >= 20 && batchSize <= 5000)) throw new Error('batchSize: 20..5000')
  if (!(batches >= 1 && batches <= 100_000)) throw new Error('batches: 1..100000')
  if (!(durationMs >= 100 && durationMs <= 3_600_000)) throw new Error('durationMs: 100..3600000')
  if (connectionCounts.length === 0 || !connectionCounts.every(n => Number.isInteger(n) && n >= 1 && n <= 64)) throw new Error('connections: 1..64')

  const rssBaseline = process.memoryUsage.rss()
  const loadBefore = loadavg()[0]!
  const gc = opts.liveHeap === true ? exposeGc() : undefined
  // Event time starts a little in the past and moves one second per batch.
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 60_000
  const client = await startClient({ batchSize, templates: P, shape })
  log(`client: ${P} templates of ${batchSize} events (${shape}), ${MB(client.templateBytes)} MiB each`)
  const runs: IngestRun[] = []
  let bytes: ClientFigures['bytes'] = { avg: 0, min: 0, max: 0 }
  try {
    for (const connections of connectionCounts) {
      const o: RunOptions = { connections, batches, warmup, durationMs, t0 }
      let kubechanges: KubechangesFigures = { ...zero, peakRssMB: 0, rssStartMB: 0, rssEndMB: 0, rssTimeline: [], app: { changesRecorded: 0, outboxDelivered: 0, outboxPending: 0, windowOpen: 0, indexedObjects: 0, closed: {} } }
      let bare = zero
      if (opts.only !== 'bare') ({ figures: kubechanges, bytes } = await measureKubechanges(client, o, log, gc))
      if (opts.only !== 'kubechanges') ({ figures: bare, bytes } = await measureBare(client, o, log))
      runs.push({
        connections,
        kubechanges,
        bare,
        ratio: bare.eventsPerSec > 0 && kubechanges.eventsPerSec > 0 ? Math.round((kubechanges.eventsPerSec / bare.eventsPerSec) * 100) / 100 : 0
      })
    }
  } finally {
    client.close()
  }

  return {
    runs,
    batch: { shape, size: batchSize, avgBytes: bytes.avg, minBytes: bytes.min, maxBytes: bytes.max, templates: P, warmup, mix: batchMix(batchSize, shape) },
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
