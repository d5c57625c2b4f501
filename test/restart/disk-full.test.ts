import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildDay, runDay } from './day.js'
import { eventList, testApp } from '../helpers/app.js'
import { Cluster, R, USERS } from '../helpers/cluster.js'

// A commit the disk refuses leaves the correlator ahead of the disk. The app
// then refuses input (503, so the apiserver sends it again), fails /healthz,
// writes no snapshot from memory, and the restart continues from the disk:
// the day's changes come out exactly as in an uninterrupted run.

t.setTimeout(10 * 60_000)

t.test('the disk refusing a batch at any point of the day changes nothing once restarted', async t => {
  const day = buildDay()
  const ref = await runDay(day)
  for (let i = 0; i < day.batches.length - 1; i++) {
    const run = await runDay(day, { after: i, phase: 'quiet', mode: 'disk-full' })
    t.same(run.stored, ref.stored, `refused before batch ${i + 1}: the same changes`)
    t.same(run.delivered.map(c => c.id).sort(), ref.stored.map(c => c.id).sort(), `refused before batch ${i + 1}: each delivered exactly once`)
  }
})

t.test('a really full disk (SQLITE_FULL): 503 KC_STORE_FAILED, not alive, no snapshot; the retried batch lands after the restart', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-full-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const c = new Cluster()
  const a = await testApp({ dir, start: c.t })
  // (A Service's object is journaled whole: the write cannot fit in the file's free pages.)
  c.create(USERS.alice, R.services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'big', namespace: 'shop', annotations: { 'example.com/notes': 'x'.repeat(2 * 1024 * 1024) } }, spec: { selector: { app: 'big' }, ports: [{ port: 80 }], clusterIP: '10.96.0.10' } })
  const batch = eventList(c.take())
  const pages = a.app.store.db.pragma('page_count', { simple: true }) as number
  a.app.store.db.pragma(`max_page_count = ${pages}`)
  const refused = await a.post(batch)
  t.equal(refused.statusCode, 503)
  t.equal(refused.json.code, 'KC_STORE_FAILED')
  t.match(refused.json.message, /SQLITE_FULL/)
  t.equal((await a.app.server.inject({ url: '/healthz' })).statusCode, 503, '/healthz fails: the kubelet restarts it')
  t.equal((await a.app.server.inject({ url: '/readyz' })).json().code, 'KC_STORE_FAILED')
  await a.advance(60_000)
  t.same(a.stored(), [], 'nothing recorded')
  await a.close()
  const b = await testApp({ dir, start: a.clock.now })
  t.teardown(() => b.close())
  t.equal(b.app.restored.snapshot, false, 'no snapshot was written from memory that was ahead of the disk')
  t.equal((await b.post(batch)).statusCode, 200, 'the apiserver\'s retry is taken')
  await b.advance(60_000)
  t.same(b.stored().map(x => [x.type, x.object.name, x.actor?.username]), [['create', 'big', USERS.alice.username]])
})
