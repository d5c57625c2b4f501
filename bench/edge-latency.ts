// Latency at the edges, over loopback keep-alive HTTP against the real app:
// - admission: POST /admission p50/p99 under concurrent load (the webhook
//   runs with timeoutSeconds 2 and failurePolicy Ignore: it must answer in ms);
// - audit-mail: POST /audit latency with the SMTP server up versus down
//   (delivery must never slow ingest).
// Run alone: node --import tsx bench/edge-latency.ts
import http from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:net'
import pino from 'pino'
import { SMTPServer } from 'smtp-server'
import { createApp, type App } from '../src/app.js'
import { applyFile, DEFAULTS } from '../src/config.js'
import { createMetrics } from '../src/metrics.js'
import { Cluster, USERS, R } from '../test/helpers/cluster.js'

export interface Latency { count: number, p50Ms: number, p99Ms: number, maxMs: number, perSec: number }

function summarize (ms: number[], wallMs: number): Latency {
  const s = [...ms].sort((a, b) => a - b)
  const q = (p: number): number => Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]! * 100) / 100
  return { count: s.length, p50Ms: q(0.5), p99Ms: q(0.99), maxMs: q(1), perSec: Math.round(s.length / (wallMs / 1000)) }
}

async function startApp (env: NodeJS.ProcessEnv): Promise<{ app: App, port: number, dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'kc-bench-edge-'))
  const config = applyFile(structuredClone(DEFAULTS), { port: 0, store: join(dir, 'c.db'), quietPeriodSeconds: 0.1, notify: env.KUBECHANGES_SMTP_URL !== undefined ? { delivery: { initialBackoffMs: 50, maxBackoffMs: 200, maxAttempts: 1000 } } : undefined })
  const app = await createApp({ config, env, log: pino({ level: 'silent' }), metrics: createMetrics({ defaults: false }), write: () => {} })
  const url = await app.listen()
  app.start()
  return { app, port: Number(new URL(url).port), dir }
}

function post (agent: http.Agent, port: number, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, res => {
      res.resume().on('end', () => { res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`HTTP ${String(res.statusCode)}`)) })
    })
    req.on('error', reject)
    req.end(body)
  })
}

export async function benchAdmission (opts: { requests?: number, concurrency?: number } = {}): Promise<Latency> {
  const total = opts.requests ?? 4000
  const concurrency = opts.concurrency ?? 8
  const { app, port, dir } = await startApp({})
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  const c = new Cluster()
  const dep = c.deploymentObject('shop', 'web', 'web:1', 3)
  const bodies = Array.from({ length: 64 }, (_, i) => JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: { uid: `00000000-0000-4000-9000-${i.toString(16).padStart(12, '0')}`, kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, resource: { group: 'apps', version: 'v1', resource: 'deployments' }, name: `web-${i}`, namespace: 'shop', operation: 'UPDATE', userInfo: USERS.alice, object: { ...dep, metadata: { ...dep.metadata, name: `web-${i}`, uid: `u-${i}` } }, oldObject: { ...dep, metadata: { ...dep.metadata, name: `web-${i}`, uid: `u-${i}` } }, dryRun: false }
  }))
  const times: number[] = []
  let next = 0
  const t0 = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      const i = next++
      // A fresh review uid each time, as the apiserver sends.
      times.push(await post(agent, port, '/admission', bodies[i % bodies.length]!.replace(/"uid":"00000000-0000-4000-9000-[0-9a-f]{12}"/, `"uid":"r-${i}"`)))
    }
  }))
  const wall = performance.now() - t0
  agent.destroy()
  await app.close()
  rmSync(dir, { recursive: true, force: true })
  return summarize(times, wall)
}

async function closedPort (): Promise<number> {
  const s = createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as { port: number }).port
  await new Promise(resolve => s.close(resolve))
  return port
}

async function auditRun (smtpUrl: string, batches: number): Promise<{ latency: Latency, delivered: number, pending: number }> {
  const { app, port, dir } = await startApp({ KUBECHANGES_SMTP_URL: smtpUrl, KUBECHANGES_MAIL_FROM: 'kc@example.com', KUBECHANGES_MAIL_TO: 'ops@example.com' })
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const c = new Cluster('2026-11-20T00:00:00Z')
  const times: number[] = []
  const t0 = performance.now()
  for (let b = 0; b < batches; b++) {
    // 50 ConfigMap creates a batch: each becomes a change, hence a delivery.
    for (let i = 0; i < 50; i++) c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${b}-${i}`, namespace: 'bench' }, data: { k: 'v' } })
    const body = JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: c.take() })
    times.push(await post(agent, port, '/audit', body))
    // The wall clock closes the changes (quiet period 0.1 s) and the outbox starts delivering between batches.
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  const wall = performance.now() - t0
  const counts = app.outbox.counts()
  agent.destroy()
  await app.close()
  rmSync(dir, { recursive: true, force: true })
  return { latency: summarize(times, wall), delivered: counts.delivered, pending: counts.pending }
}

export async function benchAuditWithMail (opts: { batches?: number } = {}): Promise<{ up: Latency, down: Latency, upDelivered: number, downPending: number }> {
  const batches = opts.batches ?? 120
  const smtp = new SMTPServer({ authOptional: true, disabledCommands: ['STARTTLS'], disableReverseLookup: true, logger: false, onData (stream, _s, cb) { stream.resume().on('end', () => cb()) } })
  await new Promise<void>(resolve => smtp.listen(0, '127.0.0.1', resolve))
  const smtpPort = (smtp.server.address() as { port: number }).port
  const up = await auditRun(`smtp://127.0.0.1:${smtpPort}`, batches)
  await new Promise<void>(resolve => smtp.close(() => resolve()))
  const down = await auditRun(`smtp://127.0.0.1:${await closedPort()}`, batches)
  return { up: up.latency, down: down.latency, upDelivered: up.delivered, downPending: down.pending }
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  console.log('admission', await benchAdmission())
  console.log('audit with mail up/down', await benchAuditWithMail())
}
