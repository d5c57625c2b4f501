import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ChangeStore } from '../../src/store/changes.js'
import type { Change } from '../../src/model.js'

const DAY = 86_400_000

function change (i: number, endedAt: number): Change {
  return {
    id: `c${i}`, type: 'update', outcome: 'applied', object: { kind: 'ConfigMap', namespace: 'ns', name: `n${i}`, uid: `u${i}` },
    actor: null, summary: `s${i}`, startedAt: new Date(endedAt).toISOString(), endedAt: new Date(endedAt).toISOString(), durationMs: 0,
    details: {}, counts: { audit: 1 }, auditIDs: [], timeline: []
  }
}

t.test('record is idempotent; retention by age and by count', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-store-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const now = Date.parse('2026-11-20T00:00:00Z')
  const s = new ChangeStore({ path: join(dir, 'c.db'), maxAgeDays: 10, maxCount: 3 })
  t.teardown(() => s.close())
  t.equal(s.record(change(1, now - 20 * DAY), now), true)
  t.equal(s.record(change(1, now - 20 * DAY), now), false, 'the same id twice is recorded once')
  for (let i = 2; i <= 6; i++) s.record(change(i, now - (6 - i) * DAY), now)
  t.equal(s.count(), 6)
  t.equal(s.prune(now), 3, 'one too old, two over the count')
  t.same(s.query({ limit: 10 }).items.map(c => c.id), ['c6', 'c5', 'c4'])
  t.same(s.get('c6')?.summary, 's6')
  t.equal(s.get('c1'), undefined)
})
