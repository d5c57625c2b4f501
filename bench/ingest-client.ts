// The ingest bench's client, a child process of bench/ingest.ts: it builds the
// batches and posts them over N keep-alive connections, so that making the
// bodies and reading the answers never runs on the server's thread (the
// server under test is in the parent). The next body of a connection is made
// while the server is still working on the one just sent (once it has been
// written out), so the figures are the server's: events ÷ wall time of the
// measured run, and latency from the request sent to the response read.
//
// Protocol (process.send): parent → { type: 'init', ... } → 'ready';
// { type: 'run', ... } → 'done' or 'error'. A run is one slice of a
// measurement: the parent alternates slices of the two servers.

import http from 'node:http'
import { performance } from 'node:perf_hooks'
import { buildTemplate, render, tokensFor, type BatchShape } from './audit-batches.js'

export interface ClientInit { type: 'init', batchSize: number, templates: number, shape: BatchShape }
export interface ClientRun {
  type: 'run'
  name: string
  port: number
  connections: number
  /** Number of the first batch (batches of one server are numbered on across slices). */
  first: number
  batches: number
  warmup: number
  durationMs: number
  t0: number
  /** Answers must say `received: batchSize, malformed: 0` (kubechanges' answer). */
  check: boolean
}
export interface ClientFigures {
  /** Latency of each measured batch that was answered 200, ms. */
  latencies: number[]
  /** Wall time of the measured slice. */
  wallMs: number
  /** Answers other than 200 (or, with `check`, not every event received). */
  errors: number
  /** Size of each measured body. */
  bytes: number[]
}
export type ClientMessage =
  | { type: 'ready', templateBytes: number }
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

let templates: string[] = []
let batchSize = 400

function send (m: ClientMessage): void { process.send?.(m) }

// One agent per server and connection count, kept across slices: the same
// keep-alive connections all along, as the apiserver's webhook keeps them.
const agents = new Map<string, http.Agent>()

async function run (o: ClientRun): Promise<ClientFigures> {
  const key = `${o.port}/${o.connections}`
  let agent = agents.get(key)
  if (agent === undefined) agents.set(key, agent = new http.Agent({ keepAlive: true, maxSockets: o.connections }))
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
  // Warm-up (JIT), over the same connections.
  let b = o.first
  const warmEnd = o.first + o.warmup
  await Promise.all(Array.from({ length: o.connections }, async () => {
    while (b < warmEnd) {
      const mine = b++
      check(mine, await post(agent, o.port, body(mine), () => {}), true)
    }
  }))
  const lat: number[] = []
  const bytes: number[] = []
  let errors = 0
  let started = 0
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
      const ms = performance.now() - t
      // A refused batch (503 under overload) is not ingested: it counts as an
      // error and in the wall time, never as events.
      if (check(n, res, false)) lat.push(ms)
      else {
        errors++
        if (errors <= 3) process.stderr.write(`  ${o.name}: batch ${n} answered ${res.status}: ${res.text.slice(0, 200)}\n`)
      }
      made ??= (() => { const nb = claim(); return { b: nb, body: nb !== undefined ? body(nb) : undefined } })()
      mine = made.b
      next = made.body
    }
  }))
  return { latencies: lat, wallMs: performance.now() - start, errors, bytes }
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
