import t from 'tap'
import {
  changeLink, formatDuration, messageIdFor, renderHtml, renderSubject, renderText, slackPayload, webhookPayload
} from '../../src/notify/render.js'
import {
  createChange, deleteChange, endpointsChange, jobChange, makeChange, rolloutChange, scaleChange
} from '../helpers/changes.js'

t.test('subjects a person can triage from, for every change type', async t => {
  t.equal(renderSubject(rolloutChange()), '[kubechanges] shop/web rollout succeeded: web 1.4.0 → 1.5.0 by alice')
  t.equal(renderSubject(scaleChange()), '[kubechanges] shop/web scale succeeded: 3 → 5 replicas by alice')
  t.equal(renderSubject(jobChange()), '[kubechanges] batch/nightly-report job failed: BackoffLimitExceeded after 12 min by alice')
  t.equal(renderSubject(endpointsChange()), '[kubechanges] shop/db endpoints changed: +10.1.2.3 −10.1.2.9 by unknown')
  t.equal(renderSubject(createChange()), '[kubechanges] shop/web Service created by alice')
  t.equal(renderSubject(deleteChange()), '[kubechanges] shop/web-config ConfigMap deleted by alice')
  t.equal(renderSubject(makeChange({ details: { diff: [{ path: 'spec.replicas', from: 3, to: 5 }] } })),
    '[kubechanges] shop/web Deployment updated: spec.replicas 3 → 5 by alice')
  t.equal(renderSubject(makeChange({ details: { diff: [{ path: 'a', from: 1, to: 2 }, { path: 'b', to: 'x' }] } })),
    '[kubechanges] shop/web Deployment updated: a, b by alice')
  t.equal(renderSubject(makeChange({ object: { kind: 'ConfigMap', name: 'cfg' }, details: { keys: { added: ['A'], removed: ['C'], changed: ['B'] } } })),
    '[kubechanges] shop/cfg ConfigMap updated: keys +A ~B −C by alice')
  t.equal(renderSubject(makeChange({ type: 'restart', outcome: 'timed-out', details: { revision: 8 } })),
    '[kubechanges] shop/web restart timed out: revision 8 by alice')
  t.equal(renderSubject(makeChange({ type: 'create', object: { kind: 'Namespace', namespace: '', name: 'foo' } })),
    '[kubechanges] foo Namespace created by alice', 'cluster-scoped: no namespace prefix')
})

t.test('rollout subjects: failures, digests, added containers, no actor', async t => {
  const c = rolloutChange({
    outcome: 'failed',
    actor: null,
    details: {
      reason: 'ProgressDeadlineExceeded',
      images: [
        { container: 'web', from: 'web@sha256:0123456789abcdef0123', to: 'web:1.5' },
        { container: 'envoy', from: null, to: 'envoyproxy/envoy:v1.30.1' }
      ]
    }
  })
  t.equal(renderSubject(c), '[kubechanges] shop/web rollout failed: web @sha256:0123456789ab → 1.5, +envoy v1.30.1 (ProgressDeadlineExceeded) by unknown')
  const moved = rolloutChange({ details: { images: [{ container: 'web', from: 'old.example.com/web:1.5', to: 'new.example.com:5000/shop/web:1.5' }] } })
  t.equal(renderSubject(moved), '[kubechanges] shop/web rollout succeeded: web old.example.com/web:1.5 → new.example.com:5000/shop/web:1.5 by alice',
    'same tag and name: full references')
  const renamed = rolloutChange({ details: { images: [{ container: 'web', from: 'shop/web:1.5', to: 'shop/web-next:1.5' }] } })
  t.equal(renderSubject(renamed), '[kubechanges] shop/web rollout succeeded: web web:1.5 → web-next:1.5 by alice', 'same tag: names shown')
  const untagged = rolloutChange({ details: { images: [{ container: 'web', from: 'registry:5000/web', to: 'registry:5000/web:2' }] } })
  t.equal(renderSubject(untagged), '[kubechanges] shop/web rollout succeeded: web latest → 2 by alice', 'a registry port is not a tag')
  t.equal(renderSubject(rolloutChange({ outcome: 'open', details: { revision: 3 } })), '[kubechanges] shop/web rollout in progress: revision 3 by alice')
})

t.test('subjects are one line and bounded', async t => {
  const c = makeChange({ object: { name: 'web\r\nBcc: evil@example.com' }, summary: 'x' })
  const s = renderSubject(c)
  t.notMatch(s, /[\r\n]/)
  const long = makeChange({ object: { name: 'n'.repeat(1000) } })
  t.ok(renderSubject(long).length <= 250)
})

t.test('text body: summary, actor, diff table, images, replicas, timeline, link', async t => {
  const c = rolloutChange()
  const link = changeLink('https://kc.example.com/', c.id)
  t.equal(link, `https://kc.example.com/changes/${c.id}`)
  const text = renderText(c, link)
  t.match(text, c.summary)
  t.match(text, /Actor: +alice \(groups: system:authenticated\)/)
  t.match(text, /FIELD +FROM +TO/)
  t.match(text, /spec\.template\.spec\.containers\[0\]\.image +registry\.example\.com\/shop\/web:1\.4\.0 +registry\.example\.com\/shop\/web:1\.5\.0/)
  t.match(text, /web: registry\.example\.com\/shop\/web:1\.4\.0 → registry\.example\.com\/shop\/web:1\.5\.0/)
  t.match(text, /Replicas: +desired 4, ready 4, available 4, updated 4/)
  t.match(text, /Timeline/)
  t.match(text, /Deployment web\/status +4\/4 available/)
  t.match(text, `View this change: https://kc.example.com/changes/${c.id}`)
  t.notMatch(renderText(c), /View this change/, 'no link without externalURL')
  t.equal(changeLink(undefined, c.id), undefined)

  const ep = renderText(endpointsChange())
  t.match(ep, /Endpoints\n {2}db: \+10\.1\.2\.3 −10\.1\.2\.9/)
  t.match(ep, /Actor: +unknown/)
})

t.test('HTML body escapes everything from the change', async t => {
  const c = makeChange({
    summary: '<script>alert(1)</script> & "quotes"',
    object: { name: 'web<b>' },
    actor: { username: 'eve<img src=x onerror=alert(1)>', groups: [] },
    details: { diff: [{ path: 'metadata.annotations.x', from: '<a href="javascript:1">', to: "it's" }] },
    timeline: [{ at: '2025-01-01T00:00:00Z', source: 'audit', action: 'patch', kind: 'Deployment', name: 'web<b>', note: '<i>n</i>' }]
  })
  const link = changeLink('https://kc.example.com', 'id"><script>')
  const html = renderHtml(c, link)
  t.notMatch(html, /<script>/)
  t.notMatch(html, /<img/)
  t.notMatch(html, /<a href="javascript/)
  t.notMatch(html, /<i>n<\/i>/)
  t.match(html, '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;')
  t.match(html, 'eve&lt;img src=x onerror=alert(1)&gt;')
  t.match(html, 'it&#39;s')
  t.match(html, 'href="https://kc.example.com/changes/id%22%3E%3Cscript%3E"')
  t.match(html, /<table/)
})

t.test('Message-ID is deterministic and valid', async t => {
  const c = makeChange({ id: 'a1b2-c3' })
  t.equal(messageIdFor(c, 'example.com'), '<kubechanges.a1b2-c3@example.com>')
  t.equal(messageIdFor(c, 'example.com'), messageIdFor(makeChange({ id: 'a1b2-c3', summary: 'other' }), 'example.com'))
  t.equal(messageIdFor(makeChange({ id: 'uid:rollout:7' }), 'example.com'), '<kubechanges.uid=3Arollout=3A7@example.com>')
  t.not(messageIdFor(makeChange({ id: 'a:b' }), 'x'), messageIdFor(makeChange({ id: 'a=3Ab' }), 'x'), 'encoding is injective')
})

t.test('webhook payload is versioned', async t => {
  const c = rolloutChange()
  t.same(webhookPayload(c), { apiVersion: 'kubechanges.io/v1', kind: 'Change', change: c })
})

t.test('slack payload: text and blocks', async t => {
  const c = rolloutChange({ summary: 'a <b> & c' })
  const p = slackPayload(c, 'https://kc.example.com/changes/x')
  t.equal(p.text, 'shop/web rollout succeeded: web 1.4.0 → 1.5.0 by alice')
  t.equal(p.blocks[0].type, 'header')
  t.match(JSON.stringify(p.blocks), 'a &lt;b&gt; &amp; c')
  t.match(JSON.stringify(p.blocks), '<https://kc.example.com/changes/x|View change>')
  t.ok(p.blocks.some(b => b.type === 'section' && Array.isArray(b.fields)))
})

t.test('durations', async t => {
  t.equal(formatDuration(500), '1 s')
  t.equal(formatDuration(38_000), '38 s')
  t.equal(formatDuration(12 * 60_000 + 5_000), '12 min')
  t.equal(formatDuration(3 * 3_600_000 + 60_000), '3 h 1 min')
})
