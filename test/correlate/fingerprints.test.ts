import t from 'tap'
import fc from 'fast-check'
import { FingerprintSet, fingerprint } from '../../src/correlate/fingerprints.js'

// The fixed-size set behind dedup: exactly the last `capacity` keys added are
// members, whatever the order of adds and evictions; collisions in the slot
// table (every key here shares its home slot with others: the table has 2-4
// slots per key) never lose or invent a member.

t.test('holds exactly the last `capacity` distinct keys, oldest out first (against a model)', async t => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.array(fc.integer({ min: 0, max: 120 }), { maxLength: 400 }), (capacity, keys) => {
    // Starting small: growth (doubling, rehash) happens inside the run too.
    const set = new FingerprintSet(capacity, 2)
    const model: number[] = []
    const evicted: number[] = []
    for (const k of keys) {
      // Few distinct hi values: long probe chains and many backward shifts.
      const hi = k % 7
      const lo = k
      if (set.find(hi, lo) >= 0) {
        if (!model.includes(k)) return false
        continue
      }
      if (model.includes(k)) return false
      if (model.length === capacity) evicted.push(model.shift()!)
      model.push(k)
      set.add(hi, lo, (_, l) => { if (l !== evicted[evicted.length - 1]) throw new Error(`evicted ${l}, expected ${String(evicted[evicted.length - 1])}`) })
    }
    const live = [...set.entries()].map(([, l]) => l)
    return set.size === model.length && live.join() === model.join() && model.every(k => set.find(k % 7, k) >= 0) && evicted.every(k => model.includes(k) || set.find(k % 7, k) < 0)
  }), { numRuns: 300 })
})

t.test('the owner byte goes with its entry, through growth, and starts at 0', async t => {
  const set = new FingerprintSet(3, 1)
  set.setTag(set.add(1, 1), 5)
  set.setTag(set.add(2, 2), 6)
  t.same([...set.entries()], [[1, 1, 5], [2, 2, 6]], 'grown from 1 to 2 entries, tags kept')
  const c = set.add(3, 3)
  t.equal(set.tag(c), 0)
  set.add(4, 4)
  t.same([...set.entries()], [[2, 2, 6], [3, 3, 0], [4, 4, 0]], 'the oldest went first')
  t.equal(set.find(1, 1), -1)
})

t.test('fingerprints: stable, and distinct over a million realistic keys', async t => {
  t.same(fingerprint('w/5f0c8f3e-2a4b-4c1d-9e8f-1a2b3c4d5e6f/12345'), fingerprint('w/5f0c8f3e-2a4b-4c1d-9e8f-1a2b3c4d5e6f/12345'))
  const seen = new Set<string>()
  const uid = (i: number): string => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`
  for (let i = 0; i < 1_000_000; i++) {
    const [hi, lo] = fingerprint(`w/${uid(i >> 4)}/${1000 + (i & 15)}`)
    seen.add(`${hi}:${lo}`)
  }
  t.equal(seen.size, 1_000_000)
  t.throws(() => new FingerprintSet(0), RangeError)
})
