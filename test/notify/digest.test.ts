// Digests end to end: `kubectl rollout restart deploy -n storm` over 20
// Deployments (one of them fails) → the mail sink with a digest gets ONE
// mail listing all 20 with each outcome; the log sink without one prints 20
// changes; the store holds 20 Changes. And a digest survives a restart of
// kubechanges in the middle of its window, sent once.

import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eventList, testApp, type TestApp } from '../helpers/app.js'
import { Cluster, USERS, R } from '../helpers/cluster.js'
import { startSmtp } from '../helpers/smtp.js'
import { buildDigest, digestTitle } from '../../src/notify/digest.js'
import { makeChange } from '../helpers/changes.js'
import { createRig } from '../helpers/delivery.js'
import { startReceiver } from '../helpers/receiver.js'

const N = 20

function storm (c: Cluster): void {
  for (let i = 0; i < N; i++) {
    const name = `app-${String(i).padStart(2, '0')}`
    c.create(USERS.alice, R.deployments, c.deploymentObject('storm', name, 'app:1.0', 1))
    c.runDeploymentController('storm', name)
  }
}

function restartAll (c: Cluster): void {
  c.advance(60_000)
  for (let i = 0; i < N; i++) {
    const name = `app-${String(i).padStart(2, '0')}`
    c.restart(USERS.alice, 'storm', name)
    if (i === 7) {
      c.runDeploymentController('storm', name, { stall: true })
      c.failDeployment('storm', name)
    } else {
      c.runDeploymentController('storm', name)
    }
  }
}

function config (smtpUrl: string): Record<string, unknown> {
  return {
    cluster: 'prod-eu',
    externalURL: 'https://kc.example.com',
    notify: {
      sinks: [
        { name: 'mail', type: 'email', url: smtpUrl, from: 'kc@example.com', to: ['ops@example.com'], digest: { windowSeconds: 60, minChanges: 5 } },
        { name: 'log', type: 'log' }
      ]
    }
  }
}

/** Posts what the cluster wrote, on the cluster's clock (changes close on the next tick). */
async function post (a: TestApp, c: Cluster): Promise<void> {
  a.clock.now = Math.max(a.clock.now, c.t)
  t.equal((await a.post(eventList(c.take()))).statusCode, 200)
}

t.test('a restart storm: one digest mail for the digest sink, one message per change elsewhere', async t => {
  const smtp = await startSmtp()
  t.teardown(smtp.close)
  const c = new Cluster()
  const a = await testApp({ start: c.t, config: config(smtp.url()) })
  t.teardown(a.close)

  storm(c)
  await post(a, c)
  await a.advance(10_000)
  t.equal(a.printed.length, N, 'the log sink printed each create at once')
  t.equal(smtp.mails.length, 0, 'the creates wait for their window')
  await a.advance(60_000)
  t.same(smtp.mails.map(m => m.parsed.subject), [`[prod-eu] alice@example.com created ${N} Deployments in storm: ${N} succeeded`])

  restartAll(c)
  await post(a, c)
  await a.advance(10_000)
  const restarts = a.printed.filter(x => x.type === 'restart')
  t.equal(restarts.length, N, 'log sink: one line per restart')
  t.same(restarts.map(x => x.cluster), Array(N).fill('prod-eu'), 'every change carries the cluster')
  const failed = restarts.find(x => x.outcome === 'failed')!
  t.equal(failed.object.name, 'app-07')
  const held = (await a.app.server.inject(`/changes/${encodeURIComponent(failed.id)}`)).json().deliveries
  t.match(held, [{ sink: 'log', state: 'delivered' }, { sink: 'mail', state: 'held', nextAttemptAt: a.clock.now - 10_000 + 60_000 }])
  t.equal(smtp.mails.length, 1)

  await a.advance(60_000)
  t.equal(smtp.mails.length, 2, 'ONE mail for the 20 restarts')
  const mail = smtp.mails[1]
  t.equal(mail.parsed.subject, `[prod-eu] alice@example.com restarted ${N} Deployments in storm: ${N - 1} succeeded, 1 failed`)
  const text = mail.parsed.text ?? ''
  for (const r of restarts) t.match(text, `https://kc.example.com/changes/${r.id}`)
  t.match(text, 'storm/app-07 Deployment: failed (ProgressDeadlineExceeded)')
  t.match(text, 'storm/app-00 Deployment: succeeded')
  t.match(mail.parsed.messageId, /^<kubechanges\.digest-[0-9a-f]{32}@example\.com>$/)
  t.equal(mail.parsed.headers.get('x-kubechanges-cluster'), 'prod-eu')
  t.equal(a.app.store.query({ limit: 1000, type: 'restart' }).items.length, N, 'the store holds one Change per restart')

  const after = (await a.app.server.inject(`/changes/${encodeURIComponent(failed.id)}`)).json().deliveries
  t.match(after, [{ sink: 'log', state: 'delivered' }, { sink: 'mail', state: 'digested', digest: { state: 'delivered', attempts: 1 } }])
  await a.advance(3_600_000)
  t.equal(smtp.mails.length, 2, 'nothing sent twice')
})

t.test('fewer changes than minChanges: sent one by one when the window closes', async t => {
  const smtp = await startSmtp()
  t.teardown(smtp.close)
  const c = new Cluster()
  const a = await testApp({ start: c.t, config: config(smtp.url()) })
  t.teardown(a.close)
  for (const name of ['one', 'two']) {
    c.create(USERS.alice, R.deployments, c.deploymentObject('shop', name, 'app:1.0', 1))
    c.runDeploymentController('shop', name)
  }
  await post(a, c)
  await a.advance(10_000)
  t.equal(smtp.mails.length, 0)
  await a.advance(60_000)
  t.same(smtp.mails.map(m => m.parsed.subject).sort(), [
    '[prod-eu] shop/one Deployment created by alice@example.com',
    '[prod-eu] shop/two Deployment created by alice@example.com'
  ])
})

t.test('kubechanges restarts in the middle of a digest window: one digest, sent once', async t => {
  const smtp = await startSmtp()
  t.teardown(smtp.close)
  const dir = mkdtempSync(join(tmpdir(), 'kc-digest-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const c = new Cluster()
  storm(c)
  const events = c.take()

  const first = await testApp({ dir, start: c.t, config: config(smtp.url()) })
  t.equal((await first.post(eventList(events))).statusCode, 200)
  await first.advance(10_000)
  t.equal(first.app.outbox.counts().held, N)
  const stoppedAt = first.clock.now
  await first.close()

  // Back 30 s later, the window still open; the apiserver re-sends the same batch.
  const second = await testApp({ dir, start: stoppedAt + 30_000, config: config(smtp.url()) })
  t.teardown(second.close)
  t.equal((await second.post(eventList(events))).statusCode, 200)
  await second.advance(0)
  t.equal(smtp.mails.length, 0, 'still inside the window')
  await second.advance(60_000)
  await second.advance(60_000)
  t.same(smtp.mails.map(m => m.parsed.subject), [`[prod-eu] alice@example.com created ${N} Deployments in storm: ${N} succeeded`])
  t.same(second.app.outbox.counts(), { pending: 0, delivered: N + 1, dead: 0, held: 0, digested: N }, 'N log lines and one digest delivered, N mail members digested')
})

t.test('digest wording', async t => {
  const members = [
    makeChange({ type: 'scale', outcome: 'succeeded', object: { kind: 'StatefulSet', namespace: 'a' } }),
    makeChange({ type: 'scale', outcome: 'timed-out', object: { kind: 'StatefulSet', namespace: 'b' } })
  ]
  const d = buildDigest('s', members, 0, 60_000)
  t.equal(digestTitle(d), 'alice scaled 2 StatefulSets in 2 namespaces: 1 succeeded, 1 timed out')
  t.equal(d.id, buildDigest('s', [...members].reverse(), 5, 9).id, 'the id depends on the sink and the members only')
  t.not(d.id, buildDigest('other', members, 0, 60_000).id)
  t.equal(digestTitle(buildDigest('s', [makeChange({ type: 'update', object: { kind: 'Ingress', namespace: '' } }), makeChange({ type: 'update', actor: null, object: { kind: 'Policy', namespace: '' } })], 0, 1)),
    'alice updated 2 objects: 2 applied')
})

t.test('a dead digest is retried through any of its members', async t => {
  let up = false
  const r = await startReceiver(t, () => up ? 200 : 500)
  const rig = createRig({
    notify: { sinks: [{ name: 'hook', type: 'webhook', url: r.url, digest: { windowSeconds: 10, minChanges: 2 } }] },
    backoff: { maxAttempts: 1 }
  })
  t.teardown(() => rig.close())
  const members = [makeChange({ type: 'restart' }), makeChange({ type: 'restart' })]
  for (const m of members) rig.dispatcher.enqueue(m)
  rig.clock.now += 10_000
  await rig.dispatcher.drain()
  t.match(rig.outbox.deliveriesFor(members[0].id), [{ state: 'digested', digest: { state: 'dead', attempts: 1 } }])
  up = true
  t.equal(rig.outbox.retryDead(members[1].id, rig.clock.now), 1, 'the digest row goes back to pending')
  await rig.dispatcher.drain()
  t.match(rig.outbox.deliveriesFor(members[0].id), [{ state: 'digested', digest: { state: 'delivered', attempts: 1 } }])
  t.same(r.got.map(g => [g.status, JSON.parse(g.body).kind, JSON.parse(g.body).digest.count]), [[500, 'Digest', 2], [200, 'Digest', 2]])
})
