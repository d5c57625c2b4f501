// The dispatcher with in-process sinks: routing to several sinks, backoff,
// concurrency, and an enqueue that never waits for a delivery.

import t from 'tap'
import { errors } from '../../src/errors.js'
import { backoffDelay } from '../../src/notify/dispatcher.js'
import type { Change } from '../../src/model.js'
import type { DeliverOptions, Sink } from '../../src/notify/sink.js'
import { makeChange, rolloutChange, scaleChange } from '../helpers/changes.js'
import { createRig, waitFor } from '../helpers/delivery.js'

interface FakeSink extends Sink {
  got: Array<{ change: Change; opts?: DeliverOptions }>
  active: number
  maxActive: number
  /** Set to make deliver() wait for release(). */
  hold: boolean
  release (): void
  failNext: number
}

function fakeSink (name: string, type: Sink['type'] = 'webhook'): FakeSink {
  let waiters: Array<() => void> = []
  const s: FakeSink = {
    name,
    type,
    got: [],
    active: 0,
    maxActive: 0,
    hold: false,
    failNext: 0,
    release () { const w = waiters; waiters = []; w.forEach(f => f()) },
    async deliver (change, opts) {
      s.active++
      s.maxActive = Math.max(s.maxActive, s.active)
      try {
        await new Promise(resolve => setImmediate(resolve))
        if (s.hold) await new Promise<void>(resolve => waiters.push(resolve))
        if (s.failNext > 0) { s.failNext--; throw errors.DELIVERY_FAILED(`${name}: nope`) }
        s.got.push({ change, opts })
      } finally {
        s.active--
      }
    },
    async deliverDigest () { throw errors.DELIVERY_FAILED(`${name}: no digests here`) },
    async close () {}
  }
  return s
}

const notify = {
  sinks: [
    { name: 'mail', type: 'email', url: 'smtp://127.0.0.1:1', from: 'kc@example.com', to: ['ops@example.com'] },
    { name: 'chat', type: 'webhook', url: 'http://127.0.0.1:1/' },
    { name: 'log', type: 'log' }
  ],
  routes: [
    { match: { type: ['rollout'] }, sinks: ['mail', 'chat'] },
    { match: { namespace: ['shop'] }, sinks: ['mail'], to: ['shop@example.com'], quietTypes: ['scale'] }
  ],
  defaultSinks: ['log']
}

t.test('backoffDelay: full jitter under a doubling cap', async t => {
  const b = { initialMs: 1000, maxMs: 30_000 }
  t.equal(backoffDelay(1, b, () => 0.999), 999)
  t.equal(backoffDelay(2, b, () => 0.5), 1000)
  t.equal(backoffDelay(4, b, () => 0.5), 4000)
  t.equal(backoffDelay(10, b, () => 0.5), 15_000, 'capped at maxMs')
  t.equal(backoffDelay(1000, b, () => 1), 30_000)
  t.equal(backoffDelay(3, b, () => 0), 0)
})

t.test('one change to several sinks, recipients passed through', async t => {
  const mail = fakeSink('mail', 'email')
  const chat = fakeSink('chat')
  const log = fakeSink('log', 'log')
  const rig = createRig({ notify, sinks: [mail, chat, log] })
  t.teardown(() => rig.close())
  const r = rig.dispatcher.enqueue(rolloutChange({ id: 'r1' }))
  t.same(r, { targets: [{ sink: 'mail', to: ['ops@example.com', 'shop@example.com'] }, { sink: 'chat' }], added: 2 })
  t.same(rig.dispatcher.enqueue(scaleChange({ id: 's1' })).targets, [], 'quiet in shop')
  t.same(rig.dispatcher.enqueue(makeChange({ id: 'u1', object: { namespace: 'other' } })).targets, [{ sink: 'log' }])
  await rig.dispatcher.drain()
  t.same(mail.got.map(g => [g.change.id, g.opts]), [['r1', { to: ['ops@example.com', 'shop@example.com'] }]])
  t.same(chat.got.map(g => [g.change.id, g.opts]), [['r1', undefined]])
  t.same(log.got.map(g => g.change.id), ['u1'])
  t.same(rig.outbox.deliveriesFor('r1').map(d => [d.sink, d.state]), [['chat', 'delivered'], ['mail', 'delivered']])
  t.same(rig.outbox.deliveriesFor('s1'), [])
})

t.test('one sink failing does not hold back another', async t => {
  const mail = fakeSink('mail', 'email')
  const chat = fakeSink('chat')
  mail.failNext = 1
  const rig = createRig({ notify, sinks: [mail, chat, fakeSink('log', 'log')] })
  t.teardown(() => rig.close())
  rig.dispatcher.enqueue(rolloutChange({ id: 'r1' }))
  await rig.dispatcher.drain()
  t.same(rig.outbox.deliveriesFor('r1').map(d => [d.sink, d.state, d.attempts]), [['chat', 'delivered', 1], ['mail', 'pending', 1]])
  t.match(rig.outbox.deliveriesFor('r1')[1].lastError, 'mail: nope')
})

t.test('concurrency bound; drain attempts each due row once', async t => {
  const log = fakeSink('log', 'log')
  const rig = createRig({ sinks: [log], concurrency: 3, random: () => 0, backoff: { maxAttempts: 100 } })
  t.teardown(() => rig.close())
  for (let i = 0; i < 20; i++) rig.dispatcher.enqueue(makeChange())
  log.failNext = 5
  await rig.dispatcher.drain()
  t.equal(log.maxActive, 3)
  t.equal(log.got.length, 15)
  t.same(rig.outbox.counts(), { pending: 5, delivered: 15, dead: 0, held: 0, digested: 0 }, 'failures (retry due at once) wait for the next drain')
  await rig.dispatcher.drain()
  t.same(rig.outbox.counts(), { pending: 0, delivered: 20, dead: 0, held: 0, digested: 0 })
})

t.test('enqueue never waits for a delivery', async t => {
  const log = fakeSink('log', 'log')
  log.hold = true
  const rig = createRig({ sinks: [log], concurrency: 2, pollMs: 5 })
  t.teardown(() => rig.close())
  rig.dispatcher.start()
  rig.dispatcher.enqueue(makeChange())
  await waitFor(() => log.active === 2 || log.active === 1)
  const t0 = performance.now()
  let added = 0
  for (let i = 0; i < 500; i++) added += rig.dispatcher.enqueue(makeChange()).added
  const ms = performance.now() - t0
  t.equal(added, 500)
  t.ok(ms < 1000, `500 enqueues while deliveries hang took ${ms.toFixed(1)} ms`)
  await new Promise(resolve => setTimeout(resolve, 20))
  t.equal(log.active, 2, 'only as many deliveries in flight as the concurrency')
  t.equal(rig.outbox.counts().pending, 501)
  log.hold = false
  log.release()
  await waitFor(() => rig.outbox.counts().delivered === 501)
  await rig.dispatcher.stop()
  t.equal(log.got.length, 501)
})

t.test('stop waits for deliveries in flight', async t => {
  const log = fakeSink('log', 'log')
  log.hold = true
  const rig = createRig({ sinks: [log], pollMs: 5 })
  t.teardown(() => rig.close())
  rig.dispatcher.start()
  rig.dispatcher.enqueue(makeChange({ id: 'x' }))
  await waitFor(() => log.active === 1)
  let stopped = false
  const p = rig.dispatcher.stop().then(() => { stopped = true })
  await new Promise(resolve => setTimeout(resolve, 10))
  t.notOk(stopped)
  log.release()
  await p
  t.match(rig.outbox.deliveriesFor('x'), [{ state: 'delivered' }])
})
