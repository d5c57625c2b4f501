// Runs the benches and prints their figures.
//
//   npm run bench                       every section, as tables
//   npm run bench -- --json             the same as one JSON object
//   npm run bench -- --only ingest      one section
//   npm run bench -- --only ingest --batches 2000 --duration 600000 --live-heap
//                                       a long run, with the live heap (after a
//                                       forced GC) at each 10 %: is memory flat?
//
// A section is { name, description, run(args) → result, table(result) → rows };
// add one to `sections` (or, like bench/delivery.ts, let it be found optionally).

import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { benchAdmission, benchAuditWithMail, type Latency } from './edge-latency.js'
import { benchWatch } from './watch.js'
import { benchIngest, type IngestBenchResult } from './ingest.js'
import { SHAPES, type BatchShape } from './audit-batches.js'
import { benchStartup, type StartupBenchResult } from './startup.js'
import { benchParse, type ParseBenchResult } from './parse.js'

type Args = Map<string, string>

/** A usage mistake: reported as one line, without a stack. */
class UsageError extends Error {}
type Rows = Array<[string, string]>

interface Section<R = unknown> {
  name: string
  description: string
  run: (args: Args) => Promise<R>
  table: (result: R) => Rows
}

function parseArgs (argv: string[]): { flags: Args, json: boolean, only?: string, help: boolean } {
  const flags: Args = new Map()
  let json = false
  let help = false
  let only: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--json') json = true
    else if (a === '--help' || a === '-h') help = true
    else if (a === '--only') only = argv[++i]
    else if (a.startsWith('--only=')) only = a.slice('--only='.length)
    else if (a.startsWith('--')) {
      const eq = a.indexOf('=')
      if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1))
      else flags.set(a.slice(2), argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--') ? argv[++i]! : 'true')
    } else throw new UsageError(`unexpected argument ${a}`)
  }
  return { flags, json, ...(only !== undefined ? { only } : {}), help }
}

function numArg (args: Args, name: string): number | undefined {
  const v = args.get(name)
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name}: expected a positive number, got ${v}`)
  return n
}

const fmt = (n: number): string => n.toLocaleString('en-US')
const kib = (b: number): string => `${fmt(Math.round(b / 1024))} KiB (${(b / 1048576).toFixed(2)} MiB)`

function listArg (args: Args, name: string): number[] | undefined {
  const v = args.get(name)
  if (v === undefined) return undefined
  const ns = v.split(',').map(Number)
  if (!ns.every(n => Number.isInteger(n) && n > 0)) throw new UsageError(`--${name}: expected positive integers separated by commas, got ${v}`)
  return ns
}

const ingest: Section<IngestBenchResult> = {
  name: 'ingest',
  description: 'POST /audit: kubechanges vs a bare node:http server that only JSON.parses (loopback, N keep-alive connections from a client process)',
  run: async args => {
    const shape = args.get('shape')
    if (shape !== undefined && !(SHAPES as readonly string[]).includes(shape)) throw new UsageError(`--shape: one of ${SHAPES.join(', ')}, got ${shape}`)
    return benchIngest({
      ...(numArg(args, 'batches') !== undefined ? { batches: numArg(args, 'batches')! } : {}),
      ...(numArg(args, 'batch-size') !== undefined ? { batchSize: numArg(args, 'batch-size')! } : {}),
      ...(numArg(args, 'duration') !== undefined ? { durationMs: numArg(args, 'duration')! } : {}),
      ...(numArg(args, 'warmup') !== undefined ? { warmup: numArg(args, 'warmup')! } : {}),
      ...(numArg(args, 'templates') !== undefined ? { templates: numArg(args, 'templates')! } : {}),
      ...(numArg(args, 'rounds') !== undefined ? { rounds: numArg(args, 'rounds')! } : {}),
      ...(listArg(args, 'connections') !== undefined ? { connections: listArg(args, 'connections')! } : {}),
      ...(shape !== undefined ? { shape: shape as BatchShape } : {}),
      ...(numArg(args, 'objects') !== undefined ? { objects: numArg(args, 'objects')! } : {}),
      ...(args.has('live-heap') ? { liveHeap: true } : {}),
      ...(args.has('durable-floor') ? { durableFloor: true } : {}),
      ...(args.get('side') === 'kubechanges' || args.get('side') === 'bare' ? { only: args.get('side') as 'kubechanges' | 'bare' } : {})
    })
  },
  table: r => {
    const rows: Rows = [['batch', `${r.batch.size} events (${r.batch.shape}), avg ${kib(r.batch.avgBytes)}, min ${kib(r.batch.minBytes)}, max ${kib(r.batch.maxBytes)}`]]
    for (const { connections: n, kubechanges: k, bare: b, ratio, durable: d, durableRatio } of r.runs) {
      const c = `${n} conn`
      rows.push(
        [`${c}: batches measured`, `kubechanges ${k.batches} (${fmt(k.events)} events, ${fmt(k.wallMs)} ms), bare ${b.batches} (${fmt(b.events)} events, ${fmt(b.wallMs)} ms); warm-up ${r.batch.warmup} each, ${r.batch.rounds} alternating rounds`],
        [`${c}: kubechanges events/s`, `${fmt(k.eventsPerSec)}  (p50 ${k.p50Ms} ms, p99 ${k.p99Ms} ms, max ${k.maxMs} ms per batch; CPU ${k.cpuMsPerBatch} ms per batch)`],
        [`${c}: bare events/s`, `${fmt(b.eventsPerSec)}  (p50 ${b.p50Ms} ms, p99 ${b.p99Ms} ms, max ${b.maxMs} ms per batch; CPU ${b.cpuMsPerBatch} ms per batch)`],
        [`${c}: ratio kubechanges/bare`, `${ratio} (target ≥ 0.8${n >= 4 ? ', p99 < 100 ms' : ''})${ratio > 0 && ratio < 0.8 ? '  BELOW TARGET' : ''}${n >= 4 && k.p99Ms >= 100 ? '  P99 OVER 100 MS' : ''}`],
        ...(d !== undefined
          ? [
              [`${c}: durable floor events/s`, `${fmt(d.eventsPerSec)}  (p50 ${d.p50Ms} ms, p99 ${d.p99Ms} ms; CPU ${d.cpuMsPerBatch} ms per batch; bare + one SQLite commit of the body before the 200)`],
              [`${c}: ratio durable floor/bare`, `${String(durableRatio)}; kubechanges/durable floor ${d.eventsPerSec > 0 ? Math.round(k.eventsPerSec / d.eventsPerSec * 100) / 100 : 0}`]
            ] as Array<[string, string]>
          : []),
        [`${c}: rss start / peak / end`, `${k.rssStartMB} / ${k.peakRssMB} / ${k.rssEndMB} MB (process before the app: ${r.rssBaselineMB} MB)`],
        [`${c}: rss each round`, k.rssTimeline.map(p => `${p.pct}%:${p.rssMB}`).join(' ')],
        ...(k.rssTimeline.some(p => p.liveHeapMB !== undefined) ? [[`${c}: live heap each round`, k.rssTimeline.map(p => `${p.pct}%:${p.liveHeapMB ?? '-'}`).join(' ')] as [string, string]] : []),
        [`${c}: app`, `changes recorded ${k.app.changesRecorded}, delivered ${k.app.outboxDelivered}, pending ${k.app.outboxPending}, open ${k.app.windowOpen}, objects indexed ${k.app.indexedObjects}; closed ${Object.entries(k.app.closed).map(([t, x]) => `${t} ${x}`).join(', ')}`],
        [`${c}: errors (non-200)`, `kubechanges ${k.errors}, bare ${b.errors}; TCP connections: kubechanges ${k.connections}, bare ${b.connections}`]
      )
    }
    rows.push(['machine', `${r.cpus} cpus, load average ${r.loadavg.before} before, ${r.loadavg.after} after`])
    return rows
  }
}

/** bench/delivery.ts, when it is there. */
async function optionalDelivery (): Promise<Section | undefined> {
  const file = fileURLToPath(new URL('./delivery.ts', import.meta.url))
  if (!existsSync(file)) return undefined
  let mod: Record<string, unknown>
  try {
    mod = await import('./delivery.js') as Record<string, unknown>
  } catch (e) {
    process.stderr.write(`bench: skipping delivery (bench/delivery.ts failed to load: ${(e as Error).message})\n`)
    return undefined
  }
  const benchDelivery = mod.benchDelivery
  if (typeof benchDelivery !== 'function') return undefined
  return {
    name: 'delivery',
    description: 'outbox → pooled SMTP to a loopback smtp-server: deliveries/s, and enqueue() cost with the server up and down',
    run: async args => (benchDelivery as (o: object) => Promise<unknown>)({ print: false, ...(numArg(args, 'count') !== undefined ? { count: numArg(args, 'count') } : {}) }),
    table: (r: any) => {
      const lat = (l: any): string => l === undefined ? '-' : `p50 ${l.p50Ms} ms, p99 ${l.p99Ms} ms, max ${l.maxMs} ms`
      const rows: Rows = []
      if (r?.deliveriesPerSec !== undefined) rows.push(['deliveries/s', `${fmt(r.deliveriesPerSec)} (${r.count} mails in ${fmt(r.elapsedMs)} ms, ${r.mailsReceived} received)`])
      if (r?.enqueueUp !== undefined) rows.push(['enqueue, mail server up', lat(r.enqueueUp)])
      if (r?.enqueueDown !== undefined) rows.push(['enqueue, mail server down', lat(r.enqueueDown)])
      // Anything else the bench returns, as is.
      for (const [key, v] of Object.entries(r ?? {})) {
        if (!['deliveriesPerSec', 'count', 'elapsedMs', 'mailsReceived', 'enqueueUp', 'enqueueDown'].includes(key)) rows.push([key, typeof v === 'object' ? JSON.stringify(v) : String(v)])
      }
      return rows
    }
  }
}

function printTable (section: Section, result: unknown): void {
  const rows = section.table(result)
  const w = Math.max(...rows.map(([k]) => k.length))
  console.log(`\n== ${section.name}: ${section.description}`)
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`)
}

const latencyRow = (l: Latency): string => `p50 ${l.p50Ms} ms, p99 ${l.p99Ms} ms, max ${l.maxMs} ms (${fmt(l.count)} requests, ${fmt(l.perSec)}/s)`

const admission: Section<Latency> = {
  name: 'admission',
  description: 'POST /admission under load: 8 concurrent keep-alive clients on loopback',
  run: async args => benchAdmission({ ...(numArg(args, 'requests') !== undefined ? { requests: numArg(args, 'requests')! } : {}) }),
  table: r => [['latency', latencyRow(r)]]
}

const auditMail: Section<Awaited<ReturnType<typeof benchAuditWithMail>>> = {
  name: 'audit-mail',
  description: 'POST /audit (50 changes per batch) with the SMTP server up versus down: delivery must not slow ingest',
  run: async args => benchAuditWithMail({ ...(numArg(args, 'batches') !== undefined ? { batches: numArg(args, 'batches')! } : {}) }),
  table: r => [
    ['mail server up', `${latencyRow(r.up)}; ${fmt(r.upDelivered)} mails delivered`],
    ['mail server down', `${latencyRow(r.down)}; ${fmt(r.downPending)} deliveries pending`]
  ]
}

const watch: Section<Awaited<ReturnType<typeof benchWatch>>> = {
  name: 'watch',
  description: 'Watch API through the pipeline: 50,000 tracked objects from a fake apiserver (child process) on loopback',
  run: async args => benchWatch({ ...(numArg(args, 'objects') !== undefined ? { objects: numArg(args, 'objects')! } : {}) }),
  table: r => Object.entries(r).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)] as [string, string])
}

const startup: Section<StartupBenchResult> = {
  name: 'startup',
  description: 'Restart: load the correlation state of 10,000 open changes and 100,000 known objects (snapshot, then snapshot + journal)',
  run: async args => benchStartup({
    ...(numArg(args, 'objects') !== undefined ? { objects: numArg(args, 'objects')! } : {}),
    ...(numArg(args, 'open') !== undefined ? { open: numArg(args, 'open')! } : {}),
    ...(numArg(args, 'journal-batches') !== undefined ? { journalBatches: numArg(args, 'journal-batches')! } : {})
  }),
  table: r => [
    ['state', `${fmt(r.openChanges)} open changes, ${fmt(r.objects)} known objects; snapshot ${r.snapshotMB} MB (store file ${r.storeFileMB} MB)`],
    ['snapshot write', `${r.snapshotWriteSeconds} s (in one piece, as at a graceful stop; the periodic ones are written in steps between batches)`],
    ['load after a stop', `${r.loadSeconds} s (snapshot only)`],
    ['load after a crash', `${r.loadWithJournalSeconds} s (snapshot + ${fmt(r.journalEntries)} journal rows)`],
    ['machine', `load average ${r.loadavg.before} before, ${r.loadavg.after} after`]
  ]
}

const parse: Section<ParseBenchResult[]> = {
  name: 'parse',
  description: 'One audit batch on one thread, step by step, against not parsing what is dropped and against parsing in a worker thread (in-process, median of --repeat N repetitions, default 300)',
  run: async args => {
    const shape = args.get('shape')
    if (shape !== undefined && !(SHAPES as readonly string[]).includes(shape)) throw new UsageError(`--shape: one of ${SHAPES.join(', ')}, got ${shape}`)
    const rounds = numArg(args, 'repeat')
    return (shape !== undefined ? [shape as BatchShape] : SHAPES).map(s => benchParse({ shape: s, ...(rounds !== undefined ? { rounds } : {}) }))
  },
  table: rs => rs.flatMap(r => {
    const m = r.ms
    const now = m.decode + m.parseAndDepth + m.normalize
    const round = (n: number): number => Math.round(n * 1000) / 1000
    return [
      [`${r.shape}: batch`, `${kib(r.bytes)}, ${r.events} events, ${r.kept} kept as observations`],
      [`${r.shape}: now`, `decode ${m.decode} ms + JSON.parse and depth walk ${m.parseAndDepth} ms + normalize ${m.normalize} ms = ${round(now)} ms`],
      [`${r.shape}: skipping reader`, `${m.skippingReader} ms in place of JSON.parse and depth walk (${m.walkOnly} ms of it walking the bytes); reads and noise (leases, events) unparsed, managedFields cut; kept events identical: ${r.skippingIdentical ? 'yes' : 'NO'}`],
      [`${r.shape}: worker thread`, `main thread receives the observations: structured clone ${m.cloneReceive} ms (worker ${m.cloneSend} ms to send), or JSON text ${m.jsonReceive} ms (worker ${m.jsonSend} ms), in place of ${round(now)} ms`]
    ] as Rows
  })
}

async function main (): Promise<void> {
  const { flags, json, only, help } = parseArgs(process.argv.slice(2))
  const sections: Section[] = [ingest as Section, parse as Section, admission as Section, auditMail as Section, watch as Section, startup as Section]
  const delivery = await optionalDelivery()
  if (delivery !== undefined) sections.push(delivery)
  if (help) {
    console.log('usage: npm run bench -- [--json] [--only NAME] [--batches N] [--batch-size N] [--duration MS] [--warmup N] [--templates N] [--rounds N] [--connections N[,N…]] [--shape heavy|light] [--side kubechanges|bare] [--durable-floor] [--live-heap] [--count N] [--repeat N]')
    for (const s of sections) console.log(`  ${s.name.padEnd(10)} ${s.description}`)
    return
  }
  const chosen = only === undefined ? sections : sections.filter(s => s.name === only)
  if (chosen.length === 0) throw new UsageError(`--only ${only}: no such section (have: ${sections.map(s => s.name).join(', ')})`)
  const results: Record<string, unknown> = {}
  for (const s of chosen) {
    process.stderr.write(`bench: ${s.name}…\n`)
    const result = await s.run(flags)
    results[s.name] = result
    if (!json) printTable(s, result)
  }
  if (json) console.log(JSON.stringify({ node: process.version, cpus: (await import('node:os')).cpus().length, results }, null, 2))
}

main().catch(err => {
  console.error(err instanceof UsageError ? `bench: ${err.message}` : err)
  process.exitCode = 1
})
