import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSmtp } from '../helpers/smtp.js'
import { eventList, testApp } from '../helpers/app.js'
import { Cluster, USERS, R } from '../helpers/cluster.js'

// From POST /audit to a real SMTP server on loopback, configured only by the
// environment: one mail per change, none twice — not for a re-sent batch,
// not after a restart, and not when the mail server was down for a while.

function scenario (c: Cluster): void {
  c.service(USERS.alice, 'shop', 'web', { app: 'web' })
  c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1.4.0', 2))
  c.runDeploymentController('shop', 'web', { service: 'web' })
  c.advance(60_000)
  c.setImage(USERS.alice, 'shop', 'web', 'web:1.5.0')
  c.runDeploymentController('shop', 'web', { service: 'web' })
}

t.test('env-only e-mail: one mail per change, with subject, text, html and Message-ID', async t => {
  const smtp = await startSmtp({ auth: { user: 'kc', pass: 'p4ss-w0rd' } })
  t.teardown(smtp.close)
  const dir = mkdtempSync(join(tmpdir(), 'kc-mail-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const env = { KUBECHANGES_SMTP_URL: smtp.url({ user: 'kc', pass: 'p4ss-w0rd' }), KUBECHANGES_MAIL_FROM: 'kubechanges@example.com', KUBECHANGES_MAIL_TO: 'ops@example.com,dev@example.com' }
  const c = new Cluster()
  scenario(c)
  const events = c.take()

  // The mail server refuses at first.
  smtp.refuse = () => 451
  const a = await testApp({ dir, env, start: c.t, config: { externalURL: 'https://kc.example.com' } })
  await a.post(eventList(events))
  await a.advance(10_000)
  t.equal(smtp.mails.length, 0)
  t.ok(smtp.refused > 0, 'delivery was attempted and refused')
  const pending = (await a.app.server.inject(`/changes/${a.stored()[0]!.id}`)).json().deliveries
  t.same(pending.map((d: any) => [d.sink, d.state]), [['email', 'pending']])
  t.notMatch(JSON.stringify(pending) + (await a.app.server.inject('/metrics')).body, /p4ss-w0rd/, 'no password in delivery state or metrics')
  // kubechanges restarts while deliveries are pending; the server recovers.
  await a.close()
  smtp.refuse = undefined
  const b = await testApp({ dir, env, start: c.t + 3_600_000, config: { externalURL: 'https://kc.example.com' } })
  t.teardown(b.close)
  await b.advance(0)
  await b.post(eventList(events))
  await b.advance(10_000)
  await b.advance(3_600_000)
  const subjects = smtp.mails.map(m => m.parsed.subject).sort()
  t.same(subjects, [
    '[kubechanges] shop/web Deployment created by alice@example.com',
    '[kubechanges] shop/web Service created by alice@example.com',
    '[kubechanges] shop/web rollout succeeded: web 1.4.0 → 1.5.0 by alice@example.com'
  ].sort())
  t.equal(smtp.mails.length, 3, 'exactly one mail per change')
  const rollout = smtp.mails.find(m => m.parsed.subject?.includes('rollout'))!
  const change = b.stored().find(x => x.type === 'rollout')!
  t.equal(rollout.parsed.messageId, `<kubechanges.${change.id}@example.com>`)
  t.same(rollout.envelope.to.sort(), ['dev@example.com', 'ops@example.com'])
  t.match(rollout.parsed.text, change.summary)
  t.match(rollout.parsed.text, `https://kc.example.com/changes/${change.id}`)
  t.match(String(rollout.parsed.html), /<table/)
  const states = (await b.app.server.inject(`/changes/${change.id}`)).json().deliveries
  t.same(states.map((d: any) => [d.sink, d.state]), [['email', 'delivered']])
})
