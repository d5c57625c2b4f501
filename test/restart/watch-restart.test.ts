import t from 'tap'
import type { Test } from 'tap'
import { mirroredCluster, sleep, until, watchFor } from '../helpers/watch-app.js'
import { CONTROLLERS, USERS, R } from '../helpers/cluster.js'
import { eventList, testApp, type TestApp } from '../helpers/app.js'
import type { Change } from '../../src/model.js'

// A crash with the watch on, against the protocol-faithful fake apiserver.
// After the restart the informers list afresh; the restored state turns that
// first list into what happened while kubechanges was down (a rollout that
// finished, one that ran entirely, a Service deleted, one created) instead
// of a blank baseline, and reports nothing twice. With audit on too, the
// batches the apiserver re-sends after the restart name the actors.

const brief = (c: Change): string => `${c.type} ${c.outcome} ${c.object.kind} ${c.object.name} by ${c.actor?.username ?? null}`

async function scenario (t: Test, withAudit: boolean): Promise<{ before: Change[], after: Change[], stored: Change[] }> {
  const { dir, c, api } = await mirroredCluster(t, 'kc-watch-restart-')
  // Running before kubechanges starts: web (with its Service) and api.
  c.service(USERS.alice, 'shop', 'web', { app: 'web' })
  c.service(USERS.alice, 'shop', 'old', { app: 'old' })
  c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1.4', 2))
  c.runDeploymentController('shop', 'web', { service: 'web' })
  c.create(USERS.bob, R.deployments, c.deploymentObject('shop', 'api', 'api:1', 1))
  c.runDeploymentController('shop', 'api')
  c.take()
  let a = await testApp({ dir, start: c.t })
  let w = await watchFor(a, api)
  const post = async (): Promise<void> => {
    const events = c.take()
    if (withAudit) t.equal((await a.post(eventList(events))).statusCode, 200)
  }
  // A rollout of web starts and is half done when kubechanges is killed.
  c.advance(60_000)
  a.clock.now = c.t
  c.setImage(USERS.alice, 'shop', 'web', 'web:1.5')
  c.runDeploymentController('shop', 'web', { service: 'web', stall: true })
  await until(() => w.informers.every(i => i.informer.list().length === api.list(i.path).length), 'informers converge')
  await sleep(50)
  await post()
  await a.advance(10_000)
  const before = [...a.printed]
  // SIGKILL: the informers die with the process, the store is closed under it.
  await w.stop()
  a.app.store.close()

  // While it is down: web's rollout completes, api rolls out entirely, old is deleted, fresh is created.
  c.advance(30_000)
  c.update(CONTROLLERS.deployment, R.deployments, 'shop', 'web', o => {
    o.status = { ...o.status, observedGeneration: o.metadata.generation, replicas: 2, updatedReplicas: 2, availableReplicas: 2, readyReplicas: 2 }
  }, { sub: 'status' })
  c.setImage(USERS.bob, 'shop', 'api', 'api:2')
  c.runDeploymentController('shop', 'api')
  c.delete(USERS.bob, R.services, 'shop', 'old')
  c.service(USERS.alice, 'shop', 'fresh', { app: 'fresh' })
  const downtime = c.take()
  c.advance(30_000)

  a = await testApp({ dir, start: c.t })
  t.teardown(a.close)
  w = await watchFor(a, api)
  t.teardown(w.stop)
  // The apiserver re-sends the audit batches the dead process never answered.
  if (withAudit) t.equal((await a.post(eventList(downtime))).statusCode, 200)
  for (let i = 0; i < 8; i++) await a.advance(10_000)
  return { before, after: [...a.printed], stored: a.stored() }
}

// Real processes and informers on a busy 2-core machine.
t.setTimeout(10 * 60_000)

t.test('watch only: a crash mid-rollout, changes made while down come from the first list, once', async t => {
  const r = await scenario(t, false)
  t.same(r.before.map(brief), [], 'nothing finished before the crash')
  t.same(r.after.map(brief).sort(), [
    'create applied Service fresh by null',
    'delete applied Service old by null',
    'rollout succeeded Deployment api by null',
    'rollout succeeded Deployment web by null'
  ].sort(), 'no actors without audit or admission')
  t.same(r.stored.map(c => c.id).sort(), [...r.before, ...r.after].map(c => c.id).sort(), 'each printed once')
  const web = r.after.find(c => c.object.name === 'web')!
  t.same(web.details.images, [{ container: 'web', from: 'web:1.4', to: 'web:1.5' }], 'the rollout opened before the crash keeps its images')
})

t.test('watch and audit: the re-sent audit batches name who did what while kubechanges was down', async t => {
  const r = await scenario(t, true)
  t.same(r.after.map(brief).sort(), [
    'create applied Service fresh by alice@example.com',
    'delete applied Service old by bob@example.com',
    'rollout succeeded Deployment api by bob@example.com',
    'rollout succeeded Deployment web by alice@example.com'
  ].sort())
  t.same(r.stored.map(c => c.id).sort(), [...r.before, ...r.after].map(c => c.id).sort(), 'each printed once')
})
