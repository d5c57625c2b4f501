// Delivery bench: deliveries/s through the outbox and a pooled SMTP transport
// to a local smtp-server on loopback, and the cost of enqueue() (what ingest
// pays) while the mail server is up versus down.
//
//   node --import tsx bench/delivery.ts [count]

import Database from 'better-sqlite3'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { SMTPServer } from 'smtp-server'
import type { Change } from '../src/model.js'
import { parseNotifyConfig } from '../src/notify/config.js'
import { createDispatcher } from '../src/notify/dispatcher.js'
import type { DispatcherLogger } from '../src/notify/dispatcher.js'
import { createEmailSink } from '../src/notify/email.js'
import { Outbox } from '../src/store/outbox.js'

export interface LatencyFigures { p50Ms: number; p99Ms: number; maxMs: number; meanMs: number }

export interface DeliveryBenchResult {
  count: number
  elapsedMs: number
  deliveriesPerSec: number
  mailsReceived: number
  /** enqueue() latency while the loop delivers to a live server. */
  enqueueUp: LatencyFigures
  /** enqueue() latency while every delivery fails (connection refused). */
  enqueueDown: LatencyFigures
}

export interface DeliveryBenchOptions {
  count?: number
  concurrency?: number
  maxConnections?: number
  /** enqueue() calls measured per case. */
  enqueueSamples?: number
  print?: boolean
}

const quietLog: DispatcherLogger = { info () {}, warn () {}, error () {} }

let seq = 0
function benchChange (): Change {
  seq++
  return {
    id: `bench-${process.pid}-${seq}`,
    type: 'rollout',
    outcome: 'succeeded',
    object: { kind: 'Deployment', namespace: 'shop', name: `web-${seq % 50}`, uid: `uid-${seq}` },
    actor: { username: 'alice@example.com', groups: ['system:authenticated'] },
    summary: `shop/web-${seq % 50} rolled out revision ${seq}`,
    startedAt: '2025-01-01T10:00:00.000Z',
    endedAt: '2025-01-01T10:00:38.000Z',
    durationMs: 38_000,
    details: {
      revision: seq,
      images: [{ container: 'web', from: 'registry.example.com/shop/web:1.4.0', to: 'registry.example.com/shop/web:1.5.0' }],
      replicas: { desired: 4, ready: 4, available: 4, updated: 4 },
      diff: [{ path: 'spec.template.spec.containers[0].image', from: 'registry.example.com/shop/web:1.4.0', to: 'registry.example.com/shop/web:1.5.0' }]
    },
    counts: { audit: 3, watch: 12 },
    auditIDs: [`a-${seq}`],
    timeline: Array.from({ length: 8 }, (_, i) => ({
      at: `2025-01-01T10:00:${String(i * 4).padStart(2, '0')}.000Z`, source: 'watch' as const, action: 'status' as const, kind: 'Deployment', name: 'web'
    }))
  }
}

async function startSink (): Promise<{ port: number; received: () => number; close: () => Promise<void> }> {
  let received = 0
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    closeTimeout: 100,
    disableReverseLookup: true,
    onData (stream, _session, cb) {
      stream.on('data', () => {})
      stream.on('end', () => { received++; cb() })
    }
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()))
  return {
    port: (server.server.address() as AddressInfo).port,
    received: () => received,
    close: () => new Promise<void>(resolve => server.close(() => resolve()))
  }
}

async function closedPort (): Promise<number> {
  const s = net.createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', () => resolve()))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>(resolve => s.close(() => resolve()))
  return port
}

function figures (samples: number[]): LatencyFigures {
  const s = [...samples].sort((a, b) => a - b)
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]
  const round = (x: number): number => Math.round(x * 1000) / 1000
  return { p50Ms: round(at(0.5)), p99Ms: round(at(0.99)), maxMs: round(s[s.length - 1]), meanMs: round(s.reduce((a, b) => a + b, 0) / s.length) }
}

function rig (port: number, opts: { pool: boolean; maxConnections: number; concurrency: number }) {
  const db = new Database(':memory:')
  const outbox = new Outbox(db)
  const config = parseNotifyConfig(undefined, {
    KUBECHANGES_SMTP_URL: `smtp://127.0.0.1:${port}`, KUBECHANGES_MAIL_FROM: 'kc@example.com', KUBECHANGES_MAIL_TO: 'ops@example.com'
  })
  const sink = createEmailSink({
    name: 'email', url: `smtp://127.0.0.1:${port}`, from: 'kc@example.com', to: ['ops@example.com'],
    pool: opts.pool, maxConnections: opts.maxConnections, connectionTimeoutMs: 2000, greetingTimeoutMs: 2000
  })
  const dispatcher = createDispatcher({
    outbox, sinks: [sink], config, log: quietLog, concurrency: opts.concurrency, pollMs: 50,
    backoff: { initialMs: 1000, maxMs: 60_000, maxAttempts: 10 }
  })
  return { db, outbox, dispatcher, close: async () => { await dispatcher.close(); db.close() } }
}

async function measureEnqueue (r: ReturnType<typeof rig>, samples: number): Promise<LatencyFigures> {
  r.dispatcher.start()
  const lat: number[] = []
  for (let i = 0; i < samples; i++) {
    const c = benchChange()
    const t0 = performance.now()
    r.dispatcher.enqueue(c)
    lat.push(performance.now() - t0)
    // Let the loop run between calls, as it does between HTTP requests.
    if (i % 10 === 9) await new Promise(resolve => setImmediate(resolve))
  }
  await r.dispatcher.stop()
  return figures(lat)
}

export async function benchDelivery (opts: DeliveryBenchOptions = {}): Promise<DeliveryBenchResult> {
  const count = opts.count ?? 500
  const maxConnections = opts.maxConnections ?? 5
  const concurrency = opts.concurrency ?? 10
  const samples = opts.enqueueSamples ?? 2000
  const server = await startSink()
  try {
    // Throughput: enqueue `count` changes, then deliver them all.
    const r = rig(server.port, { pool: true, maxConnections, concurrency })
    for (let i = 0; i < count; i++) r.dispatcher.enqueue(benchChange())
    const t0 = performance.now()
    await r.dispatcher.drain()
    const elapsedMs = performance.now() - t0
    const counts = r.outbox.counts()
    await r.close()
    if (counts.delivered !== count) throw new Error(`bench: ${counts.delivered}/${count} delivered`)

    // enqueue() while the server is up (deliveries running) and down (every attempt refused).
    const up = rig(server.port, { pool: true, maxConnections, concurrency })
    const enqueueUp = await measureEnqueue(up, samples)
    await up.close()
    const down = rig(await closedPort(), { pool: true, maxConnections, concurrency })
    const enqueueDown = await measureEnqueue(down, samples)
    await down.close()

    const result: DeliveryBenchResult = {
      count,
      elapsedMs: Math.round(elapsedMs),
      deliveriesPerSec: Math.round(count / (elapsedMs / 1000)),
      mailsReceived: server.received(),
      enqueueUp,
      enqueueDown
    }
    if (opts.print !== false) {
      console.log(`delivery: ${count} mails in ${result.elapsedMs} ms → ${result.deliveriesPerSec} deliveries/s ` +
        `(pooled SMTP, ${maxConnections} connections, concurrency ${concurrency}, loopback smtp-server)`)
      console.log(`enqueue with mail server up:   p50 ${enqueueUp.p50Ms} ms, p99 ${enqueueUp.p99Ms} ms, max ${enqueueUp.maxMs} ms (${samples} calls)`)
      console.log(`enqueue with mail server down: p50 ${enqueueDown.p50Ms} ms, p99 ${enqueueDown.p99Ms} ms, max ${enqueueDown.maxMs} ms (${samples} calls)`)
    }
    return result
  } finally {
    await server.close()
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const count = Number(process.argv[2] ?? 500)
  benchDelivery({ count: Number.isFinite(count) && count > 0 ? Math.min(count, 100_000) : 500 }).catch(err => {
    console.error(err)
    process.exitCode = 1
  })
}
