// The durable outbox: one row per (change, sink) delivery, in the same SQLite
// database as the changes. The UNIQUE (change_id, sink) key makes enqueueing
// idempotent: a re-sent audit batch or a replay after a restart never adds a
// second delivery, and a delivered row is never picked again.
//
// Digests live here too, so they survive a restart like any delivery: a
// digest-eligible delivery waits as 'held' (next_attempt_at = its window's
// close); when the window closes, one transaction either turns the group into
// ONE digest row (the members become 'digested', pointing at it) or releases
// the members as ordinary 'pending' rows. The digest row's id is derived from
// its members, and UNIQUE (change_id, sink) makes a second settle a no-op.

import type { Database, Statement } from 'better-sqlite3'
import type { Change } from '../model.js'

export type DeliveryState = 'pending' | 'delivered' | 'dead' | 'held' | 'digested'
const STATES: readonly DeliveryState[] = ['pending', 'delivered', 'dead', 'held', 'digested']

export interface OutboxTarget {
  sink: string
  to?: string[]
  /** Hold for a digest: the group key and the window. */
  digest?: { key: string; windowMs: number; minChanges: number }
}

/** Makes the digest document of a closed group (notify/digest.ts). */
export type DigestBuilder = (sink: string, members: Change[], windowStart: number, windowEnd: number) => { id: string }

/** A row to deliver. */
export interface OutboxRow {
  id: number
  changeId: string
  sink: string
  to?: string[]
  change: Change
  /** A digest row: `change` is then a placeholder and `digest` the document. */
  digest?: unknown
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
  /** A member of a digest: that delivery's state. */
  digest?: { id: string; state: DeliveryState; attempts: number; lastError: string | null; deliveredAt: number | null }
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
  is_digest?: number
  digest_id?: string | null
}

const COLUMNS = `id, change_id, sink, recipients, change_json, state, attempts, created_at, next_attempt_at, delivered_at, last_error, is_digest, digest_id`

const TABLE = `
  CREATE TABLE IF NOT EXISTS outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    change_id       TEXT    NOT NULL,
    sink            TEXT    NOT NULL,
    recipients      TEXT,
    change_json     TEXT,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead', 'held', 'digested')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER,
    last_attempt_at INTEGER,
    delivered_at    INTEGER,
    last_error      TEXT,
    digest_key      TEXT,
    digest_min      INTEGER,
    digest_id       TEXT,
    is_digest       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (change_id, sink)
  );
  CREATE INDEX IF NOT EXISTS outbox_pending_due ON outbox (next_attempt_at) WHERE state = 'pending';
  CREATE INDEX IF NOT EXISTS outbox_held ON outbox (digest_key, next_attempt_at) WHERE state = 'held';
`

/**
 * Files written before digests have an outbox whose CHECK allows three states. SQLite cannot
 * change a CHECK in place: the table is rebuilt once, keeping every row (schema migration 2,
 * run inside the migration's transaction; a fresh file has no outbox yet and gets TABLE).
 */
export function rebuildOutboxForDigests (db: Database): void {
  const row = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'outbox'").get() as { sql: string } | undefined
  if (row === undefined || row.sql.includes("'held'")) return
  const old = 'id, change_id, sink, recipients, change_json, state, attempts, created_at, next_attempt_at, last_attempt_at, delivered_at, last_error'
  db.exec(`DROP INDEX IF EXISTS outbox_pending_due;
    ALTER TABLE outbox RENAME TO outbox_before_digests;
    ${TABLE}
    INSERT INTO outbox (${old}) SELECT ${old} FROM outbox_before_digests;
    DROP TABLE outbox_before_digests;`)
}

export class Outbox {
  private readonly db: Database
  private readonly st: {
    insert: Statement
    due: Statement
    windowClose: Statement
    closedGroups: Statement
    members: Statement
    release: Statement
    digested: Statement
    digestRow: Statement
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

  // Made once: better-sqlite3 builds a wrapper per db.transaction() call, and
  // inside an open transaction these run directly (no SAVEPOINT per call).
  readonly #tx: {
    enqueue: (change: Change, targets: readonly OutboxTarget[], now: number, json: string) => number
    settle: (now: number, build: DigestBuilder) => number
    run: (f: () => unknown) => unknown
  }

  /** Whether a held (digest) row may exist; false until one is enqueued or found at start. */
  #mayHold: boolean

  constructor (db: Database) {
    this.db = db
    db.exec(TABLE)
    this.#tx = {
      enqueue: db.transaction((change: Change, targets: readonly OutboxTarget[], now: number, json: string) => this.#insertAll(change, targets, now, json)),
      settle: db.transaction((now: number, build: DigestBuilder) => this.#settleAll(now, build)),
      run: db.transaction((f: () => unknown) => f())
    }
    this.#mayHold = db.prepare("SELECT 1 FROM outbox WHERE state = 'held' LIMIT 1").get() !== undefined
    this.st = {
      insert: db.prepare(`INSERT OR IGNORE INTO outbox (change_id, sink, recipients, change_json, state, attempts, created_at, next_attempt_at,
                          digest_key, digest_min, is_digest) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)`),
      due: db.prepare(`SELECT ${COLUMNS}
                       FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`),
      windowClose: db.prepare("SELECT MIN(next_attempt_at) AS t FROM outbox WHERE state = 'held' AND digest_key = ?"),
      closedGroups: db.prepare(`SELECT digest_key AS k FROM outbox WHERE state = 'held' AND next_attempt_at <= ?
                                GROUP BY digest_key ORDER BY MIN(next_attempt_at)`),
      members: db.prepare(`SELECT ${COLUMNS}, digest_min FROM outbox WHERE state = 'held' AND digest_key = ? AND next_attempt_at <= ? ORDER BY id`),
      release: db.prepare("UPDATE outbox SET state = 'pending', next_attempt_at = ? WHERE id = ? AND state = 'held'"),
      digested: db.prepare("UPDATE outbox SET state = 'digested', digest_id = ?, next_attempt_at = NULL, change_json = NULL WHERE id = ? AND state = 'held'"),
      lease: db.prepare("UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND state = 'pending'"),
      delivered: db.prepare(`UPDATE outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = ?, last_attempt_at = ?,
                             next_attempt_at = NULL, change_json = NULL WHERE id = ? AND state = 'pending'`),
      failed: db.prepare(`UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ?, last_error = ?, next_attempt_at = ?
                          WHERE id = ? AND state = 'pending'`),
      dead: db.prepare(`UPDATE outbox SET state = 'dead', attempts = attempts + ?, last_attempt_at = ?, last_error = COALESCE(?, last_error),
                        next_attempt_at = NULL WHERE id = ? AND state = 'pending'`),
      forChange: db.prepare(`SELECT ${COLUMNS}
                             FROM outbox WHERE change_id = ? ORDER BY sink`),
      digestRow: db.prepare('SELECT state, attempts, last_error, delivered_at FROM outbox WHERE change_id = ? AND sink = ? AND is_digest = 1'),
      counts: db.prepare('SELECT state, COUNT(*) AS n FROM outbox GROUP BY state'),
      pendingBySink: db.prepare("SELECT sink, COUNT(*) AS n FROM outbox WHERE state = 'pending' GROUP BY sink"),
      nextDue: db.prepare("SELECT MIN(next_attempt_at) AS t FROM outbox WHERE state IN ('pending', 'held')"),
      // A change's own dead deliveries, and the dead digests it is a member of.
      retryDead: db.prepare(`UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = @now WHERE state = 'dead'
                             AND change_json IS NOT NULL AND (@sink IS NULL OR sink = @sink)
                             AND (change_id = @id OR (is_digest = 1 AND change_id IN
                               (SELECT digest_id FROM outbox WHERE change_id = @id AND digest_id IS NOT NULL)))`),
      prune: db.prepare("DELETE FROM outbox WHERE state IN ('delivered', 'dead', 'digested') AND created_at < ?")
    }
  }

  /**
   * Adds one pending delivery per target, unless (change.id, sink) is already there in any state.
   * Returns the number of deliveries added.
   */
  enqueue (change: Change, targets: readonly OutboxTarget[], now: number, json = JSON.stringify(change)): number {
    if (targets.length === 0) return 0
    return this.db.inTransaction ? this.#insertAll(change, targets, now, json) : this.#tx.enqueue(change, targets, now, json)
  }

  #insertAll (change: Change, targets: readonly OutboxTarget[], now: number, json: string): number {
    let added = 0
    for (const t of targets) {
      const to = t.to && t.to.length ? JSON.stringify(t.to) : null
      let r
      if (t.digest === undefined) {
        r = this.st.insert.run(change.id, t.sink, to, json, 'pending', now, now, null, null, 0)
      } else {
        // Join the group's open window, or open one closing windowMs from now.
        const open = (this.st.windowClose.get(t.digest.key) as { t: number | null }).t
        r = this.st.insert.run(change.id, t.sink, to, json, 'held', now, open ?? now + t.digest.windowMs, t.digest.key, t.digest.minChanges, 0)
        if (r.changes > 0) this.#mayHold = true
      }
      added += r.changes
    }
    return added
  }

  /**
   * Closes the digest windows that ended at `now`: a group of at least its minChanges becomes one
   * pending digest row (made by `build`), a smaller one goes out change by change. Returns the
   * number of digests made.
   */
  settleDigests (now: number, build: DigestBuilder): number {
    // Most installations route no digests: their pumps skip the group query.
    if (!this.#mayHold) return 0
    return this.db.inTransaction ? this.#settleAll(now, build) : this.#tx.settle(now, build)
  }

  #settleAll (now: number, build: DigestBuilder): number {
    let made = 0
    for (const { k } of this.st.closedGroups.all(now) as Array<{ k: string }>) {
      const rows = this.st.members.all(k, now) as Array<DbRow & { digest_min: number }>
      if (rows.length === 0) continue
      const min = Math.min(...rows.map(r => r.digest_min))
      if (rows.length < min) {
        for (const r of rows) this.st.release.run(now, r.id)
        continue
      }
      const sink = rows[0].sink
      const members = rows.map(r => JSON.parse(r.change_json ?? 'null') as Change)
      const start = Math.min(...rows.map(r => r.created_at))
      const end = rows[0].next_attempt_at ?? now
      const digest = build(sink, members, start, end)
      const to = [...new Set(rows.flatMap(r => r.recipients ? JSON.parse(r.recipients) as string[] : []))]
      this.st.insert.run(digest.id, sink, to.length ? JSON.stringify(to) : null, JSON.stringify(digest), 'pending', now, now, k, null, 1)
      for (const r of rows) this.st.digested.run(digest.id, r.id)
      made++
    }
    return made
  }

  /** Pending deliveries whose next attempt is due at `now`, oldest first. */
  due (now: number, limit: number): OutboxRow[] {
    return (this.st.due.all(now, limit) as DbRow[]).map(r => toRow(r))
  }

  /**
   * Takes due rows and pushes their next attempt to `leaseUntil`, in one transaction, so that a
   * crash mid-send leaves them pending (retried after the lease) and no second taker picks them.
   */
  claim (now: number, limit: number, leaseUntil: number, exclude?: ReadonlySet<number>, known?: (changeId: string) => Change | undefined): OutboxRow[] {
    return this.atomically(() => {
      const extra = exclude ? exclude.size : 0
      const rows = (this.st.due.all(now, limit + extra) as DbRow[]).filter(r => !exclude?.has(r.id)).slice(0, limit)
      for (const r of rows) this.st.lease.run(leaseUntil, r.id)
      return rows.map(r => toRow(r, known))
    })
  }

  /** Runs f in one transaction (nested calls join it). */
  atomically<T> (f: () => T): T {
    return this.db.inTransaction ? f() : this.#tx.run(f) as T
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
    return this.st.retryDead.run({ now, id: changeId, sink: sink ?? null }).changes
  }

  /**
   * Forgets finished (delivered, dead or digested) deliveries enqueued before `before`; pending ones stay.
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
        nextAttemptAt: r.state === 'pending' || r.state === 'held' ? r.next_attempt_at : null
      }
      if (r.recipients) s.to = JSON.parse(r.recipients) as string[]
      if (r.digest_id) {
        const d = this.st.digestRow.get(r.digest_id, r.sink) as { state: DeliveryState; attempts: number; last_error: string | null; delivered_at: number | null } | undefined
        if (d) s.digest = { id: r.digest_id, state: d.state, attempts: d.attempts, lastError: d.last_error, deliveredAt: d.delivered_at }
      }
      return s
    })
  }

  counts (): OutboxCounts {
    const out = Object.fromEntries(STATES.map(s => [s, 0])) as OutboxCounts
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

/** `known`: the change as it was enqueued, when still at hand (it is what change_json holds). */
function toRow (r: DbRow, known?: (changeId: string) => Change | undefined): OutboxRow {
  const row: OutboxRow = {
    id: r.id,
    changeId: r.change_id,
    sink: r.sink,
    change: (r.is_digest !== 1 && r.change_json !== null ? known?.(r.change_id) : undefined) ?? JSON.parse(r.change_json ?? 'null') as Change,
    attempts: r.attempts,
    createdAt: r.created_at,
    nextAttemptAt: r.next_attempt_at ?? 0
  }
  if (r.is_digest === 1) row.digest = row.change
  if (r.recipients) row.to = JSON.parse(r.recipients) as string[]
  return row
}
