import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { testApp } from '../helpers/app.js'
import { makeChange } from '../helpers/changes.js'
import { ChangeStore } from '../../src/store/changes.js'
import { SCHEMA_VERSION } from '../../src/store/schema.js'
import { V0_DDL } from '../fixtures/store-v0.js'

// A store written by the first release (schema 0: changes and outbox, no
// version in the file; the DDL below is exactly that release's) is opened and
// migrated in place: its changes stay queryable, a delivery it still owed is
// made once, a finished one is not made again. A file from a newer release is
// refused, never half-read.

t.test('a store of the first release is migrated and keeps its changes and deliveries', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-migrate-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'changes.db')
  const now = Date.parse('2026-11-20T10:00:00Z')
  const old = makeChange({ id: 'update-old0000000000000001', endedAt: '2026-11-20T09:00:00.000Z', startedAt: '2026-11-20T08:59:00.000Z' })
  const owed = makeChange({ id: 'update-old0000000000000002', endedAt: '2026-11-20T09:30:00.000Z', startedAt: '2026-11-20T09:29:00.000Z' })
  const v0 = new Database(file)
  v0.pragma('journal_mode = WAL')
  v0.exec(V0_DDL)
  const ins = v0.prepare(`INSERT INTO changes (id, type, outcome, kind, namespace, name, uid, user, started_at, ended_at, recorded_at, body)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  for (const c of [old, owed]) ins.run(c.id, c.type, c.outcome, c.object.kind, c.object.namespace, c.object.name, c.object.uid, c.actor?.username ?? null, Date.parse(c.startedAt), Date.parse(c.endedAt), now - 1000, JSON.stringify(c))
  v0.prepare(`INSERT INTO outbox (change_id, sink, change_json, state, attempts, created_at, next_attempt_at, delivered_at) VALUES (?, 'log', ?, 'delivered', 1, ?, NULL, ?)`).run(old.id, JSON.stringify(old), now - 1000, now - 900)
  v0.prepare(`INSERT INTO outbox (change_id, sink, change_json, state, attempts, created_at, next_attempt_at) VALUES (?, 'log', ?, 'pending', 0, ?, ?)`).run(owed.id, JSON.stringify(owed), now - 1000, now - 1000)
  t.equal(v0.pragma('user_version', { simple: true }), 0, 'the first release wrote no version')
  v0.close()

  const a = await testApp({ dir, start: now })
  t.teardown(a.close)
  t.equal(a.app.store.db.pragma('user_version', { simple: true }), SCHEMA_VERSION)
  const res = await a.app.server.inject('/changes')
  t.same(res.json().items.map((c: { id: string }) => c.id), [owed.id, old.id], 'both changes kept')
  await a.advance(0)
  t.same(a.printed.map(c => c.id), [owed.id], 'the owed delivery made once, the finished one not again')
  t.same(a.app.outbox.counts().pending, 0)
})

t.test('a store from a newer release is refused with a clear error, and left as it was', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-migrate-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'changes.db')
  const db = new Database(file)
  db.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
  db.close()
  t.throws(() => new ChangeStore({ path: file }), { code: 'KC_STORE_TOO_NEW', message: new RegExp(`written by a newer kubechanges \\(schema ${SCHEMA_VERSION + 1}; this one knows up to ${SCHEMA_VERSION}\\)`) })
  const again = new Database(file)
  t.equal(again.pragma('user_version', { simple: true }), SCHEMA_VERSION + 1)
  again.close()
})
