// kubechanges restarted with pending deliveries: a new dispatcher on the same
// SQLite file delivers them exactly once and never re-sends delivered ones.

import t from 'tap'
import path from 'node:path'
import { jobChange, makeChange, rolloutChange } from '../helpers/changes.js'
import { createRig, smtpEnv } from '../helpers/delivery.js'
import { startSmtp } from '../helpers/smtp.js'

t.test('pending deliveries resume after a restart, delivered ones stay delivered', async t => {
  const file = path.join(t.testdir(), 'kubechanges.db')
  const smtp = await startSmtp()
  t.teardown(() => smtp.close())
  const changes = [rolloutChange({ id: 'a' }), jobChange({ id: 'b' }), makeChange({ id: 'c' })]

  // First life: "a" goes out, then the mail server goes down for "b" and "c".
  const first = createRig({ file, env: smtpEnv(smtp.url()) })
  first.dispatcher.enqueue(changes[0])
  await first.dispatcher.drain()
  smtp.refuse = () => 421
  first.dispatcher.enqueue(changes[1])
  first.dispatcher.enqueue(changes[2])
  await first.dispatcher.drain()
  t.same(first.outbox.counts(), { pending: 2, delivered: 1, dead: 0, held: 0, digested: 0 })
  const restartAt = first.clock.now + 60_000
  await first.close()

  // Second life: same file, new sinks and dispatcher; the audit log is replayed from the start.
  smtp.refuse = undefined
  const second = createRig({ file, env: smtpEnv(smtp.url()), startAt: restartAt })
  t.teardown(() => second.close())
  for (const c of changes) t.equal(second.dispatcher.enqueue(c).added, 0, `replayed ${c.id}: nothing added`)
  await second.dispatcher.drain()
  await second.dispatcher.drain()

  t.same(second.outbox.counts(), { pending: 0, delivered: 3, dead: 0, held: 0, digested: 0 })
  const ids = smtp.mails.map(m => m.parsed.messageId).sort()
  t.same(ids, ['<kubechanges.a@example.com>', '<kubechanges.b@example.com>', '<kubechanges.c@example.com>'], 'each exactly once')
  t.match(second.outbox.deliveriesFor('b'), [{ state: 'delivered', attempts: 2 }])
})

t.test('a crash mid-send: the leased row is retried once its lease ends', async t => {
  const file = path.join(t.testdir(), 'kubechanges.db')
  const smtp = await startSmtp()
  t.teardown(() => smtp.close())
  const first = createRig({ file, env: smtpEnv(smtp.url()) })
  const c = rolloutChange({ id: 'crash' })
  first.dispatcher.enqueue(c)
  // Taken for delivery, then the process dies before it records anything.
  const [row] = first.outbox.claim(first.clock.now, 1, first.clock.now + 120_000)
  t.equal(row.changeId, 'crash')
  const crashedAt = first.clock.now
  await first.close()

  const second = createRig({ file, env: smtpEnv(smtp.url()), startAt: crashedAt + 1000 })
  t.teardown(() => second.close())
  await second.dispatcher.drain()
  t.equal(smtp.mails.length, 0, 'still leased')
  second.clock.now = crashedAt + 120_000
  await second.dispatcher.drain()
  await second.dispatcher.drain()
  t.equal(smtp.mails.length, 1)
  t.match(second.outbox.deliveriesFor('crash'), [{ state: 'delivered', attempts: 1 }])
})
