import t from 'tap'
import { Cluster, USERS, R } from '../helpers/cluster.js'
import { eventList, testApp } from '../helpers/app.js'
import { AUTOCHECKPOINT_PAGES } from '../../src/store/checkpointer.js'

// WAL checkpoints run on a worker thread with its own connection, so no
// POST /audit waits for one; the serving connection keeps a high threshold
// only as a safety net.

t.test('a started app checkpoints its WAL from a worker thread, and stops it on close', async t => {
  const a = await testApp()
  a.app.start()
  t.equal(a.app.store.db.pragma('wal_autocheckpoint', { simple: true }), AUTOCHECKPOINT_PAGES, 'the serving connection only checkpoints as a safety net')
  const c = new Cluster()
  for (let i = 0; i < 20; i++) {
    c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, namespace: 'shop' }, data: { v: 'x'.repeat(2000) } })
    t.equal((await a.post(eventList(c.take()))).statusCode, 200)
  }
  const r = await a.app.checkpoint()
  t.ok(r !== undefined && !(r instanceof Error), 'the worker answered')
  const { busy, log, checkpointed } = r as { busy: number, log: number, checkpointed: number }
  t.equal(busy, 0, 'not blocked')
  t.ok(log > 0, `the WAL held ${log} frames`)
  t.equal(checkpointed, log, 'all of them copied back into the database file')
  await a.close()
  const after = await a.app.checkpoint()
  t.match(after, { message: 'checkpointer stopped' }, 'the worker is gone after close')
})

t.test('an app that was never started has no worker (tests, replay): SQLite checkpoints on its own', async t => {
  const a = await testApp()
  t.teardown(() => a.close())
  t.equal(await a.app.checkpoint(), undefined)
  t.equal(a.app.store.db.pragma('wal_autocheckpoint', { simple: true }), 1000, 'SQLite\'s default')
})
