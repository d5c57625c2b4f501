import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, R, USERS } from '../helpers/cluster.js'
import { eventList, testApp, type TestApp } from '../helpers/app.js'
import { createRollout, helmRelease, issueCertificate, setRolloutImage } from '../helpers/custom-resources.js'

// The new detector state (a custom resource's group, generation and deadline,
// a Service's re-create) is plain data in the snapshot and journal: a crash
// between two audit batches continues the changes as if nothing happened.

t.test('a crash between batches: custom-resource changes and a Service re-create continue, reported once', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-cr-restart-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const c = new Cluster()
  let a: TestApp = await testApp({ dir, start: c.t })
  const post = async (): Promise<void> => {
    t.equal((await a.post(eventList(c.take()))).statusCode, 200)
    a.clock.now = Math.max(a.clock.now, c.t)
    await a.advance(0)
  }
  createRollout(c, USERS.alice, 'shop', 'web', 'web:1.0')
  c.service(USERS.alice, 'shop', 'db', { app: 'db' }, { clusterIP: '10.96.12.3', clusterIPs: ['10.96.12.3'] })
  await post()
  await a.advance(10_000)
  const before = a.printed.splice(0)
  t.same(before.map(x => [x.type, x.outcome, x.object.kind]), [['create', 'succeeded', 'Rollout'], ['create', 'applied', 'Service']])
  c.t = a.clock.now

  // The first halves: the rollout, the HelmRelease install and the Certificate under way, the Service deleted.
  c.advance(60_000)
  const p = setRolloutImage(c, USERS.alice, 'shop', 'web', 'web:1.1')
  const rolloutRest = c.events.splice(c.events.findIndex(e => e.objectRef?.subresource === 'status' && e.objectRef?.resource === 'rollouts') + 2)
  const hr = helmRelease(c, USERS.bob, 'shop', 'podinfo', '6.5.0')
  const hrDone = c.events.pop()!
  issueCertificate(c, USERS.alice, 'shop', 'web-cert', ['web.example.com'])
  const certRest = c.events.splice(c.events.findIndex(e => e.objectRef?.resource === 'secrets'))
  c.delete(USERS.alice, R.services, 'shop', 'db')
  await post()
  t.same(a.printed, [], 'nothing finished yet')
  t.ok(p.statuses.length > 2 && hr.statuses.length === 2)

  // Crash (SIGKILL: nothing but the store survives), a new app on the same file.
  a.app.store.close()
  a = await testApp({ dir, start: a.clock.now })
  t.teardown(a.close)

  c.advance(2000)
  c.service(USERS.alice, 'shop', 'db', { app: 'db' }, { clusterIP: '10.96.77.201', clusterIPs: ['10.96.77.201'] })
  c.events.unshift(...rolloutRest, hrDone, ...certRest)
  await post()
  await a.advance(10_000)
  t.same(a.printed.map(x => [x.type, x.outcome, x.object.kind, x.object.name, x.actor?.username]).sort((x, y) => String(x[2]).localeCompare(String(y[2]))), [
    ['create', 'succeeded', 'Certificate', 'web-cert', USERS.alice.username],
    ['create', 'succeeded', 'HelmRelease', 'podinfo', USERS.bob.username],
    ['rollout', 'succeeded', 'Rollout', 'web', USERS.alice.username],
    ['create', 'applied', 'Service', 'db', USERS.alice.username]
  ], 'each finished once, by its status rule, across the crash')
  t.equal(a.printed.find(x => x.object.kind === 'Service')?.summary, 'Service shop/db re-created, by alice@example.com: cluster IP 10.96.12.3 → 10.96.77.201 (ClusterIP 10.96.77.201, port 80/TCP, selector app=db)')
  t.equal(a.stored().length, 6, 'the store holds the two before and the four after, once each')
})
