// The ingest bench's client, a child process of bench/ingest.ts: it builds the
// batches and posts them over N keep-alive connections, so that making the
// bodies and reading the answers never runs on the server's thread (the
// server under test is in the parent). The next body of a connection is made
// while the server is still working on the one just sent (once it has been
// written out), so the figures are the server's: events ÷ wall time of the
// measured run, and latency from the request sent to the response read.
//
// Protocol (process.send): parent → { type: 'init', ... } → 'ready';
// { type: 'run', ... } → 'decile'* then 'done' or 'error'.

import http from 'node:http'
import { performance } from 'node:perf_hooks'
import { buildTemplate, render, tokensFor, type BatchShape } from './audit-batches.js'

export interface ClientInit { type: 'init', batchSize: number, templates: number, shape: BatchShape }
export interface ClientRun {
  type: 'run'
  name: string
  port: number
  connections: number
  batches: number
  warmup: number
  durationMs: number
  t0: number
  /** Answers must say `received: batchSize, malformed: 0` (kubechanges' answer). */
  check: boolean
}
export interface ClientFigures {
  eventsPerSec: number
  p50Ms: number
  p99Ms: number
  meanMs: number
  maxMs: number
  batches: number
  events: number
  /** Sum of per-batch latencies. */
  busyMs: number
  /** Wall time of the measured run. */
  wallMs: number
  errors: number
  bytes: { avg: number, min: number, max: number }
}
export type ClientMessage =
  | { type: 'ready', templateBytes: number }
  | { type: 'decile', pct: number, batch: number }
  | { type: 'done', figures: ClientFigures }
  | { type: 'error', message: string }

function post (agent: http.Agent, port: number, body: Buffer, onSent: () => void): Promise<{ status: number, text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: '127.0.0.1', port, method: 'POST', path: '/audit', headers: { 'content-type': 'application/json', 'content-length': body.length } }, res => {
      const chunks: Buffer[] = []
      res.on('data', (d: Buffer) => chunks.push(d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body, onSent)
  })
}

function quantile (sorted: number[], q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}
const r1 = (x: number): number => Math.round(x * 10) / 10

let templates: string[] = []
let batchSize = 400

function send (m: ClientMessage): void { process.send?.(m) }

async function run (o: ClientRun): Promise<ClientFigures> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections })
  const P = templates.length
  const body = (b: number): Buffer => render(templates[b % P]!, tokensFor(b, P, o.t0))
  const check = (b: number, res: { status: number, text: string }, warm: boolean): boolean => {
    let ok = res.status === 200
    if (ok && o.check) {
      const r = JSON.parse(res.text) as { received?: number, malformed?: number }
      ok = r.received === batchSize && r.malformed === 0
    }
    if (!ok && warm) throw new Error(`${o.name}: warm-up batch ${b} answered ${res.status}: ${res.text.slice(0, 200)}`)
    return ok
  }
  try {
    // Warm-up (JIT), over the same connections.
    let b = 0
    await Promise.all(Array.from({ length: o.connections }, async () => {
      while (b < o.warmup) {
        const mine = b++
        check(mine, await post(agent, o.port, body(mine), () => {}), true)
      }
    }))
    const lat: number[] = []
    const bytes: number[] = []
    let errors = 0
    let started = 0
    let decile = 0
    const start = performance.now()
    const claim = (): number | undefined => {
      if (started >= o.batches || performance.now() - start >= o.durationMs) return undefined
      started++
      return b++
    }
    await Promise.all(Array.from({ length: o.connections }, async () => {
      let mine = claim()
      let next = mine !== undefined ? body(mine) : undefined
      while (mine !== undefined && next !== undefined) {
        const cur = next
        const n = mine
        bytes.push(cur.length)
        let made: { b: number | undefined, body: Buffer | undefined } | undefined
        const t = performance.now()
        // Once the body is out, make the next one while the server works.
        const res = await post(agent, o.port, cur, () => {
          const nb = claim()
          made = { b: nb, body: nb !== undefined ? body(nb) : undefined }
        })
        lat.push(performance.now() - t)
        if (!check(n, res, false)) {
          errors++
          if (errors <= 3) process.stderr.write(`  ${o.name}: batch ${n} answered ${res.status}: ${res.text.slice(0, 200)}\n`)
        }
        const done = lat.length
        const progress = Math.max(done / o.batches, (performance.now() - start) / o.durationMs)
        while (decile < 10 && progress >= (decile + 1) / 10) {
          decile++
          send({ type: 'decile', pct: decile * 10, batch: done })
        }
        made ??= (() => { const nb = claim(); return { b: nb, body: nb !== undefined ? body(nb) : undefined } })()
        mine = made.b
        next = made.body
      }
    }))
    const wallMs = performance.now() - start
    while (decile < 10) send({ type: 'decile', pct: ++decile * 10, batch: lat.length })
    const busyMs = lat.reduce((a, x) => a + x, 0)
    const sorted = [...lat].sort((x, y) => x - y)
    const events = lat.length * batchSize
    return {
      eventsPerSec: Math.round(events / (wallMs / 1000)),
      p50Ms: r1(quantile(sorted, 0.5)),
      p99Ms: r1(quantile(sorted, 0.99)),
      meanMs: r1(busyMs / Math.max(1, lat.length)),
      maxMs: r1(sorted[sorted.length - 1] ?? 0),
      batches: lat.length,
      events,
      busyMs: Math.round(busyMs),
      wallMs: Math.round(wallMs),
      errors,
      bytes: {
        avg: Math.round(bytes.reduce((a, x) => a + x, 0) / Math.max(1, bytes.length)),
        min: bytes.length > 0 ? Math.min(...bytes) : 0,
        max: bytes.length > 0 ? Math.max(...bytes) : 0
      }
    }
  } finally {
    agent.destroy()
  }
}

process.on('message', (m: ClientInit | ClientRun) => {
  if (m.type === 'init') {
    batchSize = m.batchSize
    templates = Array.from({ length: m.templates }, (_, t) => buildTemplate(t, m.batchSize, m.shape))
    send({ type: 'ready', templateBytes: Math.round(templates.reduce((a, s) => a + Buffer.byteLength(s), 0) / templates.length) })
  } else if (m.type === 'run') {
    run(m).then(figures => send({ type: 'done', figures }), (e: Error) => send({ type: 'error', message: e.message }))
  }
})
process.on('disconnect', () => process.exit(0))
