import { LRUCache } from 'lru-cache'
import type { Observation, Source } from '../model.js'

// "Nothing counted twice": one observation per auditID, per watch
// uid+resourceVersion, per Event uid+count. A write seen by two sources
// (audit's responseObject and the watch's object carry the same uid and
// resourceVersion) is one write: the second sighting only contributes what
// the first lacked, the actor.

export interface WriteRecord {
  /** Bit set of the sources that saw the write (a Set per record cost ~100 bytes × 200k). */
  sources: number
  /** Window key of the change the write went to, set by the correlator. */
  changeKey?: string
  /** The user an admission review claimed for this write (audit overrides it). */
  claimedBy?: string
}

const SOURCE_BIT: Record<Source, number> = { audit: 1, admission: 2, watch: 4, event: 8 }

export type DedupVerdict =
  | { kind: 'new', record?: WriteRecord }
  | { kind: 'duplicate' }
  | { kind: 'merge', record: WriteRecord }

export class Dedup {
  readonly #auditIDs: LRUCache<string, true>
  readonly #writes: LRUCache<string, WriteRecord>

  constructor (max = 200_000) {
    this.#auditIDs = new LRUCache({ max })
    this.#writes = new LRUCache({ max })
  }

  check (obs: Observation): DedupVerdict {
    if (obs.auditID !== undefined && !this.noteAuditID(obs.auditID)) return { kind: 'duplicate' }
    const key = writeKey(obs)
    if (key === undefined) return { kind: 'new' }
    const rec = this.#writes.get(key)
    const bit = SOURCE_BIT[obs.source]
    if (rec === undefined) {
      const fresh: WriteRecord = { sources: bit }
      this.#writes.set(key, fresh)
      return { kind: 'new', record: fresh }
    }
    if ((rec.sources & bit) !== 0 && obs.source !== 'audit') return { kind: 'duplicate' }
    rec.sources |= bit
    return { kind: 'merge', record: rec }
  }

  /** Remember an auditID; false when it was seen before (a duplicate). */
  noteAuditID (auditID: string): boolean {
    if (this.#auditIDs.has(auditID)) return false
    this.#auditIDs.set(auditID, true)
    return true
  }

  /** Peek (recency untouched): this auditID was seen, so its observation is a duplicate. */
  seenAudit (auditID: string): boolean { return this.#auditIDs.has(auditID) }

  /** Contents, least recently used first. */
  dump (): { auditIDs: string[], writes: Array<[string, WriteRecord]> } {
    return {
      // rentries, not dump(): dump() unshifts, quadratic at 200k entries.
      auditIDs: [...this.#auditIDs.rkeys()],
      writes: [...this.#writes.rentries()] as Array<[string, WriteRecord]>
    }
  }

  load (s: { auditIDs: string[], writes: Array<[string, WriteRecord]> }): void {
    for (const k of s.auditIDs) this.#auditIDs.set(k, true)
    for (const [k, v] of s.writes) this.#writes.set(k, v)
  }

  get size (): { auditIDs: number, writes: number } {
    return { auditIDs: this.#auditIDs.size, writes: this.#writes.size }
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
