import type Database from 'better-sqlite3'
import type { CorrelatorState } from '../correlate/correlator.js'
import type { Observation } from '../model.js'

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

/** Items per snapshot row: no single row (or string) holds 100,000 objects. */
const PART_ITEMS = 2000

type Sections = { [K in keyof CorrelatorState as CorrelatorState[K] extends unknown[] ? K : never]: CorrelatorState[K] }
const SECTIONS: Array<keyof Sections> = ['window', 'auditIDs', 'writes', 'objects', 'names', 'slices', 'serviceSlices', 'admissions']

export interface LoadedState {
  state?: CorrelatorState
  /** Journal rows after the snapshot, oldest first (read whole: the connection cannot write while iterating). */
  journal: JournalEntry[][]
  journalRows: number
}

export class StateStore {
  readonly #db: Database.Database
  readonly #append: Database.Statement
  #rows = 0
  #bytes = 0
  #snapshotBytes = 0

  constructor (db: Database.Database) {
    this.#db = db
    this.#append = db.prepare('INSERT INTO state_journal (entries) VALUES (?)')
    const r = db.prepare('SELECT count(*) AS n, coalesce(sum(length(entries)), 0) AS b FROM state_journal').get() as { n: number, b: number }
    this.#rows = r.n
    this.#bytes = r.b
  }

  /** Journal rows and bytes since the last snapshot. */
  get journalSize (): { rows: number, bytes: number } { return { rows: this.#rows, bytes: this.#bytes } }

  /** The size of the snapshot on disk (known after load() or writeSnapshot(); 0 when there is none). */
  get snapshotBytes (): number { return this.#snapshotBytes }

  append (entries: JournalEntry[]): void {
    if (entries.length === 0) return
    const text = JSON.stringify(entries)
    this.#append.run(text)
    this.#rows++
    this.#bytes += text.length
  }

  /** The whole state replaces the previous snapshot, and the journal it covers goes. */
  writeSnapshot (state: CorrelatorState, takenAt: number): { bytes: number } {
    let bytes = 0
    const insert = this.#db.prepare('INSERT INTO state_snapshot (part, body) VALUES (?, ?)')
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM state_snapshot').run()
      const head: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(state)) if (!Array.isArray(v)) head[k] = v
      let part = 0
      const put = (body: string): void => { insert.run(part++, body); bytes += body.length }
      put(JSON.stringify(head))
      for (const s of SECTIONS) {
        const items = state[s] as unknown[]
        for (let i = 0; i < items.length; i += PART_ITEMS) put(JSON.stringify({ s, items: items.slice(i, i + PART_ITEMS) }))
      }
      this.#db.prepare('DELETE FROM state_journal').run()
      this.#db.prepare("INSERT OR REPLACE INTO state_meta (key, value) VALUES ('snapshot_at', ?)").run(String(takenAt))
    })()
    this.#rows = 0
    this.#bytes = 0
    this.#snapshotBytes = bytes
    return { bytes }
  }

  load (): LoadedState {
    const parts = this.#db.prepare('SELECT body FROM state_snapshot ORDER BY part').iterate() as IterableIterator<{ body: string }>
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
    const rows = this.#db.prepare('SELECT entries FROM state_journal ORDER BY seq').all() as Array<{ entries: string }>
    return {
      ...(state !== undefined ? { state } : {}),
      journalRows: rows.length,
      journal: rows.map(r => JSON.parse(r.entries) as JournalEntry[])
    }
  }
}
