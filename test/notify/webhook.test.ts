// The webhook sink against a real local HTTP receiver.

import t from 'tap'
import type { Test } from 'tap'
import http from 'node:http'
import type { IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { errors } from '../../src/errors.js'
import { buildDigest } from '../../src/notify/digest.js'
import { createWebhookSink } from '../../src/notify/webhook.js'
import { endpointsChange, rolloutChange } from '../helpers/changes.js'
import { createRig } from '../helpers/delivery.js'

interface Received { headers: IncomingHttpHeaders; body: unknown; status: number }

async function receiver (t: Test, respond: (n: number) => number | 'hang') {
  const got: Received[] = []
  let n = 0
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const status = respond(n++)
      if (status === 'hang') return
      got.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')), status })
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 500 ? 'secret-echo Bearer tok-123' : 'ok')
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  const port = (server.address() as AddressInfo).port
  return { got, url: `http://127.0.0.1:${port}/hooks/T000/B000/XXXXTOKEN` }
}

t.test('fails (500) then succeeds: delivered once, headers present', async t => {
  const r = await receiver(t, n => n === 0 ? 500 : 200)
  const rig = createRig({
    notify: {
      externalURL: 'https://kc.example.com',
      sinks: [{ name: 'hook', type: 'webhook', url: r.url, headers: { Authorization: 'Bearer tok-123', 'X-Team': 'shop' }, timeoutMs: 2000 }]
    },
    backoff: { initialMs: 1000, maxMs: 10_000, maxAttempts: 5 }
  })
  t.teardown(() => rig.close())
  const c = rolloutChange({ id: 'hook-1' })
  rig.dispatcher.enqueue(c)
  await rig.dispatcher.drain()
  const [d] = rig.outbox.deliveriesFor(c.id)
  t.match(d, { state: 'pending', attempts: 1, lastError: 'webhook sink "hook": HTTP 500 Internal Server Error' })
  t.notMatch(d.lastError, 'tok-123')
  t.notMatch(d.lastError, 'XXXXTOKEN')

  rig.clock.now += 10_000
  await rig.dispatcher.drain()
  rig.dispatcher.enqueue(c)
  rig.clock.now += 10_000
  await rig.dispatcher.drain()
  t.match(rig.outbox.deliveriesFor(c.id), [{ state: 'delivered', attempts: 2 }])
  t.same(r.got.map(g => g.status), [500, 200], 'one failed and one accepted request')
  const ok = r.got[1]
  t.equal(ok.headers.authorization, 'Bearer tok-123')
  t.equal(ok.headers['x-team'], 'shop')
  t.equal(ok.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(ok.headers['idempotency-key'], 'hook-1')
  t.same(ok.body, { apiVersion: 'kubechanges.io/v1', kind: 'Change', change: c })
  t.notMatch(rig.logs.join(''), 'tok-123')
})

t.test('slack format', async t => {
  const r = await receiver(t, () => 200)
  const sink = createWebhookSink({ name: 'slack', url: r.url, format: 'slack', externalURL: 'https://kc.example.com/' })
  await sink.deliver(endpointsChange({ id: 'ep-1' }))
  const body = r.got[0].body as { text: string; blocks: Array<{ type: string; elements?: Array<{ text: string }> }> }
  t.equal(body.text, 'shop/db endpoints changed: +10.1.2.3 −10.1.2.9 by unknown')
  t.same(body.blocks.map(b => b.type), ['header', 'section', 'section', 'section', 'context'])
  t.match(body.blocks.at(-1)?.elements?.[0].text, '<https://kc.example.com/changes/ep-1|View change>')
})

t.test('timeouts and network errors: DELIVERY_FAILED naming neither URL nor headers', async t => {
  const r = await receiver(t, () => 'hang')
  const slow = createWebhookSink({ name: 'slow', url: r.url, headers: { Authorization: 'Bearer tok-123' }, timeoutMs: 50 })
  await t.rejects(slow.deliver(rolloutChange()), { code: errors.DELIVERY_FAILED.code, message: 'webhook sink "slow": timed out' })

  const down = createWebhookSink({ name: 'down', url: 'http://127.0.0.1:1/hooks/XXXXTOKEN' })
  const err = await down.deliver(rolloutChange()).then(() => undefined, (e: unknown) => e) as Error & { code: string }
  t.equal(err.code, errors.DELIVERY_FAILED.code)
  t.match(err.message, /^webhook sink "down": request failed/)
  t.notMatch(err.message, 'XXXXTOKEN')
})

t.test('redirects are not followed', async t => {
  const r = await receiver(t, () => 307)
  const sink = createWebhookSink({ name: 'r', url: r.url })
  await t.rejects(sink.deliver(rolloutChange()), { message: /HTTP 307/ })
})

t.test('bad URLs are config errors', async t => {
  t.throws(() => createWebhookSink({ name: 'x', url: 'not a url' }), { code: errors.BAD_CONFIG.code })
  t.throws(() => createWebhookSink({ name: 'x', url: 'ftp://h/x' }), { code: errors.BAD_CONFIG.code })
})

t.test('a digest: the versioned Digest document, or one Slack message listing the changes', async t => {
  const r = await receiver(t, () => 200)
  const members = ['a', 'b'].map(name => rolloutChange({ type: 'restart', cluster: 'c1', object: { name, namespace: 'storm' } }))
  const d = buildDigest('hook', members, Date.parse('2025-01-01T10:00:00Z'), Date.parse('2025-01-01T10:01:00Z'))
  await createWebhookSink({ name: 'hook', url: r.url }).deliverDigest(d)
  await createWebhookSink({ name: 'slack', url: r.url, format: 'slack', externalURL: 'https://kc.example.com' }).deliverDigest(d)
  t.same(r.got[0].body, { apiVersion: 'kubechanges.io/v1', kind: 'Digest', digest: JSON.parse(JSON.stringify(d)) })
  t.equal(r.got[0].headers['idempotency-key'], d.id)
  const slack = r.got[1].body as { text: string; blocks: Array<{ text?: { text: string } }> }
  t.equal(slack.text, '[c1] alice restarted 2 Deployments in storm: 2 succeeded')
  t.equal(slack.blocks[1].text?.text, `• <https://kc.example.com/changes/${members[0].id}|storm/a Deployment: succeeded>\n• <https://kc.example.com/changes/${members[1].id}|storm/b Deployment: succeeded>`)
})
