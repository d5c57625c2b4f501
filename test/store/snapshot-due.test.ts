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

t.test('a due snapshot waits for readiness, up to 4x the threshold', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-snapdue-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  let syncing = true
  let clock = Date.parse('2026-11-20T10:00:00Z')
  const app = await createApp({
    config: applyFile(structuredClone(DEFAULTS), { store: join(dir, 'changes.db') }),
    env: {},
    log: pino({ level: 'silent' }),
    now: () => clock,
    write: () => {},
    metrics: createMetrics({ defaults: false }),
    snapshotEvery: { rows: 3, bytes: 1 << 30, ms: 3_600_000 },
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
