// Exactly one mail per change over a multi-change run, through the outbox
// and the dispatcher, configured from the environment only.

import t from 'tap'
import { renderSubject } from '../../src/notify/render.js'
import { createChange, endpointsChange, jobChange, makeChange, rolloutChange, scaleChange } from '../helpers/changes.js'
import { createRig, smtpEnv, waitFor } from '../helpers/delivery.js'
import { startSmtp } from '../helpers/smtp.js'

t.test('a multi-change run: one mail per change, re-sent batches add nothing', async t => {
  const smtp = await startSmtp()
  t.teardown(() => smtp.close())
  const rig = createRig({ env: { ...smtpEnv(smtp.url()), KUBECHANGES_EXTERNAL_URL: 'https://kc.example.com' } })
  t.teardown(() => rig.close())

  const changes = [
    rolloutChange({ id: 'rollout-1' }),
    scaleChange({ id: 'scale-1' }),
    jobChange({ id: 'job-1' }),
    endpointsChange({ id: 'endpoints-1' }),
    createChange({ id: 'create-1' }),
    makeChange({ id: 'update-1', details: { diff: [{ path: 'spec.replicas', from: 1, to: 2 }] } })
  ]
  // The first batch, then the apiserver re-sends it, then a replay of the same audit log.
  for (const c of changes) t.same(rig.dispatcher.enqueue(c), { targets: [{ sink: 'email' }], added: 1 })
  for (const c of changes) t.equal(rig.dispatcher.enqueue(c).added, 0)
  await rig.dispatcher.drain()
  for (const c of changes) t.equal(rig.dispatcher.enqueue(structuredClone(c)).added, 0, 'enqueued again after delivery')
  await rig.dispatcher.drain()
  rig.clock.now += 86_400_000
  await rig.dispatcher.drain()

  t.equal(smtp.mails.length, changes.length, 'exactly one mail per change')
  const byId = new Map(smtp.mails.map(m => [m.parsed.messageId, m]))
  t.equal(byId.size, changes.length)
  for (const c of changes) {
    const m = byId.get(`<kubechanges.${c.id}@example.com>`)
    t.ok(m, `mail for ${c.id}`)
    if (!m) continue
    t.equal(m.parsed.subject, renderSubject(c))
    t.match(m.parsed.text, c.summary)
    t.match(m.parsed.text, `https://kc.example.com/changes/${c.id}`)
    t.match(m.parsed.html, `href="https://kc.example.com/changes/${c.id}"`)
    t.same(m.envelope.to, ['ops@example.com'])
    t.same(rig.outbox.deliveriesFor(c.id).map(d => [d.sink, d.state, d.attempts]), [['email', 'delivered', 1]])
  }
  t.equal(byId.get('<kubechanges.rollout-1@example.com>')?.parsed.subject, '[kubechanges] shop/web rollout succeeded: web 1.4.0 → 1.5.0 by alice')
  t.same(rig.outbox.counts(), { pending: 0, delivered: changes.length, dead: 0, held: 0, digested: 0 })
  const metrics = await rig.registry.metrics()
  t.match(metrics, `kubechanges_deliveries_total{sink="email",result="delivered"} ${changes.length}`)
  t.match(metrics, 'kubechanges_outbox_pending{sink="email"} 0')
  t.match(metrics, /kubechanges_delivery_duration_seconds_count\{sink="email"\} 6/)
})

t.test('the background loop delivers without drain()', async t => {
  const smtp = await startSmtp()
  t.teardown(() => smtp.close())
  const rig = createRig({ env: smtpEnv(smtp.url()), pollMs: 20 })
  t.teardown(() => rig.close())
  rig.dispatcher.start()
  const c = rolloutChange()
  rig.dispatcher.enqueue(c)
  rig.dispatcher.enqueue(c)
  await waitFor(() => rig.outbox.counts().delivered === 1)
  await rig.dispatcher.stop()
  t.equal(smtp.mails.length, 1)
})

t.test('route recipients reach the SMTP envelope', async t => {
  const smtp = await startSmtp()
  t.teardown(() => smtp.close())
  const rig = createRig({
    env: smtpEnv(smtp.url()),
    notify: {
      sinks: [{ name: 'email', type: 'email' }],
      routes: [{ match: { outcome: ['failed'] }, sinks: ['email'], to: ['oncall@example.com'] }],
      defaultSinks: ['email']
    }
  })
  t.teardown(() => rig.close())
  rig.dispatcher.enqueue(jobChange({ id: 'failed-job' }))
  rig.dispatcher.enqueue(rolloutChange({ id: 'ok-rollout' }))
  await rig.dispatcher.drain()
  const to = new Map(smtp.mails.map(m => [m.parsed.messageId, m.envelope.to]))
  t.same(to.get('<kubechanges.failed-job@example.com>'), ['oncall@example.com'])
  t.same(to.get('<kubechanges.ok-rollout@example.com>'), ['ops@example.com'])
})
