import type Database from 'better-sqlite3'
import { errors } from '../errors.js'
import { rebuildOutboxForDigests } from './outbox.js'

// The store file says which schema wrote it (PRAGMA user_version) and is
// migrated forward in place, one step at a time, inside one transaction: a
// store written by an earlier release is opened and kept, never discarded.
// Version 0 is the first release's file (changes and outbox only); a file
// from a newer release is refused rather than half-understood.

interface Migration { to: number, why: string, up: (db: Database.Database) => void }

const MIGRATIONS: Migration[] = [
  {
    to: 1,
    why: 'durable correlation state: the input journal and the snapshot it continues from',
    up: db => {
      db.exec(`
        CREATE TABLE IF NOT EXISTS state_journal (
          seq     INTEGER PRIMARY KEY AUTOINCREMENT,
          entries TEXT    NOT NULL
        );
        CREATE TABLE IF NOT EXISTS state_snapshot (
          part    INTEGER PRIMARY KEY,
          body    TEXT    NOT NULL
        );
        CREATE TABLE IF NOT EXISTS state_meta (
          key     TEXT PRIMARY KEY,
          value   TEXT NOT NULL
        );
      `)
    }
  },
  {
    to: 2,
    why: 'digests: outbox rows may be held for a digest window, or sent inside one',
    up: rebuildOutboxForDigests
  },
  {
    to: 3,
    // No table changes: state_meta names the generation of state_snapshot's parts to load and the
    // last journal row it covers. A release before this one would read every generation's parts
    // as one snapshot, so the version is raised for it to refuse the file instead.
    why: 'snapshots written a few parts at a time: generations of parts, and the journal row each covers',
    up: () => {}
  }
]

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.to

/** Bring the file to SCHEMA_VERSION; returns the version it had. */
export function migrate (db: Database.Database): number {
  const from = db.pragma('user_version', { simple: true }) as number
  if (from > SCHEMA_VERSION) {
    throw errors.STORE_TOO_NEW(`the store was written by a newer kubechanges (schema ${from}; this one knows up to ${SCHEMA_VERSION}): keep it and run that release, or point --store at another file`)
  }
  if (from === SCHEMA_VERSION) return from
  db.transaction(() => {
    for (const m of MIGRATIONS) if (m.to > from) m.up(db)
    db.pragma(`user_version = ${SCHEMA_VERSION}`)
  })()
  return from
}
