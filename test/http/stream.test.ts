import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Counter, Gauge } from 'prom-client'
import { openStream } from '../helpers/sse-client.js'
import { streamWorld as world, until } from '../helpers/stream-world.js'
import { SseParser } from '../../src/cli/sse.js'

// GET /changes/stream over real sockets: each recorded change once, resume
// with Last-Event-ID, heartbeats, the token, and a slow client dropped.

const names = (evs: Array<{ data: string }>): string[] => evs.map(e => JSON.parse(e.data).object.name)

t.test('each change once it is recorded: event, id, the Change as stored', async t => {
  const { a, base, configMaps } = await world(t)
  const s = await openStream(base)
  t.teardown(s.close)
  t.equal(s.status, 200)
  t.equal(s.headers['content-type'], 'text/event-stream; charset=utf-8')
  t.equal(s.headers['cache-control'], 'no-cache, no-transform')
  t.equal(s.headers.connection, 'close', 'ending a stream closes its socket: the server can stop without waiting on it')
  const batch = await openStream(base, { query: '?namespace=batch&kind=ConfigMap' })
  t.teardown(batch.close)

  await configMaps(['web-config', 'db-config'])
  const evs = await s.until(2)
  const stored = a.stored()
  t.same(evs.map(e => [e.event, e.id, JSON.parse(e.data)]), stored.map(c => ['change', c.id, c]), 'exactly what the store holds, in order')

  // A re-sent batch records nothing new, so nothing is sent again.
  await configMaps(['report-config'], 'batch')
  t.same(names(await batch.until(1)), ['report-config'], 'the filtered stream gets only its namespace')
  t.same(names(await s.until(3)), ['web-config', 'db-config', 'report-config'])
  t.equal(s.events.length, 3)
  t.equal(batch.events.length, 1)
  const clients = a.app.metrics.registry.getSingleMetric('kubechanges_stream_clients') as Gauge
  t.equal((await clients.get()).values[0]?.value, 2)
})

t.test('heartbeat comments keep an idle stream open', async t => {
  const { base } = await world(t, { stream: { heartbeatMs: 20 } })
  const s = await openStream(base)
  t.teardown(s.close)
  await s.untilComment(/^heartbeat$/)
  t.equal(s.events.length, 0)
})

t.test('Last-Event-ID: what was missed, in order, nothing twice', async t => {
  const { base, configMaps } = await world(t)
  const s1 = await openStream(base)
  await configMaps(['a', 'b'])
  const [, b] = await s1.until(2)
  s1.close()
  await s1.ended

  await configMaps(['c', 'd'])
  const s2 = await openStream(base, { headers: { 'last-event-id': b!.id! } })
  t.teardown(s2.close)
  t.same(names(await s2.until(2)), ['c', 'd'], 'caught up from the store')
  await configMaps(['e'])
  t.same(names(await s2.until(3)), ['c', 'd', 'e'], 'then live')
  t.equal(s2.events.length, 3)

  const s3 = await openStream(base, { headers: { 'last-event-id': s1.events[0]!.id! } })
  t.teardown(s3.close)
  t.same(names(await s3.until(4)), ['b', 'c', 'd', 'e'])

  const s4 = await openStream(base, { headers: { 'last-event-id': 'no-such-change' } })
  t.teardown(s4.close)
  await s4.untilComment(/Last-Event-ID not found/)
  await configMaps(['f'])
  t.same(names(await s4.until(1)), ['f'], 'an unknown id: from now on')
  t.same(names(await s3.until(5)), ['b', 'c', 'd', 'e', 'f'])
})

t.test('a long catch-up comes in pages and meets the live stream without a gap or a repeat', async t => {
  const { a, base, configMaps } = await world(t)
  await configMaps(['first'])
  const first = a.stored()[0]!
  const missed = Array.from({ length: 450 }, (_, i) => `cm-${String(i).padStart(3, '0')}`)
  await configMaps(missed)
  const s = await openStream(base, { headers: { 'last-event-id': first.id }, query: '?kind=ConfigMap' })
  t.teardown(s.close)
  await configMaps(['live-1'])
  const evs = await s.until(451)
  t.same(names(evs), [...missed, 'live-1'])
  t.equal(new Set(evs.map(e => e.id)).size, 451)
})

t.test('the bearer token guards the stream', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-stream-token-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  writeFileSync(join(dir, 'token'), 's3cret-token\n')
  const { base, configMaps } = await world(t, { config: { apiTokenFile: join(dir, 'token') } })
  for (const auth of [undefined, 'Bearer wrong', 'Basic s3cret-token']) {
    const s = await openStream(base, auth !== undefined ? { headers: { authorization: auth } } : {})
    t.equal(s.status, 401, String(auth))
    t.same(JSON.parse(s.body), { code: 'KC_UNAUTHORIZED', message: 'a bearer token is required for /changes' })
  }
  const s = await openStream(base, { headers: { authorization: 'Bearer s3cret-token' } })
  t.teardown(s.close)
  t.equal(s.status, 200)
  await configMaps(['web-config'])
  t.same(names(await s.until(1)), ['web-config'])
})

t.test('bad parameters: 400 naming the parameter', async t => {
  const { base } = await world(t)
  for (const [q, msg] of [['?type=deploy', /^type: /], ['?limit=5', /^limit: not a stream parameter/], ['?colour=red', /^colour: unknown/], ['?cluster=', /^cluster: /]] as const) {
    const s = await openStream(base, { query: q })
    t.equal(s.status, 400, q)
    t.equal(JSON.parse(s.body).code, 'KC_BAD_PARAMETER')
    t.match(JSON.parse(s.body).message, msg)
  }
})

t.test('a client that stops reading is dropped at the buffer limit and resumes where it stopped', async t => {
  const { a, base, configMaps } = await world(t, { stream: { maxBufferedBytes: 256 * 1024 } })
  // The slow client sends its request and then never reads.
  const url = new URL(base)
  const slow = connect(Number(url.port), url.hostname)
  slow.write('GET /changes/stream HTTP/1.1\r\nHost: kubechanges\r\n\r\n')
  slow.pause()
  const clients = a.app.metrics.registry.getSingleMetric('kubechanges_stream_clients') as Gauge
  await until(async () => (await clients.get()).values[0]?.value === 1)
  let closed = false
  slow.on('close', () => { closed = true })

  const dropped = a.app.metrics.registry.getSingleMetric('kubechanges_stream_dropped_total') as Counter
  let n = 0
  // ~80 KB changes (ConfigMaps with 2,000 keys: the key names are listed),
  // two per batch, until the kernel's socket buffers are full and the
  // server's own buffer for this client passes 256 KiB.
  while ((await dropped.get()).values[0]?.value !== 1 && n < 400) await configMaps([`big-${n++}`, `big-${n++}`], 'shop', 2000)
  t.same((await dropped.get()).values.map(v => [v.labels.reason, v.value]), [['slow', 1]], `dropped after ${n} changes`)

  // What reached the slow client before the drop, then a resume.
  let raw = ''
  slow.setEncoding('utf8')
  slow.on('data', (d: string) => { raw += d })
  slow.resume()
  await new Promise<void>(resolve => { if (closed) resolve(); else slow.once('close', () => { resolve() }) })
  // Past the response head, without the chunked encoding's size lines.
  const got = new SseParser().feed(raw.slice(raw.indexOf('\r\n\r\n') + 4).replace(/\r\n[0-9a-f]+\r\n/g, ''))
  t.ok(got.length > 0 && got.length < n, `got ${got.length} of ${n} before the drop`)
  const again = await openStream(base, { headers: { 'last-event-id': got[got.length - 1]!.id! } })
  t.teardown(again.close)
  const rest = await again.until(n - got.length)
  t.same([...names(got), ...names(rest)], a.stored().map(c => c.object.name), 'resumed: everything once, in order')
  t.equal((await clients.get()).values[0]?.value, 1, 'the dropped client is gone, the resumed one counted')
})
