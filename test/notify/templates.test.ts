// Liquid templates per sink: checked when the config is read (a broken
// template is a configuration error naming the sink and the line, and
// `kubechanges serve` exits 2), rendered into real mails and webhook bodies.

import t from 'tap'
import { errors } from '../../src/errors.js'
import { main } from '../../src/cli.js'
import { parseNotifyConfig } from '../../src/notify/config.js'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRig } from '../helpers/delivery.js'
import { endpointsChange, rolloutChange } from '../helpers/changes.js'
import { startSmtp } from '../helpers/smtp.js'
import { startReceiver } from '../helpers/receiver.js'

function mailSink (template: unknown, url = 'smtp://127.0.0.1:2525'): unknown {
  return { sinks: [{ name: 'ops-mail', type: 'email', url, from: 'kc@example.com', to: ['ops@example.com'], template }] }
}

t.test('template errors are configuration errors naming the sink, the part and the line', async t => {
  const bad = (template: unknown, message: RegExp): void => {
    t.throws(() => parseNotifyConfig(mailSink(template), {}), { code: errors.BAD_CONFIG.code, message })
  }
  bad({ text: 'Hello\n{% if change.outcome == "failed" %}\nbroken' }, /^notify\.sinks\[0\]\.template\.text \(sink "ops-mail"\): line 2: tag \{% if change\.outcome == "failed" %\} not closed$/)
  bad({ subject: '{{ change.id | shout }}' }, /^notify\.sinks\[0\]\.template\.subject \(sink "ops-mail"\): line 1: undefined filter: shout$/)
  bad({ html: '<p>\n\n{{ chnage.summary }}</p>' }, /^notify\.sinks\[0\]\.template\.html \(sink "ops-mail"\): line 3: unknown variable "chnage" \(known: change, cluster, link\)$/)
  bad({ text: '{{ change.object.nmae }}' }, /line 1: unknown field of change\.object "nmae" \(known: kind, namespace, name, uid\)/)
  bad({ text: '{{ change.detail.reason }}' }, /unknown field of change "detail"/)
  bad({ body: 'x' }, /^notify\.sinks\[0\]\.template\.body: unknown key \(allowed: subject, text, html\)/)
  bad({ text: 42 }, /^notify\.sinks\[0\]\.template\.text: must be a string/)
  t.throws(() => parseNotifyConfig({ sinks: [{ name: 'ce', type: 'cloudevents', url: 'http://x/', template: { text: 'x' } }] }, {}),
    { message: /^notify\.sinks\[0\]\.template: unknown key/ }, 'CloudEvents data is the Change: no template')
  t.throws(() => parseNotifyConfig({ sinks: [{ name: 'h', type: 'webhook', url: 'http://x/', template: { subject: 'x' } }] }, {}),
    { message: /^notify\.sinks\[0\]\.template\.subject: unknown key \(allowed: text\)/ })
  // Loops, assigns and list properties are fine.
  t.doesNotThrow(() => parseNotifyConfig(mailSink({ text: '{% for e in change.timeline %}{{ e.at }} {{ forloop.index }}{% endfor %}{% assign n = change.auditIDs | size %}{{ n }} {{ change.details.images.first.to }}' }), {}))
})

t.test('kubechanges serve with a broken template exits 2 and names the sink and line', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-tpl-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'config.yaml')
  writeFileSync(file, [
    'notify:',
    '  sinks:',
    '    - name: chat',
    '      type: webhook',
    '      url: http://127.0.0.1:9/hook',
    '      template:',
    '        text: "{{ change.summary }}\\n{{ change.summary | nope }}"'
  ].join('\n'))
  const err: string[] = []
  const code = await main(['serve', '--config', file, '--store', join(dir, 'kc.db'), '--port', '0'], { out: () => {}, err: l => err.push(l), env: {} })
  t.equal(code, 2)
  t.same(err, ['kubechanges: KC_BAD_CONFIG: notify.sinks[0].template.text (sink "chat"): line 2: undefined filter: nope'])
})

t.test('a templated mail: subject, text and escaped HTML from the template; cluster and link in scope', async t => {
  const smtp = await startSmtp()
  t.teardown(smtp.close)
  const rig = createRig({
    notify: {
      externalURL: 'https://kc.example.com',
      ...mailSink({
        subject: '{{ cluster | upcase }}: {{ change.object.name }} {{ change.type }} {{ change.outcome }}',
        text: 'Hi team,\n{{ change.summary }}\n{% for i in change.details.images %}{{ i.container }} now {{ i.to }}\n{% endfor %}{{ link }}',
        html: '<p>{{ change.summary }}</p><p>{{ change.actor.username }}</p>'
      }, smtp.url()) as object
    }
  })
  t.teardown(() => rig.close())
  rig.dispatcher.enqueue(rolloutChange({ id: 'tpl-1', cluster: 'prod-eu', summary: 'web <b>rolled</b> out', actor: { username: 'alice', groups: [] } }))
  await rig.dispatcher.drain()
  const m = smtp.mails[0].parsed
  t.equal(m.subject, 'PROD-EU: web rollout succeeded')
  t.equal(m.text, 'Hi team,\nweb <b>rolled</b> out\nweb now registry.example.com/shop/web:1.5.0\nhttps://kc.example.com/changes/tpl-1')
  t.equal(m.html, '<p>web &lt;b&gt;rolled&lt;/b&gt; out</p><p>alice</p>', 'HTML values are escaped')
  t.equal(m.messageId, '<kubechanges.tpl-1@example.com>')
})

t.test('only a subject template: the built-in bodies stay; a missing optional field renders empty', async t => {
  const smtp = await startSmtp()
  t.teardown(smtp.close)
  const rig = createRig({ notify: mailSink({ subject: '[{{ cluster }}] {{ change.actor.username }}{{ change.object.name }}' }, smtp.url()) })
  t.teardown(() => rig.close())
  rig.dispatcher.enqueue(endpointsChange({ id: 'ep-1' }))
  await rig.dispatcher.drain()
  const m = smtp.mails[0].parsed
  t.equal(m.subject, '[] db', 'no actor, no cluster: empty, not an error')
  t.match(m.text, 'shop/db endpoints changed')
  t.match(String(m.html), /<table/)
})

t.test('webhook text template: Slack text and header, or a text field in the JSON document', async t => {
  const r = await startReceiver(t)
  const rig = createRig({
    notify: {
      sinks: [
        { name: 'slack', type: 'webhook', format: 'slack', url: r.url, template: { text: ':rocket: {{ change.object.namespace }}/{{ change.object.name }} {{ change.outcome }}' } },
        { name: 'json', type: 'webhook', url: r.url, template: { text: '{{ change.summary | truncate: 12 }}' } }
      ]
    }
  })
  t.teardown(() => rig.close())
  const c = rolloutChange({ id: 'wh-1' })
  rig.dispatcher.enqueue(c)
  await rig.dispatcher.drain()
  const bodies = r.got.map(g => JSON.parse(g.body))
  const slack = bodies.find(b => b.blocks !== undefined)
  const json = bodies.find(b => b.kind === 'Change')
  t.equal(slack.text, ':rocket: shop/web succeeded')
  t.equal(slack.blocks[0].text.text, ':rocket: shop/web succeeded')
  t.same(json, { apiVersion: 'kubechanges.io/v1', kind: 'Change', change: c, text: 'shop/web ...' })
})
