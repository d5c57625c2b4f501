import type { Observation, Source } from '../model.js'
import { FingerprintSet, fingerprint } from './fingerprints.js'
import type { Sliceable } from './sliceable.js'

// "Nothing counted twice": one observation per auditID, per watch
// uid+resourceVersion, per Event uid+count. A write seen by two sources
// (audit's responseObject and the watch's object carry the same uid and
// resourceVersion) is one write: the second sighting only contributes what
// the first lacked, the actor.
//
// Both memories are bounded fingerprint sets (fingerprints.ts): the last
// `max` auditIDs and the last `max` writes, whatever the traffic.

export interface WriteRecord {
  /** Bit set of the sources that saw the write. */
  readonly sources: number
  /** Window key of the change the write went to, set by the correlator. */
  changeKey?: string
  /** The user an admission review claimed for this write (audit overrides it). */
  claimedBy?: string
}

/** What a snapshot keeps of a write: its fingerprint, sources, and the change it went to, if any. */
export type WriteRow = [hi: number, lo: number, sources: number, changeKey?: string | null, claimedBy?: string | null]
export type Fingerprint = [hi: number, lo: number]

export interface DedupDump {
  auditIDs: Fingerprint[]
  writes: WriteRow[]
}

/** Before fingerprints (schema 2 snapshots): the keys themselves. */
export interface LegacyDedupDump {
  auditIDs: Array<string | Fingerprint>
  writes: Array<[string, { sources: number, changeKey?: string, claimedBy?: string }] | WriteRow>
}

const SOURCE_BIT: Record<Source, number> = { audit: 1, admission: 2, watch: 4, event: 8 }

export type DedupVerdict =
  | { kind: 'new', record?: WriteRecord }
  | { kind: 'duplicate' }
  | { kind: 'merge', record: WriteRecord }

interface Link { changeKey?: string, claimedBy?: string }
const fp = (hi: number, lo: number): string => `${hi}:${lo}`

export class Dedup {
  readonly #auditIDs: FingerprintSet
  readonly #writes: FingerprintSet
  /** Only for writes that went to a change still open (a few per open change), by fingerprint. */
  readonly #links = new Map<string, Link>()
  /**
   * The fingerprints linked to each open change. A link is read only while its change is open, and
   * a change's key is its object's uid, which the object's next change opens under again: a link
   * kept past its change would be memory that grows with the writes remembered (about 40 % of the
   * last 200,000 under audit traffic) and would hand a late second sighting of an old write to the
   * next change. Entries may name links already gone (evicted with their write): forget() checks.
   */
  readonly #byChange = new Map<string, string[]>()
  readonly #unlink = (hi: number, lo: number): void => { if (this.#links.size > 0) this.#links.delete(fp(hi, lo)) }

  constructor (max = 200_000) {
    this.#auditIDs = new FingerprintSet(max)
    this.#writes = new FingerprintSet(max)
  }

  check (obs: Observation): DedupVerdict {
    if (obs.auditID !== undefined && !this.noteAuditID(obs.auditID)) return { kind: 'duplicate' }
    const key = writeKey(obs)
    if (key === undefined) return { kind: 'new' }
    const [hi, lo] = fingerprint(key)
    const bit = SOURCE_BIT[obs.source]
    let e = this.#writes.find(hi, lo)
    if (e < 0) {
      e = this.#writes.add(hi, lo, this.#unlink)
      this.#writes.setTag(e, bit)
      return { kind: 'new', record: this.#record(hi, lo, bit) }
    }
    const seen = this.#writes.tag(e)
    if ((seen & bit) !== 0 && obs.source !== 'audit') return { kind: 'duplicate' }
    this.#writes.setTag(e, seen | bit)
    return { kind: 'merge', record: this.#record(hi, lo, seen | bit) }
  }

  /** Remember an auditID; false when it was seen before (a duplicate). */
  noteAuditID (auditID: string): boolean {
    const [hi, lo] = fingerprint(auditID)
    if (this.#auditIDs.find(hi, lo) >= 0) return false
    this.#auditIDs.add(hi, lo)
    return true
  }

  /** This auditID was seen, so its observation is a duplicate. */
  seenAudit (auditID: string): boolean {
    const [hi, lo] = fingerprint(auditID)
    return this.#auditIDs.find(hi, lo) >= 0
  }

  /** Contents, oldest first. */
  dump (): DedupDump {
    const auditIDs: Fingerprint[] = []
    for (const [hi, lo] of this.#auditIDs.entries()) auditIDs.push([hi, lo])
    const writes: WriteRow[] = []
    for (const [hi, lo, tag] of this.#writes.entries()) {
      const row: WriteRow = [hi, lo, tag]
      const link = this.#links.size > 0 ? this.#links.get(fp(hi, lo)) : undefined
      if (link !== undefined) row.push(link.changeKey ?? null, link.claimedBy ?? null)
      writes.push(row)
    }
    return { auditIDs, writes }
  }

  /**
   * What dump() gives, for a snapshot cut now and encoded a slice at a time later: copies of the
   * rings (9 bytes an entry, where dump()'s rows are about 70-180), rows made when sliced.
   */
  cut (): { auditIDs: Sliceable<Fingerprint>, writes: Sliceable<WriteRow> } {
    const a = this.#auditIDs.copy()
    const w = this.#writes.copy()
    const links = new Map<string, [string | null, string | null]>()
    for (const [k, l] of this.#links) links.set(k, [l.changeKey ?? null, l.claimedBy ?? null])
    return {
      auditIDs: {
        length: a.hi.length,
        slice: (from, to) => {
          const out: Fingerprint[] = []
          for (let i = from; i < Math.min(to, a.hi.length); i++) out.push([a.hi[i]!, a.lo[i]!])
          return out
        }
      },
      writes: {
        length: w.hi.length,
        slice: (from, to) => {
          const out: WriteRow[] = []
          for (let i = from; i < Math.min(to, w.hi.length); i++) {
            const row: WriteRow = [w.hi[i]!, w.lo[i]!, w.tag[i]!]
            const link = links.size > 0 ? links.get(fp(w.hi[i]!, w.lo[i]!)) : undefined
            if (link !== undefined) row.push(link[0], link[1])
            out.push(row)
          }
          return out
        }
      }
    }
  }

  /** Into an empty Dedup: a dump of this one, or of the release that kept the keys themselves. */
  load (s: LegacyDedupDump): void {
    for (const a of s.auditIDs) {
      const [hi, lo] = typeof a === 'string' ? fingerprint(a) : a
      if (this.#auditIDs.find(hi, lo) < 0) this.#auditIDs.add(hi, lo)
    }
    for (const w of s.writes) {
      let hi: number, lo: number, sources: number, link: Link | undefined
      if (typeof w[0] === 'string') {
        const [key, rec] = w as [string, { sources: number, changeKey?: string, claimedBy?: string }]
        ;[hi, lo] = fingerprint(key)
        sources = rec.sources
        if (rec.changeKey !== undefined || rec.claimedBy !== undefined) link = { changeKey: rec.changeKey, claimedBy: rec.claimedBy }
      } else {
        const row = w as WriteRow
        ;[hi, lo, sources] = row
        if (row.length > 3) link = { changeKey: row[3] ?? undefined, claimedBy: row[4] ?? undefined }
      }
      if (this.#writes.find(hi, lo) >= 0) continue
      this.#writes.setTag(this.#writes.add(hi, lo, this.#unlink), sources)
      if (link !== undefined && link.changeKey !== undefined) {
        this.#links.set(fp(hi, lo), link)
        this.#index(link.changeKey, fp(hi, lo))
      }
    }
  }

  /** The change under `changeKey` left the window: the writes that went to it are links no more. */
  forget (changeKey: string): void {
    const keys = this.#byChange.get(changeKey)
    if (keys === undefined) return
    this.#byChange.delete(changeKey)
    for (const k of keys) {
      if (this.#links.get(k)?.changeKey === changeKey) this.#links.delete(k)
    }
  }

  /** After a load: only the links of changes still open (a state saved before forget() existed kept all). */
  retainLinks (open: (changeKey: string) => boolean): void {
    for (const [k, l] of this.#links) {
      if (l.changeKey === undefined || !open(l.changeKey)) this.#links.delete(k)
    }
    for (const key of [...this.#byChange.keys()]) if (!open(key)) this.#byChange.delete(key)
  }

  /** Writes linked to a change (tests, metrics). */
  get links (): number { return this.#links.size }

  #index (changeKey: string, key: string): void {
    const keys = this.#byChange.get(changeKey)
    if (keys === undefined) this.#byChange.set(changeKey, [key])
    else keys.push(key)
  }

  get size (): { auditIDs: number, writes: number } {
    return { auditIDs: this.#auditIDs.size, writes: this.#writes.size }
  }

  #record (hi: number, lo: number, sources: number): WriteRecord {
    const writes = this.#writes
    const links = this.#links
    const key = fp(hi, lo)
    const index = (changeKey: string): void => { this.#index(changeKey, key) }
    return {
      sources,
      get changeKey () { return links.get(key)?.changeKey },
      set changeKey (v) {
        const l = links.get(key)
        if (v === undefined) { links.delete(key); return }
        if (l?.changeKey === v) return
        // Written only while the write is still remembered: a record kept past
        // its eviction (capacity writes later) leaves nothing behind.
        if (l === undefined && writes.find(hi, lo) < 0) return
        if (l === undefined) links.set(key, { changeKey: v })
        else l.changeKey = v
        index(v)
      },
      get claimedBy () { return links.get(key)?.claimedBy },
      // Read only beside changeKey, so kept only with one.
      set claimedBy (v) { const l = links.get(key); if (l !== undefined) l.claimedBy = v }
    }
  }
}

function writeKey (obs: Observation): string | undefined {
  if (obs.source === 'event') {
    const count = obs.object?.count ?? obs.object?.series?.count ?? 1
    return obs.ref.uid !== undefined ? `event/${obs.ref.uid}/${String(count)}` : undefined
  }
  const uid = obs.ref.uid
  const rv = obs.resourceVersion
  if (uid === undefined || rv === undefined) return undefined
  // A delete's response is the last state of the object, whose resourceVersion
  // is the one the watch's DELETED event carries too.
  return `${obs.action === 'delete' ? 'd' : 'w'}/${uid}/${rv}`
}
