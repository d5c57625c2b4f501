import t from 'tap'
import { Cluster, R, USERS, watchObservation } from '../helpers/cluster.js'
import { eventList, testApp } from '../helpers/app.js'
import type { Observation } from '../../src/model.js'

// The watch's first list shows objects as they are; the audit events of the
// writes that made them may still be in the apiserver's webhook buffer. Those
// are history, never a change; a later write is.

const listed = (obj: any): Observation => watchObservation(R.configmaps, obj, 'create', Date.parse(obj.metadata.creationTimestamp))

t.test('an audit event of a write the first list already showed opens nothing; the next write is a change', async t => {
  const c = new Cluster()
  const a = await testApp({ start: c.t })
  t.teardown(() => a.close())
  c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'shop' }, data: { mode: 'a' } })
  c.patch(USERS.alice, R.configmaps, 'shop', 'app', { data: { mode: 'b' } }, o => { o.data.mode = 'b' })
  const late = c.take()
  // The watch lists the object after both writes, before their audit events arrive.
  a.app.inTransaction(() => { a.app.pipeline.baseline(listed(c.get(R.configmaps, 'shop', 'app'))) })
  c.advance(2000)
  t.equal((await a.post(eventList(late))).statusCode, 200)
  await a.advance(60_000)
  t.same(a.stored(), [], 'the create and the patch the list already showed are history')
  c.patch(USERS.bob, R.configmaps, 'shop', 'app', { data: { mode: 'c' } }, o => { o.data.mode = 'c' })
  await a.post(eventList(c.take()))
  await a.advance(60_000)
  t.same(a.stored().map(x => [x.type, x.object.name, x.actor?.username, x.details.diff]), [
    // (A ConfigMap's values are never shown: the path only.)
    ['update', 'app', USERS.bob.username, [{ path: 'data.mode' }]]
  ])
})
