import Database from 'better-sqlite3'
import type { Change, ChangeType, Outcome } from '../model.js'
import { errors } from '../errors.js'
import { migrate } from './schema.js'

// Changes survive restarts in one SQLite file. A change id is deterministic,
// so recording the same change twice (a replay after restart, a re-sent
// batch) is a no-op, and `record` says whether the change was new: only new
// changes go on to be delivered.

export interface ChangeQuery {
  namespace?: string
  kind?: string
  name?: string
  uid?: string
  type?: ChangeType
  outcome?: Outcome
  user?: string
  cluster?: string
  since?: number
  until?: number
  limit: number
  cursor?: string
}

export interface StoreOptions { path: string, maxAgeDays?: number, maxCount?: number }

interface Cursor { e: number, s: number }

function encodeCursor (c: Cursor): string { return Buffer.from(JSON.stringify(c)).toString('base64url') }

export function decodeCursor (s: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'))
    if (typeof c?.e === 'number' && typeof c?.s === 'number') return { e: c.e, s: c.s }
  } catch {}
  throw errors.BAD_PARAMETER('cursor: not a cursor returned by this server')
}

export class ChangeStore {
  readonly db: Database.Database
  readonly #insert: Database.Statement
  readonly #byId: Database.Statement
  readonly #maxAgeMs: number
  readonly #maxCount: number

  constructor (opts: StoreOptions) {
    this.db = new Database(opts.path)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = NORMAL')
    // Before anything else touches the file: a newer release's store is refused, an older one migrated.
    migrate(this.db)
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        outcome TEXT NOT NULL,
        kind TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        uid TEXT NOT NULL,
        user TEXT,
        started_at INTEGER NOT NULL,
        ended_at INTEGER NOT NULL,
        recorded_at INTEGER NOT NULL,
        body TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS changes_ended ON changes (ended_at, seq);
      CREATE INDEX IF NOT EXISTS changes_ns ON changes (namespace, ended_at);
      CREATE INDEX IF NOT EXISTS changes_kind ON changes (kind, ended_at);
      CREATE INDEX IF NOT EXISTS changes_name ON changes (name, ended_at);
      CREATE INDEX IF NOT EXISTS changes_uid ON changes (uid);
      CREATE INDEX IF NOT EXISTS changes_type ON changes (type, ended_at);
      CREATE INDEX IF NOT EXISTS changes_outcome ON changes (outcome, ended_at);
      CREATE INDEX IF NOT EXISTS changes_user ON changes (user, ended_at);
    `)
    this.#insert = this.db.prepare(`INSERT OR IGNORE INTO changes
      (id, type, outcome, kind, namespace, name, uid, user, started_at, ended_at, recorded_at, body)
      VALUES (@id, @type, @outcome, @kind, @namespace, @name, @uid, @user, @started_at, @ended_at, @recorded_at, @body)`)
    this.#byId = this.db.prepare('SELECT body FROM changes WHERE id = ?')
    this.#maxAgeMs = (opts.maxAgeDays ?? 30) * 86_400_000
    this.#maxCount = opts.maxCount ?? 100_000
  }

  /** Returns true when the change was not recorded before. `body`: the change as JSON, when the caller has it. */
  record (change: Change, now: number, body = JSON.stringify(change)): boolean {
    const r = this.#insert.run({
      id: change.id,
      type: change.type,
      outcome: change.outcome,
      kind: change.object.kind,
      namespace: change.object.namespace,
      name: change.object.name,
      uid: change.object.uid,
      user: change.actor?.username ?? null,
      started_at: Date.parse(change.startedAt),
      ended_at: Date.parse(change.endedAt),
      recorded_at: now,
      body
    })
    return r.changes === 1
  }

  get (id: string): Change | undefined {
    const row = this.#byId.get(id) as { body: string } | undefined
    return row === undefined ? undefined : JSON.parse(row.body)
  }

  query (q: ChangeQuery): { items: Change[], nextCursor: string | null } {
    const where: string[] = []
    const params: Record<string, unknown> = {}
    const eq: Array<[keyof ChangeQuery, string]> = [['namespace', 'namespace'], ['kind', 'kind'], ['name', 'name'], ['uid', 'uid'], ['type', 'type'], ['outcome', 'outcome'], ['user', 'user']]
    for (const [k, col] of eq) {
      if (q[k] !== undefined) { where.push(`${col} = @${k}`); params[k] = q[k] }
    }
    // On the JSON body, not a column: files written before `cluster` existed open unchanged.
    if (q.cluster !== undefined) { where.push("json_extract(body, '$.cluster') = @cluster"); params.cluster = q.cluster }
    if (q.since !== undefined) { where.push('ended_at >= @since'); params.since = q.since }
    if (q.until !== undefined) { where.push('ended_at < @until'); params.until = q.until }
    if (q.cursor !== undefined) {
      const c = decodeCursor(q.cursor)
      where.push('(ended_at < @ce OR (ended_at = @ce AND seq < @cs))')
      params.ce = c.e
      params.cs = c.s
    }
    params.limit = q.limit + 1
    const sql = `SELECT seq, ended_at, body FROM changes ${where.length > 0 ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY ended_at DESC, seq DESC LIMIT @limit`
    const rows = this.db.prepare(sql).all(params) as Array<{ seq: number, ended_at: number, body: string }>
    const more = rows.length > q.limit
    const page = more ? rows.slice(0, q.limit) : rows
    const last = page[page.length - 1]
    return {
      items: page.map(r => JSON.parse(r.body) as Change),
      nextCursor: more && last !== undefined ? encodeCursor({ e: last.ended_at, s: last.seq }) : null
    }
  }

  /** Retention by age and by count; returns how many rows went. */
  prune (now: number): number {
    const byAge = this.db.prepare('DELETE FROM changes WHERE ended_at < ?').run(now - this.#maxAgeMs).changes
    const byCount = this.db.prepare('DELETE FROM changes WHERE seq <= (SELECT seq FROM changes ORDER BY seq DESC LIMIT 1 OFFSET ?)').run(this.#maxCount).changes
    return byAge + byCount
  }

  /** Where a change sits in recording order; undefined when never recorded or pruned. */
  seqOf (id: string): number | undefined {
    const row = this.db.prepare('SELECT seq FROM changes WHERE id = ?').get(id) as { seq: number } | undefined
    return row?.seq
  }

  /** Changes recorded after seq, in recording order: what a stream client missed. */
  recordedAfter (seq: number, limit: number): Array<{ seq: number, change: Change }> {
    const rows = this.db.prepare('SELECT seq, body FROM changes WHERE seq > ? ORDER BY seq LIMIT ?').all(seq, limit) as Array<{ seq: number, body: string }>
    return rows.map(r => ({ seq: r.seq, change: JSON.parse(r.body) as Change }))
  }

  count (): number {
    return (this.db.prepare('SELECT count(*) AS n FROM changes').get() as { n: number }).n
  }

  close (): void { this.db.close() }
}
