// Dead deliveries retried by an operator: POST /changes/:id/redeliver
// (token-protected like /changes) and `kubechanges redeliver`, through the
// real app, against a real HTTP receiver that is down and comes back.

import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { main } from '../../src/cli.js'
import { eventList, testApp } from '../helpers/app.js'
import { Cluster, USERS } from '../helpers/cluster.js'
import { startReceiver } from '../helpers/receiver.js'

t.test('dead deliveries: shown in GET /changes/:id, retried by the API and the CLI', async t => {
  let up = false
  const r = await startReceiver(t, () => up ? 200 : 503)
  const dir = t.testdir()
  writeFileSync(join(dir, 'token'), 's3cret\n')
  const c = new Cluster()
  const a = await testApp({
    start: c.t,
    config: {
      port: 0,
      apiTokenFile: join(dir, 'token'),
      notify: { sinks: [{ name: 'hook', type: 'webhook', url: r.url }], delivery: { maxAttempts: 2, initialBackoffMs: 1000, maxBackoffMs: 1000 } }
    }
  })
  t.teardown(a.close)
  const auth = { authorization: 'Bearer s3cret' }
  c.service(USERS.alice, 'shop', 'web', { app: 'web' })
  c.service(USERS.alice, 'shop', 'db', { app: 'db' })
  a.clock.now = c.t
  t.equal((await a.post(eventList(c.take()))).statusCode, 200)
  await a.advance(10_000)
  await a.advance(1_000)
  const [web, db] = ['web', 'db'].map(n => a.stored().find(x => x.object.name === n)!)
  const state = async (id: string): Promise<any> => (await a.app.server.inject({ url: `/changes/${encodeURIComponent(id)}`, headers: auth })).json().deliveries
  t.match(await state(web.id), [{ sink: 'hook', state: 'dead', attempts: 2, lastError: 'webhook sink "hook": HTTP 503 Service Unavailable' }])

  const redeliver = (id: string, headers: Record<string, string> = auth, query = '') =>
    a.app.server.inject({ method: 'POST', url: `/changes/${encodeURIComponent(id)}/redeliver${query}`, headers })
  let res = await redeliver(web.id, {})
  t.equal(res.statusCode, 401)
  t.same(res.json(), { code: 'KC_UNAUTHORIZED', message: 'a bearer token is required for /changes' })
  res = await redeliver('no-such-change')
  t.equal(res.statusCode, 404)
  t.same(res.json(), { code: 'KC_NOT_FOUND', message: 'no change with id "no-such-change"' })
  res = await redeliver(web.id, auth, '?color=red')
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'KC_BAD_PARAMETER')

  up = true
  res = await redeliver(web.id)
  t.equal(res.statusCode, 200)
  t.match(res.json(), { id: web.id, redelivered: 1, deliveries: [{ sink: 'hook', state: 'pending', attempts: 0 }] })
  await a.advance(0)
  t.match(await state(web.id), [{ sink: 'hook', state: 'delivered', attempts: 1 }])
  t.match((await redeliver(web.id)).json(), { redelivered: 0 }, 'nothing dead: nothing to do')

  // The CLI, against the listening server.
  const address = await a.app.listen()
  const out: string[] = []
  const err: string[] = []
  const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env: {} }
  t.equal(await main(['redeliver', db.id, '--url', address, '--token-file', join(dir, 'token')], io), 0)
  t.same(out, [`${db.id}: 1 delivery queued again`, '  hook: pending, 0 attempts, last error: webhook sink "hook": HTTP 503 Service Unavailable'])
  t.same(err, [])
  await a.advance(0)
  t.match(await state(db.id), [{ sink: 'hook', state: 'delivered', attempts: 1 }])
  t.equal(r.got.filter(g => g.status === 200).length, 2, 'each change delivered once')

  out.length = 0
  t.equal(await main(['redeliver', 'nope', '--url', address, '--token-file', join(dir, 'token')], io), 1)
  t.same(err, ['kubechanges: KC_NOT_FOUND: no change with id "nope"'])
  err.length = 0
  t.equal(await main(['redeliver', db.id, '--url', address], { ...io, env: { KUBECHANGES_API_TOKEN: 'wrong' } }), 1)
  t.same(err, ['kubechanges: KC_UNAUTHORIZED: a bearer token is required for /changes'])
  err.length = 0
  t.equal(await main(['redeliver'], io), 2)
  t.match(err[0], 'redeliver takes exactly one change ID')
})
