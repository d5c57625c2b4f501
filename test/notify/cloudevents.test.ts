// The CloudEvents sink against a real HTTP receiver that reads what arrives
// with the official SDK (HTTP.toEvent), in binary and structured mode, across
// a failed attempt and a restart, and with the CDEvents mapping.

import t from 'tap'
import path from 'node:path'
import { HTTP, type CloudEventV1 } from 'cloudevents'
import { createCloudEventsSink, imagePurl } from '../../src/notify/cloudevents.js'
import { buildDigest } from '../../src/notify/digest.js'
import type { Change } from '../../src/model.js'
import { deleteChange, jobChange, makeChange, rolloutChange } from '../helpers/changes.js'
import { createRig } from '../helpers/delivery.js'
import { startReceiver, type ReceivedRequest } from '../helpers/receiver.js'

function toEvent (r: ReceivedRequest): CloudEventV1<any> {
  const e = HTTP.toEvent({ headers: r.headers as Record<string, string>, body: r.body })
  if (Array.isArray(e)) throw new Error('a batch')
  return e as CloudEventV1<any>
}

t.test('binary mode (default): one event per change, id = change id, across a failure and a restart', async t => {
  const r = await startReceiver(t, n => n === 0 ? 503 : 202)
  const file = path.join(t.testdir(), 'kubechanges.db')
  const notify = { sinks: [{ name: 'events', type: 'cloudevents', url: r.url, headers: { Authorization: 'Bearer tok-1' } }] }
  const change = rolloutChange({ id: 'uid-1:rollout:7', cluster: 'prod-eu' })

  const first = createRig({ file, notify, backoff: { initialMs: 1000, maxMs: 1000, maxAttempts: 5 } })
  first.dispatcher.enqueue(change)
  await first.dispatcher.drain()
  t.match(first.outbox.deliveriesFor(change.id), [{ state: 'pending', attempts: 1, lastError: 'cloudevents sink "events": HTTP 503 Service Unavailable' }])
  const stoppedAt = first.clock.now
  await first.close()

  const second = createRig({ file, notify, startAt: stoppedAt + 5000 })
  t.teardown(() => second.close())
  t.equal(second.dispatcher.enqueue(change).added, 0, 'a replay adds nothing')
  await second.dispatcher.drain()
  t.match(second.outbox.deliveriesFor(change.id), [{ state: 'delivered', attempts: 2 }])
  t.same(r.got.map(g => g.status), [503, 202])

  const [a, b] = r.got.map(toEvent)
  t.same(a, b, 'the retry is the same event')
  t.equal(r.got[1].headers['content-type'], 'application/json')
  t.equal(r.got[1].headers['ce-id'], 'uid-1:rollout:7')
  t.equal(r.got[1].headers.authorization, 'Bearer tok-1')
  t.match(b, {
    specversion: '1.0',
    id: 'uid-1:rollout:7',
    type: 'io.kubechanges.change.rollout',
    source: '/kubechanges/prod-eu',
    subject: 'Deployment/shop/web',
    time: '2025-01-01T10:00:38.000Z',
    datacontenttype: 'application/json',
    outcome: 'succeeded',
    cluster: 'prod-eu'
  })
  t.same(b.data, change, 'data is the Change')
})

t.test('structured mode, no cluster, a cluster-scoped object', async t => {
  const r = await startReceiver(t)
  const sink = createCloudEventsSink({ name: 's', url: r.url, mode: 'structured' })
  const change = makeChange({ id: 'ns-1', type: 'create', object: { kind: 'Namespace', namespace: '', name: 'shop' } })
  await sink.deliver(change)
  t.equal(r.got[0].headers['content-type'], 'application/cloudevents+json; charset=utf-8')
  t.notOk(r.got[0].headers['ce-id'], 'no ce- headers in structured mode')
  const e = toEvent(r.got[0])
  t.match(e, { id: 'ns-1', type: 'io.kubechanges.change.create', source: '/kubechanges', subject: 'Namespace/shop', outcome: 'applied' })
  t.notOk('cluster' in e, 'no cluster extension when the cluster is not named')
  t.same(e.data, change)
})

t.test('a digest is one event of type io.kubechanges.digest.<type>', async t => {
  const r = await startReceiver(t)
  const sink = createCloudEventsSink({ name: 's', url: r.url })
  const members = [rolloutChange({ cluster: 'c1' }), rolloutChange({ cluster: 'c1', outcome: 'failed' })]
  const d = buildDigest('s', members, Date.parse('2025-01-01T10:00:00Z'), Date.parse('2025-01-01T10:01:00Z'))
  await sink.deliverDigest(d)
  const e = toEvent(r.got[0])
  t.match(e, { id: d.id, type: 'io.kubechanges.digest.rollout', source: '/kubechanges/c1', subject: 'alice', time: '2025-01-01T10:01:00.000Z', outcome: 'failed', cluster: 'c1' })
  t.equal(e.data.count, 2)
  t.same(e.data.changes.map((c: Change) => c.id), members.map(m => m.id))
})

t.test('format: cdevents maps workload changes to CDEvents v0.4, the rest stays kubechanges events', async t => {
  const r = await startReceiver(t)
  const sink = createCloudEventsSink({ name: 'cd', url: r.url, format: 'cdevents' })
  const image = 'registry.example.com/shop/web:1.5.0@sha256:0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427'
  const upgrade = rolloutChange({ id: 'up-1', cluster: 'prod', details: { images: [{ container: 'web', from: 'registry.example.com/shop/web:1.4.0', to: image }] } })
  const create = makeChange({ id: 'cr-1', type: 'create', outcome: 'succeeded', details: { images: [{ container: 'web', from: null, to: 'web:1.0' }] } })
  const removal = deleteChange({ id: 'rm-1', object: { kind: 'StatefulSet', namespace: 'db', name: 'pg' } })
  const failedRollout = rolloutChange({ id: 'fail-1', outcome: 'failed' })
  const job = jobChange({ id: 'job-1' })
  for (const c of [upgrade, create, removal, failedRollout, job]) await sink.deliver(c)
  const events = r.got.map(toEvent)
  t.same(events.map(e => e.type), [
    'dev.cdevents.service.upgraded.0.2.0',
    'dev.cdevents.service.deployed.0.2.0',
    'dev.cdevents.service.removed.0.2.0',
    'io.kubechanges.change.rollout',
    'io.kubechanges.change.job'
  ])
  t.same(events.map(e => e.id), ['up-1', 'cr-1', 'rm-1', 'fail-1', 'job-1'])
  t.same(events[0].data.context, { version: '0.4.1', id: 'up-1', source: '/kubechanges/prod', type: 'dev.cdevents.service.upgraded.0.2.0', timestamp: '2025-01-01T10:00:38.000Z' })
  t.same(events[0].data.subject, {
    id: 'Deployment/shop/web',
    source: '/kubechanges/prod',
    type: 'service',
    content: {
      environment: { id: 'prod/shop', source: '/kubechanges/prod' },
      artifactId: 'pkg:oci/web@sha256%3A0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427?repository_url=registry.example.com/shop/web&tag=1.5.0'
    }
  })
  t.same(events[2].data.subject.content, { environment: { id: 'db', source: '/kubechanges' } }, 'removed: no artifact')
  t.equal(imagePurl('nginx'), 'pkg:oci/nginx?repository_url=nginx')
})
