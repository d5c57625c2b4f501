import t from 'tap'
import Database from 'better-sqlite3'
import path from 'node:path'
import { Outbox } from '../../src/store/outbox.js'
import { makeChange, rolloutChange } from '../helpers/changes.js'

function open (file = ':memory:'): { db: Database.Database; outbox: Outbox } {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  return { db, outbox: new Outbox(db) }
}

t.test('enqueue is idempotent per (change, sink)', async t => {
  const { db, outbox } = open()
  t.teardown(() => db.close())
  const c = rolloutChange()
  t.equal(outbox.enqueue(c, [{ sink: 'email' }, { sink: 'chat' }], 1000), 2)
  t.equal(outbox.enqueue(c, [{ sink: 'email' }, { sink: 'chat' }], 2000), 0, 'same change again: nothing added')
  t.equal(outbox.enqueue({ ...c, summary: 'changed' }, [{ sink: 'email' }, { sink: 'log' }], 3000), 1, 'only the new sink')
  t.equal(outbox.enqueue(makeChange(), [], 1000), 0)
  t.same(outbox.counts(), { pending: 3, delivered: 0, dead: 0, held: 0, digested: 0 })
})

t.test('due, claim, delivered, failed, dead', async t => {
  const { db, outbox } = open()
  t.teardown(() => db.close())
  const a = rolloutChange()
  const b = makeChange()
  outbox.enqueue(a, [{ sink: 'email', to: ['x@example.com'] }], 1000)
  outbox.enqueue(b, [{ sink: 'email' }], 1001)
  t.same(outbox.due(999, 10), [], 'nothing due before enqueue time')
  const due = outbox.due(2000, 10)
  t.same(due.map(r => r.changeId), [a.id, b.id], 'oldest first')
  t.same(due[0].change, a, 'the change snapshot')
  t.same(due[0].to, ['x@example.com'])
  t.equal(due[1].to, undefined)

  const claimed = outbox.claim(2000, 1, 2000 + 60_000)
  t.equal(claimed.length, 1)
  t.same(outbox.due(2000, 10).map(r => r.changeId), [b.id], 'a claimed row is leased')
  t.same(outbox.claim(2000, 10, 70_000, new Set([due[1].id])), [], 'excluded ids are not claimed')

  t.ok(outbox.markDelivered(claimed[0].id, 2500))
  t.notOk(outbox.markDelivered(claimed[0].id, 2600), 'delivered once only')
  t.notOk(outbox.markFailed(claimed[0].id, 2600, 'x', 3000), 'a delivered row is never pending again')
  t.same(outbox.deliveriesFor(a.id), [{ sink: 'email', state: 'delivered', attempts: 1, lastError: null, deliveredAt: 2500, nextAttemptAt: null, to: ['x@example.com'] }])

  t.ok(outbox.markFailed(due[1].id, 3000, 'SMTP 451', 5000))
  t.same(outbox.due(4999, 10), [])
  t.same(outbox.due(5000, 10).map(r => [r.changeId, r.attempts]), [[b.id, 1]])
  t.same(outbox.deliveriesFor(b.id), [{ sink: 'email', state: 'pending', attempts: 1, lastError: 'SMTP 451', deliveredAt: null, nextAttemptAt: 5000 }])
  t.ok(outbox.markDead(due[1].id, 6000, 'SMTP 550'))
  t.same(outbox.deliveriesFor(b.id), [{ sink: 'email', state: 'dead', attempts: 2, lastError: 'SMTP 550', deliveredAt: null, nextAttemptAt: null }])
  t.same(outbox.counts(), { pending: 0, delivered: 1, dead: 1, held: 0, digested: 0 })
  t.equal(outbox.nextDueAt(), null)

  t.equal(outbox.retryDead(b.id, 7000), 1, 'an operator can retry a dead delivery')
  t.same(outbox.due(7000, 10).map(r => [r.changeId, r.attempts]), [[b.id, 0]])
  t.equal(outbox.enqueue(a, [{ sink: 'email' }], 8000), 0, 'a delivered change re-enqueued adds nothing')
})

t.test('prune forgets finished deliveries only', async t => {
  const { db, outbox } = open()
  t.teardown(() => db.close())
  const [a, b, c] = [makeChange(), makeChange(), makeChange()]
  outbox.enqueue(a, [{ sink: 's' }], 1000)
  outbox.enqueue(b, [{ sink: 's' }], 1000)
  outbox.enqueue(c, [{ sink: 's' }], 5000)
  const rows = outbox.due(5000, 10)
  outbox.markDelivered(rows[0].id, 1100)
  outbox.markDelivered(rows[2].id, 5100)
  t.equal(outbox.prune(2000), 1)
  t.same(outbox.counts(), { pending: 1, delivered: 1, dead: 0, held: 0, digested: 0 })
  t.same(outbox.deliveriesFor(a.id), [])
})

t.test('long errors are clipped', async t => {
  const { db, outbox } = open()
  t.teardown(() => db.close())
  const c = makeChange()
  outbox.enqueue(c, [{ sink: 's' }], 0)
  const [row] = outbox.due(0, 1)
  outbox.markFailed(row.id, 0, 'x'.repeat(5000), 10)
  t.equal(outbox.deliveriesFor(c.id)[0].lastError?.length, 1000)
})

t.test('survives reopening the database file; shares it with other tables', async t => {
  const dir = t.testdir()
  const file = path.join(dir, 'kc.db')
  const first = open(file)
  first.db.exec('CREATE TABLE IF NOT EXISTS changes (id TEXT PRIMARY KEY)')
  const c = rolloutChange()
  first.outbox.enqueue(c, [{ sink: 'email' }, { sink: 'chat' }], 1000)
  const [row] = first.outbox.due(1000, 1)
  first.outbox.markDelivered(row.id, 1100)
  first.db.close()

  const second = open(file)
  t.teardown(() => second.db.close())
  t.same(second.outbox.counts(), { pending: 1, delivered: 1, dead: 0, held: 0, digested: 0 })
  t.same(second.outbox.due(2000, 10).map(r => r.sink), ['chat'])
  t.equal(second.outbox.enqueue(c, [{ sink: 'email' }, { sink: 'chat' }], 3000), 0)
  t.same(second.outbox.pendingBySink(), new Map([['chat', 1]]))
})
