// A set of the most recent `capacity` keys, kept as 64-bit fingerprints in
// typed arrays: its memory is bounded by the capacity, never by the traffic.
// Dedup remembers a few hundred thousand writes and auditIDs; as strings in
// an LRU they cost about 120 bytes each (the key,
// a Map entry, a record object) and grew the process by 25–45 MB over the
// first minutes of watch traffic. Here an entry is 9 bytes plus its slots
// (under 20 bytes: 4 MB for 200,000), allocated as the set fills.
//
// Oldest first out (FIFO), not least recently used: a write is seen by at
// most three sources within seconds, so refreshing it on a hit changes
// nothing that matters, and FIFO makes the order a dump restores exactly
// the order the next evictions take.
//
// Two different keys share a fingerprint with probability 2^-64 per pair:
// with 200,000 keys held, a new key is mistaken for a duplicate about once
// in 10^14 writes.

/** A 64-bit fingerprint of a string as two 32-bit halves (FNV-1a and a murmur-style mix, each finalised). */
export function fingerprint (s: string): [number, number] {
  let a = 0x811c9dc5
  let b = 0x9747b28c
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x5bd1e995)
    b ^= b >>> 15
  }
  return [fmix(a) >>> 0, fmix(b ^ s.length) >>> 0]
}

function fmix (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

export class FingerprintSet {
  readonly capacity: number
  #hi: Uint32Array
  #lo: Uint32Array
  /** Per entry, one byte the owner may use (dedup: which sources saw the write). */
  #tag: Uint8Array
  /** Open addressing, linear probing: entry index + 1, 0 for empty. */
  #slots: Int32Array
  #mask: number
  /** Ring position of the next insert; the `size` entries before it are live. */
  #next = 0
  #size = 0

  /** Arrays start at `initial` entries and double up to `capacity`: a quiet cluster never pays for the bound. */
  constructor (capacity: number, initial = 4096) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`)
    this.capacity = capacity
    const n = Math.min(capacity, Math.max(1, initial))
    this.#hi = new Uint32Array(n)
    this.#lo = new Uint32Array(n)
    this.#tag = new Uint8Array(n)
    this.#slots = new Int32Array(0)
    this.#mask = 0
    this.#rehash()
  }

  get size (): number { return this.#size }

  /** Entry index of this fingerprint, or -1. An index is valid until the next add. */
  find (hi: number, lo: number): number {
    for (let s = hi & this.#mask; ; s = (s + 1) & this.#mask) {
      const e = this.#slots[s]! - 1
      if (e < 0) return -1
      if (this.#hi[e] === hi && this.#lo[e] === lo) return e
    }
  }

  /**
   * Adds a fingerprint not in the set; returns its entry index. When full the
   * oldest entry goes first, and `evicted` is told which.
   */
  add (hi: number, lo: number, evicted?: (hi: number, lo: number) => void): number {
    const room = this.#hi.length
    if (this.#size === room && room < this.capacity) this.#grow(Math.min(this.capacity, room * 2))
    const e = this.#next
    if (this.#size === this.capacity) {
      evicted?.(this.#hi[e]!, this.#lo[e]!)
      this.#unslot(e)
    } else {
      this.#size++
    }
    this.#hi[e] = hi
    this.#lo[e] = lo
    this.#tag[e] = 0
    this.#slot(e)
    this.#next = e + 1 === this.#hi.length ? 0 : e + 1
    return e
  }

  tag (e: number): number { return this.#tag[e]! }
  setTag (e: number, v: number): void { this.#tag[e] = v }

  /** Live fingerprints and tags, oldest first, as copies (a snapshot cut now encodes them later). */
  copy (): { hi: Uint32Array, lo: Uint32Array, tag: Uint8Array } {
    const n = this.#size
    const room = this.#hi.length
    const start = (this.#next - n + room) % room
    const hi = new Uint32Array(n)
    const lo = new Uint32Array(n)
    const tag = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      const e = (start + i) % room
      hi[i] = this.#hi[e]!
      lo[i] = this.#lo[e]!
      tag[i] = this.#tag[e]!
    }
    return { hi, lo, tag }
  }

  /** Live fingerprints with their tags, oldest first. */
  * entries (): Generator<[hi: number, lo: number, tag: number]> {
    const room = this.#hi.length
    const start = (this.#next - this.#size + room) % room
    for (let i = 0; i < this.#size; i++) {
      const e = (start + i) % room
      yield [this.#hi[e]!, this.#lo[e]!, this.#tag[e]!]
    }
  }

  // Growth keeps the age order: the entries move to the front, oldest first.
  #grow (room: number): void {
    const hi = new Uint32Array(room)
    const lo = new Uint32Array(room)
    const tag = new Uint8Array(room)
    let i = 0
    for (const [h, l, t] of this.entries()) { hi[i] = h; lo[i] = l; tag[i] = t; i++ }
    this.#hi = hi
    this.#lo = lo
    this.#tag = tag
    this.#next = i === room ? 0 : i
    this.#rehash()
  }

  #rehash (): void {
    let n = 2
    while (n < this.#hi.length * 2) n *= 2
    this.#slots = new Int32Array(n)
    this.#mask = n - 1
    const room = this.#hi.length
    const start = (this.#next - this.#size + room) % room
    for (let i = 0; i < this.#size; i++) this.#slot((start + i) % room)
  }

  #slot (e: number): void {
    let s = this.#hi[e]! & this.#mask
    while (this.#slots[s] !== 0) s = (s + 1) & this.#mask
    this.#slots[s] = e + 1
  }

  // Deletion with backward shift, so probes never need tombstones.
  #unslot (e: number): void {
    const mask = this.#mask
    let s = this.#hi[e]! & mask
    while (this.#slots[s] !== e + 1) s = (s + 1) & mask
    let hole = s
    for (let j = (hole + 1) & mask; this.#slots[j] !== 0; j = (j + 1) & mask) {
      const home = this.#hi[this.#slots[j]! - 1]! & mask
      // Move j into the hole unless its home lies cyclically in (hole, j].
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        this.#slots[hole] = this.#slots[j]!
        hole = j
      }
    }
    this.#slots[hole] = 0
  }
}
