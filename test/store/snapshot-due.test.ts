import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { createApp } from '../../src/app.js'
import { applyFile, DEFAULTS } from '../../src/config.js'
import { createMetrics } from '../../src/metrics.js'
import { eventList } from '../helpers/app.js'
import { Cluster, R, USERS } from '../helpers/cluster.js'

// When the journal is replaced by a snapshot: at its thresholds, but not while
// a first sync is still listing (the source is not ready), which would write
// it again moments later; and never deferred past 4x the threshold.

/**
 * An app on `dir`'s store with the test's clock and snapshot thresholds. When a snapshot is due,
 * one snapshotIfDue() writes all of it (steps: test/store/snapshot-steps.test.ts), whatever the
 * machine's speed.
 */
async function openApp (dir: string, now: () => number, opts: Pick<Parameters<typeof createApp>[0], 'snapshotEvery' | 'readiness'>): ReturnType<typeof createApp> {
  return await createApp({
    snapshotWrite: { stepMs: 600_000 },
    config: applyFile(structuredClone(DEFAULTS), { store: join(dir, 'changes.db') }),
    env: {},
    log: pino({ level: 'silent' }),
    now,
    write: () => {},
    metrics: createMetrics({ defaults: false }),
    ...opts
  })
}

t.test('a due snapshot waits for readiness, up to 4x the threshold', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-snapdue-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  let syncing = true
  let clock = Date.parse('2026-11-20T10:00:00Z')
  const app = await openApp(dir, () => clock, {
    snapshotEvery: { rows: 3, bytes: 1 << 30, ms: 3_600_000, replayMs: Infinity },
    readiness: [() => syncing ? 'informers not synced: /api/v1/pods' : undefined]
  })
  t.teardown(() => app.close())
  const rows = (): number => (app.store.db.prepare('SELECT count(*) AS n FROM state_journal').get() as { n: number }).n
  const c = new Cluster(new Date(clock).toISOString())
  const batch = async (i: number): Promise<void> => {
    c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, namespace: 'shop' }, data: { a: String(i) } })
    const res = await app.server.inject({ method: 'POST', url: '/audit', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(eventList(c.take())) })
    t.equal(res.statusCode, 200)
    clock += 1000
  }
  for (let i = 0; i < 3; i++) await batch(i)
  t.equal(rows(), 3)
  t.equal(app.snapshotIfDue(), false, 'due, but the first sync is not done')
  syncing = false
  t.equal(app.snapshotIfDue(), true, 'written once ready')
  t.equal(rows(), 0, 'the journal it covers is gone')
  t.equal(app.snapshotIfDue(), false, 'nothing due')

  syncing = true
  for (let i = 3; i < 14; i++) await batch(i)
  t.equal(rows(), 11)
  t.equal(app.snapshotIfDue(), false, 'under 4x the threshold: still waiting')
  await batch(14)
  t.equal(app.snapshotIfDue(), true, 'at 4x it is written whether ready or not')
  t.equal(rows(), 0)
})

// The clock's snapshot: every `ms` while the state is small, but a big state
// is rewritten by the clock only once the journal is an eighth of it (the size
// thresholds still apply as before); after a restart the snapshot on disk counts.
t.test('the clock folds the journal only when it is worth the snapshot', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-snapclock-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  let clock = Date.parse('2026-11-20T10:00:00Z')
  const open = async (): ReturnType<typeof createApp> => await openApp(dir, () => clock, { snapshotEvery: { rows: 1_000_000, bytes: 1 << 30, ms: 60_000, replayMs: Infinity } })
  let app = await open()
  const journal = (): { n: number, b: number } => app.store.db.prepare('SELECT count(*) AS n, coalesce(sum(length(entries)), 0) AS b FROM state_journal').get() as { n: number, b: number }
  const snapshotBytes = (): number => (app.store.db.prepare('SELECT coalesce(sum(length(body)), 0) AS b FROM state_snapshot').get() as { b: number }).b
  const c = new Cluster(new Date(clock).toISOString())
  let i = 0
  const batch = async (): Promise<void> => {
    c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i++}`, namespace: 'shop' }, data: { a: 'x'.repeat(200) } })
    const res = await app.server.inject({ method: 'POST', url: '/audit', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(eventList(c.take())) })
    t.equal(res.statusCode, 200)
    clock += 1000
  }

  await batch()
  clock += 60_000
  t.equal(app.snapshotIfDue(), true, 'no snapshot yet: the clock writes the first one')
  t.equal(journal().n, 0)

  // A big state: 2,000 known objects, folded into a snapshot.
  app.inTransaction(() => {
    for (let k = 0; k < 2000; k++) {
      app.pipeline.baseline({ source: 'watch', at: clock, ref: { apiGroup: '', version: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespace: 'big', name: `cm-${k}`, uid: `uid-big-${k}` }, action: 'create', resourceVersion: String(k + 1), owners: [], object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${k}`, namespace: 'big', uid: `uid-big-${k}`, resourceVersion: String(k + 1) }, data: { k: String(k) } } })
    }
  })
  app.snapshot()
  const big = snapshotBytes()
  t.ok(big > 100_000, `the snapshot holds the objects (${big} bytes)`)

  await batch()
  clock += 61_000
  t.ok(journal().b * 8 < big, 'one batch is far under an eighth of the snapshot')
  t.equal(app.snapshotIfDue(), false, 'past the interval, but the journal is not worth rewriting the state')
  t.equal(journal().n, 1, 'the journal keeps the batch')

  // A restart (the stop writes the state): the snapshot on disk is what the journal is weighed against.
  await app.close()
  app = await open()
  const onDisk = snapshotBytes()
  t.ok(onDisk >= big, 'the stop wrote the state')
  await batch()
  clock += 61_000
  t.equal(app.snapshotIfDue(), false, 'after a restart, the same')
  while (journal().b * 8 < onDisk) await batch()
  clock += 61_000
  t.equal(app.snapshotIfDue(), true, 'at an eighth of the snapshot, the clock writes it')
  t.equal(journal().n, 0, 'the journal it covers is gone')
  t.ok(snapshotBytes() > onDisk, 'the new snapshot holds the batches too')
  await app.close()
})

// A row count does not bound a restart: a journal row replays in microseconds or in half a
// millisecond (among 10,000 open changes). What does is how long the rows took to ingest, which
// their replay takes again; after a restart, the replay it just took counts.
t.test('a journal that took replayMs to ingest is folded, whatever its row count', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-snapreplay-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  let clock = Date.parse('2026-11-20T10:00:00Z')
  const c = new Cluster(new Date(clock).toISOString())
  let i = 0
  const batch = async (app: Awaited<ReturnType<typeof createApp>>): Promise<void> => {
    c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i++}`, namespace: 'shop' }, data: { a: 'x' } })
    const res = await app.server.inject({ method: 'POST', url: '/audit', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(eventList(c.take())) })
    t.equal(res.statusCode, 200)
    clock += 1000
  }
  const rows = (app: Awaited<ReturnType<typeof createApp>>): number => (app.store.db.prepare('SELECT count(*) AS n FROM state_journal').get() as { n: number }).n
  const never = { rows: 1_000_000, bytes: 1 << 30, ms: 3_600_000 }

  const patient = await openApp(dir, () => clock, { snapshotEvery: { ...never, replayMs: Infinity } })
  for (let k = 0; k < 3; k++) await batch(patient)
  t.equal(patient.snapshotIfDue(), false, 'no threshold reached')
  t.equal(rows(patient), 3)
  // A crash: the store closed under the app, no snapshot at the stop.
  patient.store.close()

  // Any time at all is over a budget of a nanosecond: the replay at start-up alone makes it due.
  const eager = await openApp(dir, () => clock, { snapshotEvery: { ...never, replayMs: 1e-6 } })
  t.equal(rows(eager), 4, 'the journal the crash left, and the restart noted in it')
  t.equal(eager.snapshotIfDue(), true, 'its replay at start-up counted')
  t.equal(rows(eager), 0)
  t.equal(eager.snapshotIfDue(), false, 'nothing left to fold')
  await batch(eager)
  t.equal(eager.snapshotIfDue(), true, 'the ingest of one batch counts')
  await eager.close()
})
