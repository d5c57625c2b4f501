// Start-up bench: how long `serve` takes to load the correlation state after a
// restart, for the state of a big cluster — 10,000 open changes (rollouts in
// progress) and 100,000 known objects — written as the snapshot the store
// holds after a graceful stop, plus a journal of batches ingested after it
// (what a SIGKILL leaves to replay).
//
//   node --import tsx bench/startup.ts [objects] [open] [journalBatches]

import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import pino from 'pino'
import { createApp } from '../src/app.js'
import { applyFile, DEFAULTS } from '../src/config.js'
import { createMetrics } from '../src/metrics.js'
import type { Observation } from '../src/model.js'

export interface StartupBenchOptions { objects?: number, open?: number, journalBatches?: number }

export interface StartupBenchResult {
  objects: number
  openChanges: number
  journalEntries: number
  /** Writing the snapshot (the graceful-stop path). */
  snapshotWriteSeconds: number
  snapshotMB: number
  /** createApp on the file until it serves: snapshot load + journal replay. */
  loadSeconds: number
  /** The same with the journal left by a crash after `journalBatches` batches. */
  loadWithJournalSeconds: number
  storeFileMB: number
  loadavg: { before: number, after: number }
}

function deployment (i: number, rolling: boolean): Observation {
  const name = `app-${i}`
  const ns = `ns-${i % 200}`
  const replicas = 3
  return {
    source: 'watch',
    at: 0,
    ref: { apiGroup: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespace: ns, name, uid: `uid-${i}` },
    action: 'create',
    resourceVersion: String(1000 + i),
    generation: 2,
    owners: [],
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns, uid: `uid-${i}`, resourceVersion: String(1000 + i), generation: 2, labels: { app: name, team: `t${i % 17}` }, annotations: { 'deployment.kubernetes.io/revision': '2' } },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: `registry.example.com/${name}:1.${i % 9}`, ports: [{ containerPort: 8080 }], resources: { requests: { cpu: '100m', memory: '128Mi' } } }] } }
      },
      status: rolling
        ? { observedGeneration: 2, replicas: 4, updatedReplicas: 1, availableReplicas: 3, readyReplicas: 3 }
        : { observedGeneration: 2, replicas, updatedReplicas: replicas, availableReplicas: replicas, readyReplicas: replicas }
    }
  }
}

export async function benchStartup (opts: StartupBenchOptions = {}): Promise<StartupBenchResult> {
  const objects = opts.objects ?? 100_000
  const open = opts.open ?? 10_000
  const journalBatches = opts.journalBatches ?? 200
  const dir = mkdtempSync(join(tmpdir(), 'kc-startup-'))
  const before = loadavg()[0]!
  const config = applyFile(structuredClone(DEFAULTS), { store: join(dir, 'changes.db'), logLevel: 'silent', watch: { enabled: false }, window: { maxObjects: Math.max(open, 10_000), ttlSeconds: 1800 } })
  const make = async () => await createApp({ config, env: {}, log: pino({ level: 'silent' }), write: () => {}, metrics: createMetrics({ defaults: false }), now: () => 1_000_000 })
  try {
    // The state, as the watch's first list builds it: every object known, `open` of them mid-rollout.
    const first = await make()
    const every = Math.max(1, Math.floor(objects / open))
    for (let i = 0; i < objects; i++) first.pipeline.baseline(deployment(i, i % every === 0 && i / every < open))
    const openChanges = first.pipeline.correlator.openCount
    let t = performance.now()
    first.snapshot()
    const snapshotWriteSeconds = (performance.now() - t) / 1000
    const snapshotMB = (first.store.db.prepare('SELECT coalesce(sum(length(body)), 0) AS b FROM state_snapshot').get() as { b: number }).b / 1048576
    await first.close()

    t = performance.now()
    const second = await make()
    const loadSeconds = (performance.now() - t) / 1000
    // Batches after the snapshot, then a crash (the store closed under the app, no snapshot).
    for (let b = 0; b < journalBatches; b++) {
      second.tick(1_000_000 + b)
      second.pipeline.ingest({ ...deployment(b % objects, true), source: 'watch', action: 'update', resourceVersion: String(10_000_000 + b) })
    }
    const journalEntries = (second.store.db.prepare('SELECT count(*) AS n FROM state_journal').get() as { n: number }).n
    second.store.close()

    t = performance.now()
    const third = await make()
    const loadWithJournalSeconds = (performance.now() - t) / 1000
    await third.close()
    return {
      objects: first.pipeline.correlator.indexSize,
      openChanges,
      journalEntries,
      snapshotWriteSeconds: Math.round(snapshotWriteSeconds * 100) / 100,
      snapshotMB: Math.round(snapshotMB * 10) / 10,
      loadSeconds: Math.round(loadSeconds * 100) / 100,
      loadWithJournalSeconds: Math.round(loadWithJournalSeconds * 100) / 100,
      storeFileMB: Math.round(statSync(join(dir, 'changes.db')).size / 104857.6) / 10,
      loadavg: { before: Math.round(before * 10) / 10, after: Math.round(loadavg()[0]! * 10) / 10 }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [o, n, j] = process.argv.slice(2).map(Number)
  benchStartup({ ...(o !== undefined && o > 0 ? { objects: o } : {}), ...(n !== undefined && n > 0 ? { open: n } : {}), ...(j !== undefined && j > 0 ? { journalBatches: j } : {}) })
    .then(r => { console.log(JSON.stringify(r, null, 2)) }, err => { console.error(err); process.exitCode = 1 })
}
