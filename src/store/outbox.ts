// The durable outbox: one row per (change, sink) delivery, in the same SQLite
// database as the changes. The UNIQUE (change_id, sink) key makes enqueueing
// idempotent: a re-sent audit batch or a replay after a restart never adds a
// second delivery, and a delivered row is never picked again.

import type { Database, Statement } from 'better-sqlite3'
import type { Change } from '../model.js'

export type DeliveryState = 'pending' | 'delivered' | 'dead'

export interface OutboxTarget {
  sink: string
  to?: string[]
}

/** A row to deliver. */
export interface OutboxRow {
  id: number
  changeId: string
  sink: string
  to?: string[]
  change: Change
  attempts: number
  createdAt: number
  nextAttemptAt: number
}

/** The state of one delivery, as GET /changes/:id shows it. */
export interface DeliveryStatus {
  sink: string
  state: DeliveryState
  attempts: number
  lastError: string | null
  /** Epoch ms. */
  deliveredAt: number | null
  /** Epoch ms; null once delivered or dead. */
  nextAttemptAt: number | null
  to?: string[]
}

export type OutboxCounts = Record<DeliveryState, number>

const LAST_ERROR_MAX = 1000

interface DbRow {
  id: number
  change_id: string
  sink: string
  recipients: string | null
  change_json: string | null
  state: DeliveryState
  attempts: number
  created_at: number
  next_attempt_at: number | null
  delivered_at: number | null
  last_error: string | null
}

export class Outbox {
  private readonly db: Database
  private readonly st: {
    insert: Statement
    due: Statement
    lease: Statement
    delivered: Statement
    failed: Statement
    dead: Statement
    forChange: Statement
    counts: Statement
    pendingBySink: Statement
    nextDue: Statement
    retryDead: Statement
    prune: Statement
  }

  constructor (db: Database) {
    this.db = db
    db.exec(`
      CREATE TABLE IF NOT EXISTS outbox (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        change_id       TEXT    NOT NULL,
        sink            TEXT    NOT NULL,
        recipients      TEXT,
        change_json     TEXT,
        state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        created_at      INTEGER NOT NULL,
        next_attempt_at INTEGER,
        last_attempt_at INTEGER,
        delivered_at    INTEGER,
        last_error      TEXT,
        UNIQUE (change_id, sink)
      );
      CREATE INDEX IF NOT EXISTS outbox_pending_due ON outbox (next_attempt_at) WHERE state = 'pending';
    `)
    this.st = {
      insert: db.prepare(`INSERT OR IGNORE INTO outbox (change_id, sink, recipients, change_json, state, attempts, created_at, next_attempt_at)
                          VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)`),
      due: db.prepare(`SELECT id, change_id, sink, recipients, change_json, state, attempts, created_at, next_attempt_at, delivered_at, last_error
                       FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`),
      lease: db.prepare("UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND state = 'pending'"),
      delivered: db.prepare(`UPDATE outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = ?, last_attempt_at = ?,
                             next_attempt_at = NULL, change_json = NULL WHERE id = ? AND state = 'pending'`),
      failed: db.prepare(`UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ?, last_error = ?, next_attempt_at = ?
                          WHERE id = ? AND state = 'pending'`),
      dead: db.prepare(`UPDATE outbox SET state = 'dead', attempts = attempts + ?, last_attempt_at = ?, last_error = COALESCE(?, last_error),
                        next_attempt_at = NULL WHERE id = ? AND state = 'pending'`),
      forChange: db.prepare(`SELECT id, change_id, sink, recipients, change_json, state, attempts, created_at, next_attempt_at, delivered_at, last_error
                             FROM outbox WHERE change_id = ? ORDER BY sink`),
      counts: db.prepare('SELECT state, COUNT(*) AS n FROM outbox GROUP BY state'),
      pendingBySink: db.prepare("SELECT sink, COUNT(*) AS n FROM outbox WHERE state = 'pending' GROUP BY sink"),
      nextDue: db.prepare("SELECT MIN(next_attempt_at) AS t FROM outbox WHERE state = 'pending'"),
      retryDead: db.prepare(`UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ? WHERE change_id = ? AND state = 'dead'
                             AND change_json IS NOT NULL AND (? IS NULL OR sink = ?)`),
      prune: db.prepare("DELETE FROM outbox WHERE state IN ('delivered', 'dead') AND created_at < ?")
    }
  }

  /**
   * Adds one pending delivery per target, unless (change.id, sink) is already there in any state.
   * Returns the number of deliveries added.
   */
  enqueue (change: Change, targets: readonly OutboxTarget[], now: number): number {
    if (targets.length === 0) return 0
    const json = JSON.stringify(change)
    let added = 0
    this.db.transaction(() => {
      for (const t of targets) {
        const r = this.st.insert.run(change.id, t.sink, t.to && t.to.length ? JSON.stringify(t.to) : null, json, now, now)
        added += r.changes
      }
    })()
    return added
  }

  /** Pending deliveries whose next attempt is due at `now`, oldest first. */
  due (now: number, limit: number): OutboxRow[] {
    return (this.st.due.all(now, limit) as DbRow[]).map(toRow)
  }

  /**
   * Takes due rows and pushes their next attempt to `leaseUntil`, in one transaction, so that a
   * crash mid-send leaves them pending (retried after the lease) and no second taker picks them.
   */
  claim (now: number, limit: number, leaseUntil: number, exclude?: ReadonlySet<number>): OutboxRow[] {
    return this.db.transaction(() => {
      const extra = exclude ? exclude.size : 0
      const rows = (this.st.due.all(now, limit + extra) as DbRow[]).filter(r => !exclude?.has(r.id)).slice(0, limit)
      for (const r of rows) this.st.lease.run(leaseUntil, r.id)
      return rows.map(toRow)
    })()
  }

  /** A successful attempt. Only a pending row changes; returns false otherwise. */
  markDelivered (id: number, now: number): boolean {
    return this.st.delivered.run(now, now, id).changes > 0
  }

  /** A failed attempt, retried at `nextAt`. */
  markFailed (id: number, now: number, error: string, nextAt: number): boolean {
    return this.st.failed.run(now, clip(error), nextAt, id).changes > 0
  }

  /**
   * Gives up on a delivery. With an `error`, this records a final failed attempt (attempts + 1);
   * without one, it only changes the state (e.g. the sink no longer exists).
   */
  markDead (id: number, now: number, error?: string): boolean {
    return this.st.dead.run(error === undefined ? 0 : 1, now, error === undefined ? null : clip(error), id).changes > 0
  }

  /** Puts dead deliveries of a change back in the queue (an operator's retry). Returns how many. */
  retryDead (changeId: string, now: number, sink?: string): number {
    return this.st.retryDead.run(now, changeId, sink ?? null, sink ?? null).changes
  }

  /**
   * Forgets finished (delivered or dead) deliveries enqueued before `before`; pending ones stay.
   * A change older than that, enqueued again (a replay of an old audit log), would be delivered
   * again: prune with the same horizon as the changes store, which decides what is new.
   */
  prune (before: number): number {
    return this.st.prune.run(before).changes
  }

  deliveriesFor (changeId: string): DeliveryStatus[] {
    return (this.st.forChange.all(changeId) as DbRow[]).map(r => {
      const s: DeliveryStatus = {
        sink: r.sink,
        state: r.state,
        attempts: r.attempts,
        lastError: r.last_error,
        deliveredAt: r.delivered_at,
        nextAttemptAt: r.state === 'pending' ? r.next_attempt_at : null
      }
      if (r.recipients) s.to = JSON.parse(r.recipients) as string[]
      return s
    })
  }

  counts (): OutboxCounts {
    const out: OutboxCounts = { pending: 0, delivered: 0, dead: 0 }
    for (const r of this.st.counts.all() as Array<{ state: DeliveryState; n: number }>) out[r.state] = r.n
    return out
  }

  pendingBySink (): Map<string, number> {
    return new Map((this.st.pendingBySink.all() as Array<{ sink: string; n: number }>).map(r => [r.sink, r.n]))
  }

  /** The earliest next attempt of any pending delivery, or null. */
  nextDueAt (): number | null {
    const r = this.st.nextDue.get() as { t: number | null } | undefined
    return r?.t ?? null
  }
}

function clip (s: string): string {
  return s.length > LAST_ERROR_MAX ? s.slice(0, LAST_ERROR_MAX - 1) + '…' : s
}

function toRow (r: DbRow): OutboxRow {
  const row: OutboxRow = {
    id: r.id,
    changeId: r.change_id,
    sink: r.sink,
    change: JSON.parse(r.change_json ?? 'null') as Change,
    attempts: r.attempts,
    createdAt: r.created_at,
    nextAttemptAt: r.next_attempt_at ?? 0
  }
  if (r.recipients) row.to = JSON.parse(r.recipients) as string[]
  return row
}
