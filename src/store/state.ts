import { performance } from 'node:perf_hooks'
import type Database from 'better-sqlite3'
import type { CorrelatorState, CutState } from '../correlate/correlator.js'
import type { Observation } from '../model.js'
import type { Sliceable } from '../correlate/sliceable.js'

// The correlation state on disk: a snapshot of the whole state plus a journal
// of what the correlator consumed since. Each batch appends one journal row in
// the same SQLite transaction that records the changes it closed, so what a
// 200 acknowledged is on disk before the 200 leaves; replaying the journal
// through a correlator loaded from the snapshot reproduces the state exactly
// (the correlator is deterministic given its inputs and their times). A new
// snapshot replaces the old one and empties the journal in one transaction,
// so neither grows without bound.

export type JournalEntry =
  /** An observation the correlator ingested (compacted: only what the state reads). */
  | { k: 'i', o: Observation }
  /** State from a source's first list. */
  | { k: 'b', o: Observation }
  /** An inert audit observation (Correlator.inert): its auditID and time are all it leaves. */
  | { k: 's', id: string, n: number }
  /** An audit batch arrived. */
  | { k: 'a' }
  /** The clock moved (only ticks that could change state, or before the next entry). */
  | { k: 't', n: number }
  /** A watch informer's first list after a restart named these uids: the rest of the kind is gone. */
  | { k: 'l', ref: ListedKind, namespace?: string, uids: string[], at: number }
  /** Restarted here: from now on a first list is compared with the restored state. */
  | { k: 'r' }

export interface ListedKind { kind: string, apiGroup: string, version: string, resource: string }

/**
 * Items per snapshot row: no single row (or string) holds 100,000 objects, and encoding one row of
 * full Deployments (about 1.5 MB) fits in a step between batches.
 */
const PART_ITEMS = 500

type Sections = { [K in keyof CorrelatorState as CorrelatorState[K] extends unknown[] ? K : never]: CorrelatorState[K] }
const SECTIONS: Array<keyof Sections> = ['window', 'auditIDs', 'writes', 'objects', 'names', 'slices', 'serviceSlices', 'admissions']

export interface LoadedState {
  state?: CorrelatorState
  /** Journal rows after the snapshot, oldest first (read whole: the connection cannot write while iterating). */
  journal: JournalEntry[][]
  journalRows: number
}

/** Parts per snapshot generation: generation g holds parts [g·GEN_PARTS, (g+1)·GEN_PARTS). */
const GEN_PARTS = 1_000_000_000

export interface SnapshotOptions {
  /** Items per snapshot row (tests make it small). */
  partItems?: number
}

/**
 * A snapshot written a few parts at a time between batches. The state is cut when it begins (the
 * journal rows up to then are what it covers); until it completes, start-up still loads the
 * previous snapshot and the journal after that one, so a crash mid-way loses nothing.
 */
export interface SnapshotWriter {
  /** Writes parts for up to `budgetMs` (at least one), then, once all are written, removes what the snapshot replaced. True when done. */
  step (budgetMs: number): boolean
  readonly done: boolean
}

export class StateStore {
  readonly #db: Database.Database
  readonly #append: Database.Statement
  readonly #partItems: number
  #rows = 0
  #bytes = 0
  #ms = 0
  #snapshotBytes = 0
  /** The snapshot generation start-up loads, and the last journal row it covers. */
  #gen: number
  #cutSeq: number
  /** Stops the snapshot being written a few parts at a time (another one replaces it). */
  #abandon: (() => void) | undefined

  constructor (db: Database.Database, opts: SnapshotOptions = {}) {
    this.#db = db
    this.#partItems = opts.partItems ?? PART_ITEMS
    this.#append = db.prepare('INSERT INTO state_journal (entries) VALUES (?)')
    // A file written before generations: its parts are generation 0 and its whole journal follows them.
    this.#gen = Number(this.#meta('snapshot_gen') ?? 0)
    this.#cutSeq = Number(this.#meta('snapshot_seq') ?? 0)
    const r = db.prepare('SELECT count(*) AS n, coalesce(sum(length(entries)), 0) AS b FROM state_journal WHERE seq > ?').get(this.#cutSeq) as { n: number, b: number }
    this.#rows = r.n
    this.#bytes = r.b
  }

  #meta (key: string): string | undefined {
    return (this.#db.prepare('SELECT value FROM state_meta WHERE key = ?').get(key) as { value: string } | undefined)?.value
  }

  #setMeta (key: string, value: number): void {
    this.#db.prepare('INSERT OR REPLACE INTO state_meta (key, value) VALUES (?, ?)').run(key, String(value))
  }

  /**
   * Journal rows and bytes since the last snapshot, and the milliseconds their ingest took: replaying
   * them costs about as long (the same correlator on the same inputs), whatever their count.
   */
  get journalSize (): { rows: number, bytes: number, ms: number } { return { rows: this.#rows, bytes: this.#bytes, ms: this.#ms } }

  /** The journal on disk took `ms` to replay at start-up: what replaying it again would cost. */
  chargeReplay (ms: number): void { this.#ms += ms }

  /** The size of the snapshot on disk (known after load() or writeSnapshot(); 0 when there is none). */
  get snapshotBytes (): number { return this.#snapshotBytes }

  /** `ms`: how long ingesting what the entries record took. */
  append (entries: JournalEntry[], ms = 0): void {
    if (entries.length === 0) return
    const text = JSON.stringify(entries)
    this.#append.run(text)
    this.#rows++
    this.#bytes += text.length
    this.#ms += ms
  }

  /** The snapshot's rows, head first, each encoded when asked for. */
  * #parts (state: CutState): Generator<string> {
    const head: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(state)) if (!(SECTIONS as string[]).includes(k)) head[k] = v
    yield JSON.stringify(head)
    for (const s of SECTIONS) yield * this.#section(state, s)
  }

  * #section (state: CutState, s: keyof Sections): Generator<string> {
    const items = state[s] as Sliceable<unknown>
    for (let i = 0; i < items.length; i += this.#partItems) yield JSON.stringify({ s, items: items.slice(i, i + this.#partItems) })
  }

  /**
   * The whole state replaces the previous snapshot, and the journal it covers goes, in one
   * transaction (shutdown): the stepped writer run to the end in a single step.
   */
  writeSnapshot (state: CorrelatorState, takenAt: number): { bytes: number } {
    this.beginSnapshot(state, takenAt).step(Infinity)
    return { bytes: this.#snapshotBytes }
  }

  #lastSeq (): number {
    // AUTOINCREMENT: sqlite_sequence keeps the highest seq ever used, even once those rows are gone.
    const r = this.#db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'state_journal'").get() as { seq: number } | undefined
    return r?.seq ?? 0
  }

  /**
   * The state as it is now (cut here: everything journaled so far is in it), written by step() a
   * few parts per call. Nothing in `state` may change after this call: Correlator.cutState()
   * guarantees it.
   */
  beginSnapshot (state: CutState, takenAt: number): SnapshotWriter {
    this.#abandon?.()
    const gen = this.#gen + 1
    const base = gen * GEN_PARTS
    const cutSeq = this.#lastSeq()
    const covered = { rows: this.#rows, bytes: this.#bytes, ms: this.#ms }
    const parts = this.#parts(state)
    const insert = this.#db.prepare('INSERT INTO state_snapshot (part, body) VALUES (?, ?)')
    // What the new snapshot replaces (every row below its generation, and the journal up to the
    // cut), removed once the new one is what start-up loads: a few rows per statement between
    // batches (a row of the old snapshot can be a few MB), all at once in an unbounded step.
    const dropParts = this.#db.prepare('DELETE FROM state_snapshot WHERE part < ? AND part < (SELECT min(part) FROM state_snapshot) + ?')
    const dropJournal = this.#db.prepare('DELETE FROM state_journal WHERE seq <= ? AND seq < (SELECT min(seq) FROM state_journal) + ?')
    let part = base
    let bytes = 0
    let phase: 'clear' | 'write' | 'drop' | 'done' = 'clear'
    const self = this
    const abandon = (): void => { phase = 'done'; this.#abandon = undefined }
    this.#abandon = abandon
    const writer: SnapshotWriter = {
      get done () { return phase === 'done' },
      step (budgetMs: number): boolean {
        if (phase === 'done') return true
        const until = performance.now() + budgetMs
        let cut = false
        try {
          self.#db.transaction(() => {
            do {
              if (phase === 'clear') {
                // Rows of this generation left by an attempt a crash cut short.
                self.#db.prepare('DELETE FROM state_snapshot WHERE part >= ? AND part < ?').run(base, base + GEN_PARTS)
                phase = 'write'
              } else if (phase === 'write') {
                const next = parts.next()
                if (next.done === true) {
                  // From here on start-up loads this snapshot and the journal after the cut.
                  self.#setMeta('snapshot_gen', gen)
                  self.#setMeta('snapshot_seq', cutSeq)
                  self.#setMeta('snapshot_at', takenAt)
                  cut = true
                  phase = 'drop'
                } else {
                  insert.run(part++, next.value)
                  bytes += next.value.length
                }
              } else if (dropParts.run(base, budgetMs === Infinity ? GEN_PARTS : 4).changes + dropJournal.run(cutSeq, budgetMs === Infinity ? Number.MAX_SAFE_INTEGER : 64).changes === 0) {
                phase = 'done'
              }
            } while (phase !== 'done' && performance.now() < until)
          })()
        } catch (e) {
          // Rolled back, and the parts already taken are gone with it: this snapshot is given up
          // (the next one starts over; start-up still loads the previous one).
          phase = 'done'
          if (self.#abandon === abandon) self.#abandon = undefined
          throw e
        }
        if (cut) {
          self.#gen = gen
          self.#cutSeq = cutSeq
          self.#rows -= covered.rows
          self.#bytes -= covered.bytes
          self.#ms -= covered.ms
          self.#snapshotBytes = bytes
        }
        if (writer.done && self.#abandon === abandon) self.#abandon = undefined
        return writer.done
      }
    }
    return writer
  }

  load (): LoadedState {
    const base = this.#gen * GEN_PARTS
    const parts = this.#db.prepare('SELECT body FROM state_snapshot WHERE part >= ? AND part < ? ORDER BY part').iterate(base, base + GEN_PARTS) as IterableIterator<{ body: string }>
    let state: CorrelatorState | undefined
    this.#snapshotBytes = 0
    for (const { body } of parts) {
      this.#snapshotBytes += body.length
      const p = JSON.parse(body)
      if (state === undefined) {
        state = p as CorrelatorState
        for (const s of SECTIONS) (state as unknown as Record<string, unknown[]>)[s] = []
        continue
      }
      const into = (state as unknown as Record<string, unknown[]>)[p.s as string]
      if (into !== undefined) for (const it of p.items as unknown[]) into.push(it)
    }
    const rows = this.#db.prepare('SELECT entries FROM state_journal WHERE seq > ? ORDER BY seq').all(this.#cutSeq) as Array<{ entries: string }>
    return {
      ...(state !== undefined ? { state } : {}),
      journalRows: rows.length,
      journal: rows.map(r => JSON.parse(r.entries) as JournalEntry[])
    }
  }
}
