import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildDay, runDay } from '../restart/day.js'
import { comparableState, eventList, testApp, type TestApp } from '../helpers/app.js'
import type { Change } from '../../src/model.js'

// A snapshot is cut at once and written a few parts at a time, while batches
// go on between its steps. Here every batch of the restart day is followed by
// a few steps of a snapshot that is always due, each part holding 4 items, so
// snapshots span batches, complete, and start again. A crash (the store
// connection closed: nothing unwritten survives) after any batch must restart
// into exactly the state the live app had, and the day must report the
// uninterrupted run's changes, each delivered once.

t.setTimeout(10 * 60_000)

const SNAPSHOT = { snapshotEvery: { rows: 1, bytes: 1 << 30, ms: 3_600_000 }, snapshotWrite: { partItems: 4, stepMs: 0 } }
const STEPS_PER_BATCH = 12
const day = buildDay()

const comparable = comparableState

interface Stepped { stored: Change[], delivered: Change[], completed: number, spanned: number, restoredSame: boolean[] }

async function steppedDay (crashAt?: { batch: number, step: number }): Promise<Stepped> {
  const dir = mkdtempSync(join(tmpdir(), 'kc-snapsteps-'))
  try {
    let a: TestApp = await testApp({ dir, start: day.start, snapshot: SNAPSHOT })
    const delivered: Change[] = []
    const restoredSame: boolean[] = []
    let completed = 0
    let spanned = 0
    const gen = (): string => (a.app.store.db.prepare("SELECT value FROM state_meta WHERE key = 'snapshot_gen'").get() as { value: string } | undefined)?.value ?? '0'
    for (let i = 0; i < day.batches.length; i++) {
      const b = day.batches[i]!
      while (a.clock.now + 1000 <= b.sendAt) await a.advance(1000)
      if (a.clock.now < b.sendAt) await a.advance(b.sendAt - a.clock.now)
      const res = await a.post(eventList(b.events))
      if (res.statusCode !== 200) throw new Error(`batch ${i}: ${res.statusCode}`)
      await a.advance(0)
      const before = gen()
      let done = false
      for (let s = 0; s < STEPS_PER_BATCH; s++) {
        if (a.app.snapshotIfDue()) { completed++; done = true }
        if (crashAt?.batch === i && crashAt.step === s) {
          const live = comparable(a.app.pipeline.exportState())
          delivered.push(...a.printed)
          a.app.store.close()
          a = await testApp({ dir, start: a.clock.now, snapshot: SNAPSHOT })
          restoredSame.push(t.same(comparable(a.app.pipeline.exportState()), live, `crash after batch ${i}, step ${s}: restarted into the live state`))
        }
      }
      // A snapshot still being written when the next batch comes.
      if (!done && gen() === before) spanned++
    }
    while (a.clock.now + 1000 <= day.end) await a.advance(1000)
    delivered.push(...a.printed)
    const stored = a.stored()
    await a.app.close()
    return { stored, delivered, completed, spanned, restoredSame }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

t.test('snapshots in steps between batches: a crash after any batch changes nothing', async t => {
  const ref = await runDay(day)
  const plain = await steppedDay()
  t.ok(plain.completed >= 3, `snapshots completed during the day (${plain.completed})`)
  t.ok(plain.spanned >= 3, `batches arrived while one was being written (${plain.spanned})`)
  t.same(plain.stored, ref.stored, 'the same changes as without snapshots')
  t.same(plain.delivered.map(c => c.id), ref.stored.map(c => c.id), 'each delivered once')
  // A crash after every step of every batch: mid-write, just after the cut moves to the new
  // snapshot, while the old one's rows are being removed, between snapshots.
  let failures = 0
  for (let i = 0; i < day.batches.length && failures < 3; i++) {
    for (let step = 0; step < STEPS_PER_BATCH && failures < 3; step++) {
      const run = await steppedDay({ batch: i, step })
      const ok = run.restoredSame.every(Boolean) &&
        t.same(run.stored, ref.stored, `crash after batch ${i}, step ${step}: the same changes`) &&
        t.same([...run.delivered.map(c => c.id)].sort(), ref.stored.map(c => c.id).sort(), `crash after batch ${i}, step ${step}: each delivered once`)
      if (!ok) failures++
    }
  }
})

t.test('once complete, only the new snapshot and the journal after its cut are left', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-snapsteps-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const a = await testApp({ dir, start: day.start, snapshot: SNAPSHOT })
  t.teardown(() => a.app.close())
  const db = a.app.store.db
  for (const b of day.batches.slice(0, 4)) {
    a.clock.now = b.sendAt
    t.equal((await a.post(eventList(b.events))).statusCode, 200)
  }
  const ranges = (): number[] => (db.prepare('SELECT DISTINCT part / 1000000000 AS g FROM state_snapshot ORDER BY g').all() as Array<{ g: number }>).map(r => r.g)
  // The first snapshot, stepped through to the end.
  let steps = 0
  while (!a.app.snapshotIfDue()) steps++
  t.ok(steps > 3, `it took several steps (${steps})`)
  t.same(ranges(), [1], 'generation 1 only')
  t.equal((db.prepare('SELECT count(*) AS n FROM state_journal').get() as { n: number }).n, 0, 'the journal it covers is gone')

  // A second one, with a batch between its steps: that batch's journal row stays.
  t.equal(a.app.snapshotIfDue(), false, 'nothing due yet')
  const b = day.batches[4]!
  a.clock.now = b.sendAt
  t.equal((await a.post(eventList(b.events))).statusCode, 200)
  t.equal(a.app.snapshotIfDue(), false, 'cut')
  t.equal(a.app.snapshotIfDue(), false, 'first part written')
  t.same(ranges(), [1, 2], 'the old snapshot is still there beside the new parts')
  const c = day.batches[5]!
  a.clock.now = c.sendAt
  t.equal((await a.post(eventList(c.events))).statusCode, 200)
  while (!a.app.snapshotIfDue()) steps++
  t.same(ranges(), [2], 'generation 2 only')
  t.equal((db.prepare('SELECT count(*) AS n FROM state_journal').get() as { n: number }).n, 1, 'the batch that came after the cut is still journaled')
})

t.test('a step the disk refuses gives that snapshot up; the next one starts over', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-snapsteps-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  let a = await testApp({ dir, start: day.start, snapshot: SNAPSHOT })
  for (const b of day.batches.slice(0, 4)) {
    a.clock.now = b.sendAt
    t.equal((await a.post(eventList(b.events))).statusCode, 200)
  }
  t.equal(a.app.snapshotIfDue(), false, 'cut, first step written')
  a.app.store.db.exec("CREATE TEMP TRIGGER refuse BEFORE INSERT ON state_snapshot BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
  t.throws(() => a.app.snapshotIfDue(), { message: 'database or disk is full' })
  a.app.store.db.exec('DROP TRIGGER refuse')
  let steps = 0
  while (!a.app.snapshotIfDue()) if (++steps > 10_000) break
  t.ok(steps < 10_000, 'the next snapshot completes')
  const live = comparable(a.app.pipeline.exportState())
  a.app.store.close()
  a = await testApp({ dir, start: a.clock.now, snapshot: SNAPSHOT })
  t.teardown(() => a.app.close())
  t.same(comparable(a.app.pipeline.exportState()), live, 'a crash then restarts into the live state')
})
