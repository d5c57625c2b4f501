// The SMTP server refusing, then accepting: delivered exactly once after
// recovery; refusing for good: dead after maxAttempts, visible in the outbox
// and the metrics, with the SMTP password nowhere.

import t from 'tap'
import { rolloutChange, scaleChange } from '../helpers/changes.js'
import { createRig, smtpEnv } from '../helpers/delivery.js'
import { startSmtp } from '../helpers/smtp.js'
import type { SmtpStage } from '../helpers/smtp.js'

const PASS = 'Sup3r-S3cret-pw'

for (const stage of ['rcpt', 'data'] as SmtpStage[]) {
  t.test(`refused at ${stage} (451) twice, then accepted: one mail`, async t => {
    const smtp = await startSmtp()
    t.teardown(() => smtp.close())
    let refusals = 2
    smtp.refuse = s => s === stage && refusals > 0 ? (refusals--, 451) : undefined
    const rig = createRig({ env: smtpEnv(smtp.url()), backoff: { initialMs: 1000, maxMs: 60_000, maxAttempts: 5 }, random: () => 0.5 })
    t.teardown(() => rig.close())
    const c = rolloutChange()
    rig.dispatcher.enqueue(c)
    const t0 = rig.clock.now

    await rig.dispatcher.drain()
    let [d] = rig.outbox.deliveriesFor(c.id)
    t.match(d, { state: 'pending', attempts: 1, lastError: /451/, nextAttemptAt: t0 + 500 }, 'backoff: 0.5 · 1000 ms')
    await rig.dispatcher.drain()
    t.equal(rig.outbox.deliveriesFor(c.id)[0].attempts, 1, 'not due yet: not attempted')

    rig.clock.now = t0 + 500
    await rig.dispatcher.drain()
    d = rig.outbox.deliveriesFor(c.id)[0]
    t.match(d, { state: 'pending', attempts: 2, nextAttemptAt: t0 + 500 + 1000 }, 'backoff doubles: 0.5 · 2000 ms')

    rig.clock.now = t0 + 1500
    await rig.dispatcher.drain()
    d = rig.outbox.deliveriesFor(c.id)[0]
    t.match(d, { state: 'delivered', attempts: 3, deliveredAt: t0 + 1500 })
    t.equal(smtp.refused, 2)
    t.equal(smtp.mails.length, 1)

    rig.clock.now += 3_600_000
    rig.dispatcher.enqueue(c)
    await rig.dispatcher.drain()
    t.equal(smtp.mails.length, 1, 'never sent again')
    const metrics = await rig.registry.metrics()
    t.match(metrics, 'kubechanges_deliveries_total{sink="email",result="failed"} 2')
    t.match(metrics, 'kubechanges_deliveries_total{sink="email",result="delivered"} 1')
  })
}

t.test('dead after maxAttempts: outbox, metrics, logs; the password nowhere', async t => {
  const smtp = await startSmtp({ auth: { user: 'alice', pass: 'the-right-one' } })
  t.teardown(() => smtp.close())
  const url = smtp.url({ user: 'alice', pass: PASS })
  const rig = createRig({ env: smtpEnv(url), backoff: { initialMs: 1000, maxMs: 1000, maxAttempts: 3 }, random: () => 1 })
  t.teardown(() => rig.close())
  const c = scaleChange()
  rig.dispatcher.enqueue(c)
  for (let i = 0; i < 5; i++) {
    await rig.dispatcher.drain()
    rig.clock.now += 1000
  }
  const [d] = rig.outbox.deliveriesFor(c.id)
  t.match(d, { sink: 'email', state: 'dead', attempts: 3, deliveredAt: null, nextAttemptAt: null })
  t.match(d.lastError, /^email sink "email": .*535/)
  t.notMatch(d.lastError, PASS)
  t.equal(smtp.authFailures, 3)
  t.equal(smtp.mails.length, 0)
  t.same(rig.outbox.counts(), { pending: 0, delivered: 0, dead: 1, held: 0, digested: 0 })

  const metrics = await rig.registry.metrics()
  t.match(metrics, 'kubechanges_deliveries_dead_total{sink="email"} 1')
  t.match(metrics, 'kubechanges_deliveries_total{sink="email",result="failed"} 3')
  t.match(metrics, 'kubechanges_outbox_pending{sink="email"} 0')
  t.notMatch(metrics, PASS)

  const logs = rig.logs.join('')
  t.match(logs, 'delivery failed, will retry')
  t.match(logs, 'delivery dead after the last attempt')
  t.notMatch(logs, PASS)
  t.notMatch(logs, encodeURIComponent(PASS))
  t.notMatch(logs, Buffer.from(PASS).toString('base64'))

  t.equal(rig.dispatcher.enqueue(c).added, 0, 'a dead delivery is not re-added by a replay')
})

t.test('a deleted sink: its pending rows go dead at once', async t => {
  const smtp = await startSmtp()
  t.teardown(() => smtp.close())
  const rig = createRig({ env: smtpEnv(smtp.url()) })
  t.teardown(() => rig.close())
  const c = rolloutChange()
  rig.outbox.enqueue(c, [{ sink: 'old-sink' }], rig.clock.now)
  await rig.dispatcher.drain()
  t.match(rig.outbox.deliveriesFor(c.id), [{ sink: 'old-sink', state: 'dead', lastError: 'sink "old-sink" is not configured' }])
})
