import t from 'tap'
import { eventList, testApp } from '../helpers/app.js'
import { Cluster, USERS, R } from '../helpers/cluster.js'

t.test('healthz, readyz and the readiness checks', async t => {
  const a = await testApp()
  t.teardown(a.close)
  t.same((await a.app.server.inject('/healthz')).json(), { status: 'ok' })
  t.same((await a.app.server.inject('/readyz')).json(), { status: 'ready' })
  let synced = false
  a.app.readiness.push(() => synced ? undefined : 'informers not synced: deployments')
  const notReady = await a.app.server.inject('/readyz')
  t.equal(notReady.statusCode, 503)
  t.same(notReady.json(), { code: 'KC_NOT_READY', message: 'informers not synced: deployments' })
  synced = true
  t.equal((await a.app.server.inject('/readyz')).statusCode, 200)
})

t.test('metrics: events, drops, changes opened and closed, window, ingest latency', async t => {
  const c = new Cluster()
  const a = await testApp({ start: c.t })
  t.teardown(a.close)
  c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1', 1))
  c.runDeploymentController('shop', 'web')
  c.noise()
  const events = c.take()
  await a.post(eventList(events))
  await a.post(eventList(events))
  a.clock.now = c.t
  const mid = await a.app.server.inject('/metrics')
  t.match(mid.body, /kubechanges_window_open_changes 1\n/)
  await a.advance(10_000)
  const res = await a.app.server.inject('/metrics')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain/)
  const body = res.body
  t.match(body, new RegExp(`kubechanges_events_received_total\\{source="audit"\\} ${events.length * 2}\\n`))
  t.match(body, /kubechanges_events_dropped_total\{reason="duplicate"\} \d+/)
  t.match(body, /kubechanges_changes_opened_total\{type="create"\} 1\n/)
  t.match(body, /kubechanges_changes_closed_total\{type="create",outcome="succeeded"\} 1\n/)
  t.match(body, /kubechanges_window_open_changes 0\n/)
  t.match(body, /kubechanges_ingest_duration_seconds_count\{source="audit"\} 2\n/)
  t.match(body, /kubechanges_deliveries_total\{sink="log",result="delivered"\} 1\n/)
})

t.test('an open change pushed out of the window is closed timed-out, recorded and counted', async t => {
  const c = new Cluster()
  const a = await testApp({ start: c.t, config: { window: { maxObjects: 2, ttlSeconds: 600 } } })
  t.teardown(a.close)
  for (const name of ['a', 'b', 'c']) {
    c.create(USERS.alice, R.deployments, c.deploymentObject('shop', name, `${name}:1`, 1))
    c.advance(1000)
  }
  await a.post(eventList(c.take()))
  a.clock.now = c.t
  await a.advance(0)
  t.same(a.printed.map(x => [x.object.name, x.outcome]), [['a', 'timed-out']], 'capacity: the least recently used goes')
  await a.advance(601_000)
  t.same(a.printed.map(x => [x.object.name, x.outcome]), [['a', 'timed-out'], ['b', 'timed-out'], ['c', 'timed-out']], 'TTL: the rest age out')
  t.equal(a.stored().length, 3)
  const m = await a.app.metrics.registry.getSingleMetricAsString('kubechanges_window_evictions_total')
  t.match(m, /reason="capacity"\} 1/)
  t.match(m, /reason="ttl"\} 2/)
})
