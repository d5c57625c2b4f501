// The Teams sink against a Teams-Workflows-shaped receiver: it accepts only
// what a Workflows "post to a channel when a webhook request is received"
// trigger accepts (a message with Adaptive Card attachments) and answers 202.

import t from 'tap'
import { buildDigest } from '../../src/notify/digest.js'
import { createRig } from '../helpers/delivery.js'
import { jobChange, rolloutChange } from '../helpers/changes.js'
import { startReceiver, type ReceivedRequest } from '../helpers/receiver.js'
import { createTeamsSink } from '../../src/notify/teams.js'

/** 202 for a well-formed Workflows message, 400 otherwise (as the Workflows trigger does for a bad schema). */
function workflows (fail: (n: number) => boolean = () => false) {
  return (n: number, r: ReceivedRequest): number => {
    if (fail(n)) return 502
    try {
      const m = JSON.parse(r.body)
      const a = m.attachments?.[0]
      const ok = m.type === 'message' && a?.contentType === 'application/vnd.microsoft.card.adaptive' &&
        a.content?.type === 'AdaptiveCard' && a.content.version === '1.4' && Array.isArray(a.content.body)
      return ok ? 202 : 400
    } catch {
      return 400
    }
  }
}

function card (r: ReceivedRequest): any { return JSON.parse(r.body).attachments[0].content }

function facts (c: any): Record<string, string> {
  const fs = c.body.find((b: any) => b.type === 'FactSet').facts as Array<{ title: string, value: string }>
  return Object.fromEntries(fs.map(f => [f.title, f.value]))
}

t.test('one Adaptive Card per change, retried after the receiver fails', async t => {
  const r = await startReceiver(t, workflows(n => n === 0), '/workflows/abc/triggers/manual/paths/invoke?sig=SECRET')
  const rig = createRig({
    notify: { externalURL: 'https://kc.example.com', sinks: [{ name: 'teams', type: 'teams', url: r.url }] },
    backoff: { initialMs: 1000, maxMs: 1000, maxAttempts: 3 }
  })
  t.teardown(() => rig.close())
  const c = rolloutChange({ id: 'r-1', cluster: 'prod-eu' })
  rig.dispatcher.enqueue(c)
  await rig.dispatcher.drain()
  const [d] = rig.outbox.deliveriesFor('r-1')
  t.match(d, { state: 'pending', lastError: 'teams sink "teams": HTTP 502 Bad Gateway' })
  t.notMatch(d.lastError, 'SECRET', 'the URL (a secret) is never in an error')
  rig.clock.now += 1000
  await rig.dispatcher.drain()
  t.same(r.got.map(g => g.status), [502, 202])
  const content = card(r.got[1])
  t.equal(content.$schema, 'http://adaptivecards.io/schemas/adaptive-card.json')
  t.equal(content.body[0].text, '[prod-eu] shop/web rollout succeeded: web 1.4.0 → 1.5.0 by alice')
  t.equal(content.body[0].color, 'Good')
  t.same(facts(content), {
    Cluster: 'prod-eu',
    Object: 'Deployment shop/web',
    Change: 'rollout',
    Outcome: 'succeeded',
    Actor: 'alice',
    Duration: '38 s',
    Revision: '7',
    Detail: 'web: registry.example.com/shop/web:1.4.0 → registry.example.com/shop/web:1.5.0'
  })
  t.same(content.actions, [{ type: 'Action.OpenUrl', title: 'View change', url: 'https://kc.example.com/changes/r-1' }])
})

t.test('a failed job is in Attention colour; a text template sets the title', async t => {
  const r = await startReceiver(t, workflows())
  const rig = createRig({ notify: { sinks: [{ name: 'teams', type: 'teams', url: r.url, template: { text: '{{ change.object.name }} {{ change.outcome | upcase }} ({{ cluster | default: "no cluster" }})' } }] } })
  t.teardown(() => rig.close())
  rig.dispatcher.enqueue(jobChange({ id: 'j-1' }))
  await rig.dispatcher.drain()
  const content = card(r.got[0])
  t.equal(r.got[0].status, 202)
  t.match(content.body[0], { text: 'nightly-report FAILED (no cluster)', color: 'Attention' })
  t.equal(facts(content).Reason, 'BackoffLimitExceeded')
  t.notOk('actions' in content, 'no link without an externalURL')
})

t.test('a digest card lists every change with its outcome', async t => {
  const r = await startReceiver(t, workflows())
  const sink = createTeamsSink({ name: 'teams', url: r.url, externalURL: 'https://kc.example.com' })
  const members = ['a', 'b', 'c'].map((name, i) => rolloutChange({ type: 'restart', outcome: i === 1 ? 'failed' : 'succeeded', object: { name, namespace: 'storm' } }))
  await sink.deliverDigest(buildDigest('teams', members, Date.parse('2025-01-01T10:00:00Z'), Date.parse('2025-01-01T10:01:00Z')))
  t.equal(r.got[0].status, 202)
  const content = card(r.got[0])
  t.match(content.body[0], { text: 'alice restarted 3 Deployments in storm: 2 succeeded, 1 failed', color: 'Attention' })
  t.same(facts(content), { 'storm/a': 'succeeded', 'storm/b': 'failed', 'storm/c': 'succeeded' })
  t.equal(content.actions[0].url, 'https://kc.example.com/changes?type=restart&user=alice&since=2025-01-01T10%3A00%3A00.000Z')
})
