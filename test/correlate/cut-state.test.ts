import t from 'tap'
import { buildDay } from '../restart/day.js'
import { eventList, testApp } from '../helpers/app.js'
import type { Sliceable } from '../../src/correlate/sliceable.js'

// A snapshot cut while ingest goes on reads Correlator.cutState(): compact
// copies that make their rows when sliced. Sliced in any chunks, they must
// give exactly what exportState() gives at the cut, and stay so while more is
// ingested after it.

const materialize = (cut: Record<string, unknown>, chunk: number): unknown => {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(cut)) {
    if (v !== null && typeof v === 'object' && 'slice' in v && 'length' in v) {
      const s = v as Sliceable<unknown>
      const items: unknown[] = []
      for (let i = 0; i < s.length; i += chunk) items.push(...s.slice(i, i + chunk))
      out[k] = items
    } else out[k] = v
  }
  return JSON.parse(JSON.stringify(out))
}

t.test('cutState sliced in any chunks is exportState at the cut, whatever comes after', async t => {
  const day = buildDay()
  const a = await testApp({ start: day.start })
  t.teardown(() => a.close())
  const half = Math.floor(day.batches.length / 2)
  for (const b of day.batches.slice(0, half)) {
    a.clock.now = b.sendAt
    t.equal((await a.post(eventList(b.events))).statusCode, 200)
  }
  const p = a.app.pipeline
  const at = JSON.parse(JSON.stringify(p.exportState())) as Record<string, unknown[]>
  for (const k of ['window', 'auditIDs', 'writes', 'objects', 'names']) t.ok(at[k]!.length > 0, `${k}: ${at[k]!.length}`)
  t.ok((at.writes as unknown[][]).some(r => r.length > 3), 'writes linked to changes among them')
  const cut = p.cutState() as unknown as Record<string, unknown>
  for (const chunk of [1, 3, 1000]) t.same(materialize(cut, chunk), at, `sliced ${chunk} at a time`)
  for (const b of day.batches.slice(half)) {
    a.clock.now = b.sendAt
    t.equal((await a.post(eventList(b.events))).statusCode, 200)
  }
  t.notSame(JSON.parse(JSON.stringify(p.exportState())), at, 'the live state moved on')
  t.same(materialize(cut, 7), at, 'the cut did not')
})
