// A store file written before digests (outbox CHECK with three states) opens
// unchanged: its rows keep their state and pending ones are still delivered.

import t from 'tap'
import path from 'node:path'
import Database from 'better-sqlite3'
import { createRig } from '../helpers/delivery.js'
import { rolloutChange } from '../helpers/changes.js'
import { createLogSink } from '../../src/notify/log.js'
import { V0_OUTBOX_DDL } from '../fixtures/store-v0.js'

t.test('an old outbox is rebuilt once, keeping every row', async t => {
  const file = path.join(t.testdir(), 'old.db')
  const pending = rolloutChange({ id: 'old-pending' })
  const old = new Database(file)
  old.exec(V0_OUTBOX_DDL)
  const ins = old.prepare('INSERT INTO outbox (change_id, sink, change_json, state, attempts, created_at, next_attempt_at, delivered_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
  ins.run('old-pending', 'log', JSON.stringify(pending), 'pending', 3, 1, 1, null, 'was down')
  ins.run('old-done', 'log', null, 'delivered', 1, 1, null, 5, null)
  old.close()

  const lines: string[] = []
  const rig = createRig({ file, sinks: [createLogSink({ name: 'log', write: l => { lines.push(l) } })] })
  t.teardown(() => rig.close())
  t.match(rig.outbox.deliveriesFor('old-done'), [{ state: 'delivered', deliveredAt: 5 }])
  t.match(rig.outbox.deliveriesFor('old-pending'), [{ state: 'pending', attempts: 3, lastError: 'was down' }])
  await rig.dispatcher.drain()
  t.same(lines.map(l => JSON.parse(l).id), ['old-pending'])
  t.same(rig.outbox.counts(), { pending: 0, delivered: 2, dead: 0, held: 0, digested: 0 })
  const sql = (rig.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'outbox'").get() as { sql: string }).sql
  t.match(sql, "'held', 'digested'")
  t.equal((rig.db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'outbox_before_digests'").get() as { n: number }).n, 0)
})
