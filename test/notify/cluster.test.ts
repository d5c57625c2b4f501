// Cluster identity: KUBECHANGES_CLUSTER (or config `cluster`) names the
// cluster on every Change, in /changes and its ?cluster= filter, and at the
// start of every mail subject. Unset: nothing added.

import t from 'tap'
import { errors } from '../../src/errors.js'
import { loadConfig } from '../../src/config.js'
import { eventList, testApp } from '../helpers/app.js'
import { Cluster, USERS } from '../helpers/cluster.js'
import { startSmtp } from '../helpers/smtp.js'

t.test('KUBECHANGES_CLUSTER wins over the file; a name that cannot go in a subject or URI is refused', async t => {
  t.equal(loadConfig({}, { KUBECHANGES_CLUSTER: 'prod-eu' }).cluster, 'prod-eu')
  t.equal(loadConfig({}, {}).cluster, undefined)
  t.throws(() => loadConfig({}, { KUBECHANGES_CLUSTER: 'prod eu/1' }), { code: errors.BAD_CONFIG.code, message: /^KUBECHANGES_CLUSTER: expected letters, digits/ })
})

t.test('the cluster on changes, in /changes?cluster= and in mail subjects', async t => {
  const smtp = await startSmtp()
  t.teardown(smtp.close)
  const c = new Cluster()
  const env = { KUBECHANGES_SMTP_URL: smtp.url(), KUBECHANGES_MAIL_FROM: 'kc@example.com', KUBECHANGES_MAIL_TO: 'ops@example.com' }
  const a = await testApp({ start: c.t, env, config: { cluster: 'prod-eu' } })
  t.teardown(a.close)
  c.service(USERS.alice, 'shop', 'web', { app: 'web' })
  a.clock.now = c.t
  t.equal((await a.post(eventList(c.take()))).statusCode, 200)
  await a.advance(10_000)
  const [change] = a.stored()
  t.equal(change.cluster, 'prod-eu')
  t.same(smtp.mails.map(m => m.parsed.subject), ['[prod-eu] shop/web Service created by alice@example.com'])
  t.match(smtp.mails[0].parsed.text, /^Cluster: +prod-eu$/m)
  const list = (q: string) => a.app.server.inject(`/changes${q}`).then(r => r.json())
  t.same((await list('?cluster=prod-eu')).items.map((x: any) => [x.id, x.cluster]), [[change.id, 'prod-eu']])
  t.same((await list('?cluster=staging')).items, [])
  t.equal((await a.app.server.inject('/changes?cluster=')).statusCode, 400)
})

t.test('no cluster configured: no field, subjects as before', async t => {
  const smtp = await startSmtp()
  t.teardown(smtp.close)
  const c = new Cluster()
  const env = { KUBECHANGES_SMTP_URL: smtp.url(), KUBECHANGES_MAIL_FROM: 'kc@example.com', KUBECHANGES_MAIL_TO: 'ops@example.com' }
  const a = await testApp({ start: c.t, env })
  t.teardown(a.close)
  c.service(USERS.alice, 'shop', 'web', { app: 'web' })
  a.clock.now = c.t
  await a.post(eventList(c.take()))
  await a.advance(10_000)
  t.notOk('cluster' in a.stored()[0])
  t.same(smtp.mails.map(m => m.parsed.subject), ['[kubechanges] shop/web Service created by alice@example.com'])
})
