import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { buildDay } from '../restart/day.js'
import { comparableState, eventList, testApp } from '../helpers/app.js'
import { SCHEMA_VERSION } from '../../src/store/schema.js'

// A store from the release before snapshots in steps (schema 2): one
// snapshot as parts 0, 1, 2, … and only the journal written after it, no
// generation in state_meta. It opens as generation 0 with its whole journal,
// into the state it was written from.

const comparable = comparableState

t.test('a schema-2 store: its snapshot and journal load, then the file is schema 3', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-snapv2-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const day = buildDay()
  let a = await testApp({ dir, start: day.start })
  const post = async (i: number): Promise<void> => {
    a.clock.now = day.batches[i]!.sendAt
    t.equal((await a.post(eventList(day.batches[i]!.events))).statusCode, 200)
  }
  for (let i = 0; i < 5; i++) await post(i)
  a.app.snapshot()
  for (let i = 5; i < 8; i++) await post(i)
  const live = comparable(a.app.pipeline.exportState())
  a.app.store.close()

  // Rewritten as schema 2 wrote it.
  const db = new Database(join(dir, 'changes.db'))
  db.exec("UPDATE state_snapshot SET part = part % 1000000000; DELETE FROM state_meta WHERE key IN ('snapshot_gen', 'snapshot_seq')")
  db.pragma('user_version = 2')
  const parts = (db.prepare('SELECT min(part) AS lo, max(part) AS hi, count(*) AS n FROM state_snapshot').get() as { lo: number, hi: number, n: number })
  t.same(parts, { lo: 0, hi: parts.n - 1, n: parts.n }, `parts 0..${parts.n - 1}`)
  t.ok((db.prepare('SELECT count(*) AS n FROM state_journal').get() as { n: number }).n >= 3, 'and the journal of the batches after it')
  db.close()

  const stepped = { snapshotEvery: { rows: 1, bytes: 1 << 30, ms: 3_600_000 }, snapshotWrite: { partItems: 4, stepMs: 0 } }
  a = await testApp({ dir, start: a.clock.now, snapshot: stepped })
  t.equal(a.app.store.db.pragma('user_version', { simple: true }), SCHEMA_VERSION)
  t.same(comparable(a.app.pipeline.exportState()), live, 'the state it was written from')
  for (let i = 8; i < day.batches.length; i++) await post(i)
  // A snapshot in steps on that file: generation 1 replaces generation 0 and its journal.
  let steps = 1
  while (!a.app.snapshotIfDue()) steps++
  t.ok(steps > 3, `in ${steps} steps`)
  t.same((a.app.store.db.prepare('SELECT DISTINCT part / 1000000000 AS g FROM state_snapshot').all() as Array<{ g: number }>).map(r => r.g), [1], 'generation 0 replaced')
  t.equal((a.app.store.db.prepare('SELECT count(*) AS n FROM state_journal').get() as { n: number }).n, 0, 'its journal too')
  const after = comparable(a.app.pipeline.exportState())
  a.app.store.close()
  a = await testApp({ dir, start: a.clock.now })
  t.teardown(() => a.app.close())
  t.same(comparable(a.app.pipeline.exportState()), after, 'a crash then restarts into the live state')
})
