// The resilient informer, driven by the real @kubernetes/client-node 1.4
// KubeConfig against the fake apiserver over loopback.

import t, { type Test } from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import { FakeApiServer, type FakeApiServerOptions } from '../../helpers/fake-apiserver.js'
import {
  createResilientInformer,
  type InformerEvent,
  type ResilientInformer,
  type ResilientInformerOptions,
  type RestartInfo
} from '../../../src/sources/watch/resilient-informer.js'
import type { K8sObject } from '../../../src/model.js'

const SHOP = '/apis/apps/v1/namespaces/shop/deployments'
const OTHER = '/apis/apps/v1/namespaces/other/deployments'
const ALL = '/apis/apps/v1/deployments'

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

async function waitFor (what: string, cond: () => boolean, timeoutMs = 4000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

function dep (name: string, replicas = 1, labels: Record<string, string> = {}): K8sObject {
  return { metadata: { name, labels }, spec: { replicas } }
}

interface Harness {
  srv: FakeApiServer
  kc: KubeConfig
  inf: ResilientInformer
  events: InformerEvent[]
  restarts: RestartInfo[]
  synced: number
  /** "TYPE name rv [relist|baseline]" for the events from index `from`. */
  seen: (from?: number) => string[]
}

async function setup (t: Test, o: { server?: FakeApiServerOptions; path?: string; informer?: Partial<ResilientInformerOptions>; before?: (srv: FakeApiServer) => void | Promise<void>; start?: boolean } = {}): Promise<Harness> {
  const srv = await FakeApiServer.create(o.server)
  const kc = new KubeConfig()
  kc.loadFromOptions(srv.kubeConfigOptions())
  await o.before?.(srv)
  const h: Partial<Harness> & { events: InformerEvent[]; restarts: RestartInfo[]; synced: number } = { srv, kc, events: [], restarts: [], synced: 0 }
  const inf = createResilientInformer({
    kc,
    path: o.path ?? ALL,
    onEvent: e => { h.events.push(e) },
    onSynced: () => { h.synced++ },
    onRestart: r => { h.restarts.push(r) },
    backoff: { initialMs: 10, maxMs: 100 },
    watchdogMs: 5000,
    ...o.informer
  })
  h.inf = inf
  h.seen = (from = 0) => h.events.slice(from).map(e =>
    `${e.type} ${e.object.metadata?.name ?? ''} ${e.object.metadata?.resourceVersion ?? ''}${e.baseline ? ' baseline' : e.relist ? ' relist' : ''}`)
  t.teardown(async () => {
    await inf.stop()
    await srv.close()
  })
  if (o.start !== false) await inf.start()
  return h as Harness
}

const rvOf = (o: K8sObject): string => o.metadata?.resourceVersion ?? ''

t.test('baseline list, then ADDED/MODIFIED/DELETED in order', async t => {
  let a: K8sObject = {}
  let b: K8sObject = {}
  const h = await setup(t, {
    before: srv => {
      a = srv.create(SHOP, dep('a'))
      b = srv.create(OTHER, dep('b'))
    }
  })
  const { srv, inf } = h
  t.equal(h.synced, 1)
  t.equal(inf.synced, true)
  t.equal(inf.state, 'synced')
  t.equal(inf.resourceVersion, String(srv.rv))
  t.type(inf.lastEventAt, 'number')
  t.same(h.seen(), [`ADDED b ${rvOf(b)} baseline`, `ADDED a ${rvOf(a)} baseline`], "in list order (namespace/name)")
  t.match(h.events[0].object, { kind: 'Deployment', apiVersion: 'apps/v1' }, 'kind/apiVersion filled in for list items')
  await waitFor('watch', () => srv.openWatches(ALL) === 1)
  const w = srv.requests().find(r => r.verb === 'watch')
  t.match(w?.query, { watch: 'true', allowWatchBookmarks: 'true', resourceVersion: String(srv.rv) })
  t.ok(Number(w?.query.timeoutSeconds) >= 300 && Number(w?.query.timeoutSeconds) < 600)

  const c = srv.create(SHOP, dep('c'))
  const a2 = srv.update(SHOP, dep('a', 2))
  const bDel = srv.delete(OTHER, 'b')
  const a3 = srv.update(SHOP, dep('a', 3))
  await waitFor('4 events', () => h.events.length === 6)
  t.same(h.seen(2), [`ADDED c ${rvOf(c)}`, `MODIFIED a ${rvOf(a2)}`, `DELETED b ${rvOf(bDel)}`, `MODIFIED a ${rvOf(a3)}`])
  t.equal(h.events[5].object.metadata?.generation, 3)
  t.same(inf.list().map(o => o.metadata?.name).sort(), ['a', 'c'])
  t.equal(inf.restarts, 0)
  t.equal(srv.counts(ALL).list, 1)
  t.equal(h.synced, 1)

  await inf.stop()
  t.equal(inf.state, 'stopped')
  srv.create(SHOP, dep('after-stop'))
  await sleep(30)
  t.equal(h.events.length, 6, 'nothing after stop')
  t.equal(srv.openWatches(), 0, 'no stream left open')
})

/** Changes made while the informer cannot see them: a modified, b deleted, c re-created under the same name, d new, e untouched. */
function changeWhileAway (srv: FakeApiServer): void {
  srv.update(SHOP, dep('a', 5))
  srv.delete(SHOP, 'b')
  srv.delete(SHOP, 'c')
  srv.create(SHOP, dep('c', 9))
  srv.create(SHOP, dep('d'))
}

async function expiredScenario (t: Test, mode: 'event' | 'http'): Promise<void> {
  const objs: Record<string, K8sObject> = {}
  const h = await setup(t, {
    server: { expiredMode: mode },
    before: srv => { for (const n of ['a', 'b', 'c', 'e']) objs[n] = srv.create(SHOP, dep(n)) }
  })
  const { srv, inf } = h
  await waitFor('watch', () => srv.openWatches() === 1)
  srv.stall() // the open stream sees nothing of what follows
  changeWhileAway(srv)
  srv.compact() // and it cannot be resumed
  srv.dropConnections()
  await waitFor('relist diff', () => h.events.length === 4 + 5)
  const diff = h.seen(4)
  const b = objs.b
  const c = objs.c
  t.same(diff.slice(0, 2).sort(), [`DELETED b ${rvOf(b)} relist`, `DELETED c ${rvOf(c)} relist`].sort(), 'vanished uids, with the last known object')
  const cur = Object.fromEntries(srv.list(SHOP).map(o => [o.metadata?.name, o]))
  t.same(diff.slice(2).sort(), [
    `ADDED c ${rvOf(cur.c)} relist`,
    `ADDED d ${rvOf(cur.d)} relist`,
    `MODIFIED a ${rvOf(cur.a)} relist`
  ].sort(), 'new uids (c re-created) and changed ones')
  t.notOk(diff.some(l => l.startsWith('ADDED e') || l.includes(' e ')), 'unchanged e not re-delivered')
  t.equal(h.events.find(e => e.type === 'ADDED' && e.object.metadata?.name === 'c' && !e.baseline)?.object.metadata?.uid, cur.c.metadata?.uid)
  await sleep(50)
  t.equal(h.events.length, 9, 'each change exactly once')
  t.same(h.restarts.map(r => r.reason), ['connection', 'expired'])
  t.equal(h.restarts[1].relist, true)
  t.equal(h.restarts[1].code, 410)
  t.equal(srv.counts(ALL).list, 2)
  t.equal(inf.state, 'synced')
  t.equal(h.synced, 1, 'onSynced only once')

  // Live again after the re-list.
  const e2 = srv.update(SHOP, dep('e', 7))
  await waitFor('live event', () => h.events.length === 10)
  t.same(h.seen(9), [`MODIFIED e ${rvOf(e2)}`])
}

t.test('410 Expired as an ERROR event: re-list with diff', async t => { await expiredScenario(t, 'event') })
t.test('410 Expired as an HTTP status: re-list with diff', async t => { await expiredScenario(t, 'http') })

t.test('410 ERROR event on a live stream: re-list, nothing re-delivered', async t => {
  const h = await setup(t, { before: srv => { srv.create(SHOP, dep('a')); srv.create(SHOP, dep('b')) } })
  const { srv } = h
  await waitFor('watch', () => srv.openWatches() === 1)
  srv.update(SHOP, dep('a', 2))
  await waitFor('event', () => h.events.length === 3)
  srv.sendError({ code: 410, reason: 'Expired', message: 'too old resource version: 1 (2)' })
  await waitFor('relist', () => srv.counts(ALL).list === 2 && srv.openWatches() === 1)
  await sleep(30)
  t.equal(h.events.length, 3, 'the re-list found nothing new')
  t.same(h.restarts.map(r => [r.reason, r.relist, r.code]), [['expired', true, 410]])
})

t.test('ERROR event with 500 (stream left open by the server): abort, re-list, no duplicates', async t => {
  const h = await setup(t, { before: srv => { srv.create(SHOP, dep('a')) } })
  const { srv } = h
  await waitFor('watch', () => srv.openWatches() === 1)
  const a2 = srv.update(SHOP, dep('a', 2))
  srv.sendError({ code: 500, reason: 'InternalError', message: 'etcd hiccup' }, { close: false })
  const a3 = srv.update(SHOP, dep('a', 3)) // written after the ERROR line on the same stream: must come from the re-list, once
  await waitFor('relist', () => srv.counts(ALL).list === 2)
  await waitFor('new watch', () => srv.openWatches() === 1 && srv.counts(ALL).watch === 2)
  await sleep(30)
  t.same(h.seen(1), [`MODIFIED a ${rvOf(a2)}`, `MODIFIED a ${rvOf(a3)} relist`])
  t.same(h.restarts.map(r => [r.reason, r.code, r.relist]), [['error-event', 500, true]])
  t.equal(srv.openWatches(), 1, 'the old stream was closed by the informer')
})

t.test('dropped connections: resume from the last resourceVersion, no re-list, no duplicates', async t => {
  const h = await setup(t, { before: srv => { srv.create(SHOP, dep('a')) } })
  const { srv, inf } = h
  const expect: string[] = []
  for (let i = 0; i < 3; i++) {
    await waitFor('watch', () => srv.openWatches() === 1)
    const live = srv.update(SHOP, dep('a', 10 + i))
    expect.push(`MODIFIED a ${rvOf(live)}`)
    await waitFor('live', () => h.events.length === expect.length + 1)
    srv.dropConnections()
    const gap = srv.create(SHOP, dep(`gap${i}`)) // made while reconnecting
    expect.push(`ADDED gap${i} ${rvOf(gap)}`)
    await waitFor('resumed', () => h.events.length === expect.length + 1)
  }
  await sleep(30)
  t.same(h.seen(1), expect)
  t.equal(srv.counts(ALL).list, 1, 'never re-listed')
  t.equal(inf.restarts, 3)
  t.ok(h.restarts.every(r => r.reason === 'connection' && !r.relist && r.phase === 'watch'))
  const resumes = srv.requests().filter(r => r.verb === 'watch').map(r => r.query.resourceVersion)
  t.equal(new Set(resumes).size, resumes.length, 'each resume from a newer resourceVersion')
})

t.test('clean end of the stream (timeoutSeconds): resume without re-list', async t => {
  const h = await setup(t, { before: srv => { srv.create(SHOP, dep('a')) } })
  const { srv } = h
  await waitFor('watch', () => srv.openWatches() === 1)
  srv.endWatches()
  const b = srv.create(SHOP, dep('b'))
  await waitFor('event', () => h.events.length === 2)
  t.same(h.seen(1), [`ADDED b ${rvOf(b)}`])
  t.same(h.restarts.map(r => r.reason), ['stream-end'])
  t.equal(srv.counts(ALL).list, 1)
})

t.test('a malformed line restarts the stream; events split across chunks are reassembled', async t => {
  const h = await setup(t, { before: srv => { srv.create(SHOP, dep('a')) } })
  const { srv } = h
  await waitFor('watch', () => srv.openWatches() === 1)
  const a2 = srv.update(SHOP, dep('a', 2))
  const line = JSON.stringify({ type: 'ADDED', object: { kind: 'Deployment', metadata: { name: 'z', namespace: 'shop', uid: 'z-uid', resourceVersion: String(srv.rv) } } })
  srv.sendRaw(line.slice(0, 10))
  await sleep(20)
  srv.sendRaw(line.slice(10) + '\n')
  srv.sendRaw('{"type":"SOMETHING","object":{}}\n') // unknown types are ignored
  await waitFor('split event', () => h.events.length === 3)
  t.same(h.seen(1), [`MODIFIED a ${rvOf(a2)}`, `ADDED z ${srv.rv}`])
  srv.sendRaw('this is not json\n')
  await waitFor('restart', () => h.restarts.length === 1)
  t.same(h.restarts.map(r => [r.reason, r.relist]), [['bad-response', false]])
  const a3 = srv.update(SHOP, dep('a', 3))
  await waitFor('resumed', () => h.events.length === 4)
  t.same(h.seen(3), [`MODIFIED a ${rvOf(a3)}`])
})

t.test('apiserver stopped and restarted: resumes, changes across the gap delivered once', async t => {
  const h = await setup(t, {
    informer: { backoff: { initialMs: 20, maxMs: 200 } },
    before: srv => { srv.create(SHOP, dep('a')); srv.create(SHOP, dep('b')) }
  })
  const { srv, inf } = h
  await waitFor('watch', () => srv.openWatches() === 1)

  // 1. Down ~1 s, history kept: resume from the resourceVersion.
  await srv.stop()
  const a2 = srv.update(SHOP, dep('a', 2))
  const c = srv.create(SHOP, dep('c'))
  await sleep(1000)
  await waitFor('backoff', () => inf.state === 'backoff')
  t.ok(inf.restarts >= 3, `several refused attempts (${inf.restarts})`)
  t.ok(h.restarts.every(r => r.reason === 'connection'))
  t.ok(h.restarts.some(r => /ECONNREFUSED/.test(r.message ?? '')))
  t.equal(h.events.length, 2)
  await srv.start()
  await waitFor('gap events', () => h.events.length === 4)
  t.same(h.seen(2), [`MODIFIED a ${rvOf(a2)}`, `ADDED c ${rvOf(c)}`])
  t.equal(srv.counts(ALL).list, 1)

  // 2. Down again and the restarted apiserver lost its history: 410, re-list with diff.
  await waitFor('synced', () => inf.state === 'synced' && srv.openWatches() === 1)
  await srv.stop()
  const bDel = srv.delete(SHOP, 'b')
  const a3 = srv.update(SHOP, dep('a', 3))
  srv.compact()
  await sleep(300)
  await srv.start()
  await waitFor('diff', () => h.events.length === 6)
  void bDel
  await sleep(50)
  t.same(h.seen(4).sort(), [`DELETED b ${rvOf(h.events[1].object)} relist`, `MODIFIED a ${rvOf(a3)} relist`].sort())
  t.equal(h.events.length, 6)
  t.equal(srv.counts(ALL).list, 2)
  t.equal(inf.state, 'synced')
})

t.test('stalled stream: the watchdog restarts it; bookmarks keep it alive', async t => {
  const h = await setup(t, {
    informer: { watchdogMs: 250 },
    server: { bookmarkIntervalMs: 60 },
    before: srv => { srv.create(SHOP, dep('a')) }
  })
  const { srv, inf } = h
  await sleep(600)
  t.equal(inf.restarts, 0, 'bookmarks every 60 ms count as activity')
  t.equal(h.events.length, 1, 'bookmarks produce no events')

  srv.stall()
  const a2 = srv.update(SHOP, dep('a', 2))
  await waitFor('watchdog restart', () => h.events.length === 2, 3000)
  t.same(h.seen(1), [`MODIFIED a ${rvOf(a2)}`])
  t.same(h.restarts.map(r => [r.reason, r.relist]), [['watchdog', false]])
  t.equal(srv.counts(ALL).list, 1)

  // A request that never gets response headers is aborted too.
  srv.stall({ newRequests: true })
  srv.dropConnections()
  await waitFor('pre-header watchdog', () => h.restarts.some(r => r.reason === 'watchdog' && r.phase === 'watch' && h.restarts.indexOf(r) > 1), 3000)
  srv.unstall()
  const a3 = srv.update(SHOP, dep('a', 3))
  await waitFor('resumed', () => h.events.length === 3, 3000)
  t.same(h.seen(2), [`MODIFIED a ${rvOf(a3)}`])
})

t.test('BOOKMARK events produce no events but move the resourceVersion', async t => {
  const h = await setup(t, { path: SHOP, before: srv => { srv.create(SHOP, dep('a')) } })
  const { srv, inf } = h
  await waitFor('watch', () => srv.openWatches() === 1)
  srv.create(OTHER, dep('elsewhere')) // bumps the global revision, not visible at SHOP
  const before = inf.lastEventAt ?? 0
  await sleep(5)
  srv.sendBookmark()
  await waitFor('bookmark', () => inf.resourceVersion === String(srv.rv))
  t.ok((inf.lastEventAt ?? 0) > before, 'a bookmark counts as activity')
  t.equal(h.events.length, 1)
  srv.dropConnections()
  await waitFor('resume', () => srv.counts(SHOP).watch === 2)
  t.equal(srv.requests().filter(r => r.verb === 'watch').pop()?.query.resourceVersion, String(srv.rv), 'resumes from the bookmark')
})

t.test('backoff grows, is capped, and a healthy stream resets it', async t => {
  const h = await setup(t, {
    start: false,
    informer: { backoff: { initialMs: 20, maxMs: 100 }, random: () => 1 },
    before: srv => { srv.create(SHOP, dep('a')) }
  })
  const { srv, inf } = h
  await srv.stop()
  const started = inf.start()
  await waitFor('6 attempts', () => h.restarts.length >= 6)
  await waitFor('backoff', () => inf.state === 'backoff')
  t.equal(inf.synced, false)
  t.same(h.restarts.slice(0, 6).map(r => r.delayMs), [20, 40, 80, 100, 100, 100])
  t.same(h.restarts.slice(0, 6).map(r => r.attempt), [1, 2, 3, 4, 5, 6])
  t.ok(h.restarts.every(r => r.phase === 'list' && r.relist && r.reason === 'connection'))
  await srv.start()
  await started
  t.equal(inf.synced, true)
  t.equal(h.events.length, 1)
  await waitFor('watch', () => srv.openWatches() === 1)
  srv.update(SHOP, dep('a', 2)) // the stream delivers: healthy
  await waitFor('event', () => h.events.length === 2)
  const n = h.restarts.length
  srv.dropConnections()
  await waitFor('restart', () => h.restarts.length === n + 1)
  t.equal(h.restarts[n].delayMs, 20, 'reset after a healthy stream')

  // Half jitter: random() = 0.5 halves every delay (full jitter: random * cap).
  const halfDelays: number[] = []
  const half = createResilientInformer({ kc: h.kc, path: ALL, onEvent: () => {}, backoff: { initialMs: 40, maxMs: 100 }, random: () => 0.5, onRestart: r => { halfDelays.push(r.delayMs) } })
  srv.failRequests({ verb: 'list', code: 503, count: 4 })
  await half.start()
  t.same(halfDelays, [20, 40, 50, 50])
  await half.stop()
})

t.test('list failures: HTTP 500 then success; paging with an expired continue token', async t => {
  const h = await setup(t, {
    informer: { pageSize: 2 },
    before: srv => {
      for (let i = 0; i < 5; i++) srv.create(SHOP, dep(`d${i}`))
      srv.failRequests({ verb: 'list', code: 500, count: 2 })
      let done = false
      srv.onRequest = r => {
        // Between two pages: a write, then compaction of the snapshot.
        if (!done && r.query.continue !== undefined) {
          done = true
          srv.update(SHOP, dep('d4', 44))
          srv.compact()
        }
      }
    }
  })
  const { srv, inf } = h
  t.same(h.restarts.map(r => [r.reason, r.phase, r.code]), [['http-error', 'list', 500], ['http-error', 'list', 500]])
  t.equal(inf.synced, true)
  const lists = srv.requests().filter(r => r.verb === 'list').map(r => r.query)
  t.same(lists.map(q => [q.limit, q.continue === undefined ? '-' : 'c']), [['2', '-'], ['2', '-'], ['2', '-'], ['2', 'c'], [undefined, '-']],
    '2 failures, page 1, expired continue, then one unpaged list')
  t.same(h.events.map(e => e.object.metadata?.name), ['d0', 'd1', 'd2', 'd3', 'd4'])
  t.equal(h.events[4].object.spec.replicas, 44, 'the consistent (second) list')
  t.ok(h.events.every(e => e.baseline && e.relist && e.type === 'ADDED'))
})

t.test('label selector: objects moving out and in are DELETED and ADDED', async t => {
  const h = await setup(t, {
    informer: { labelSelector: 'app=web' },
    before: srv => { srv.create(SHOP, dep('a', 1, { app: 'web' })); srv.create(SHOP, dep('b', 1, { app: 'db' })) }
  })
  const { srv } = h
  t.same(h.events.map(e => e.object.metadata?.name), ['a'])
  await waitFor('watch', () => srv.openWatches() === 1)
  srv.update(SHOP, dep('a', 1, { app: 'other' }))
  srv.update(SHOP, dep('b', 1, { app: 'web' }))
  await waitFor('events', () => h.events.length === 3)
  t.same(h.events.slice(1).map(e => `${e.type} ${e.object.metadata?.name}`), ['DELETED a', 'ADDED b'])
  t.equal(srv.requests().find(r => r.verb === 'watch')?.query.labelSelector, 'app=web')
})

t.test('stop() during backoff and before the first sync leaves nothing running', async t => {
  const srv = await FakeApiServer.create()
  const kc = new KubeConfig()
  kc.loadFromOptions(srv.kubeConfigOptions())
  t.teardown(async () => { await srv.close() })
  const inf = createResilientInformer({ kc, path: ALL, onEvent: () => {}, backoff: { initialMs: 10000, maxMs: 10000 }, random: () => 1 })
  srv.failRequests({ verb: 'list', code: 500 })
  const started = inf.start()
  await waitFor('backoff', () => inf.state === 'backoff')
  const t0 = Date.now()
  await inf.stop()
  await started
  t.ok(Date.now() - t0 < 500, 'the 10 s backoff was cancelled')
  t.equal(inf.state, 'stopped')
  await t.rejects(inf.start(), { code: 'KC_BAD_ARGUMENT' })

  // Stop while a request hangs without headers.
  srv.stall({ newRequests: true })
  const inf2 = createResilientInformer({ kc, path: ALL, onEvent: () => {} })
  const s2 = inf2.start()
  await waitFor('request hanging', () => srv.counts(ALL).list === 2)
  await inf2.stop()
  await s2
  t.equal(inf2.state, 'stopped')
  t.equal(inf2.synced, false)
  t.throws(() => createResilientInformer({ kc, path: 'apps/v1/deployments', onEvent: () => {} }), { code: 'KC_BAD_ARGUMENT' })
})

t.test('metadataOnly: lists and watches PartialObjectMetadata, delivered under the watched kind', async t => {
  const PODS = '/api/v1/namespaces/shop/pods'
  const pod = (name: string, restarts = 0): K8sObject => ({
    metadata: { name, labels: { app: 'web' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'rs-1', controller: true }] },
    spec: { containers: [{ name: 'app', image: 'web:1' }] },
    status: { phase: 'Running', containerStatuses: [{ name: 'app', restartCount: restarts }] }
  })
  const accepts: string[] = []
  const h = await setup(t, {
    path: '/api/v1/pods',
    informer: { metadataOnly: true, kind: 'Pod', apiVersion: 'v1', pageSize: 1 },
    before: srv => {
      srv.create(PODS, pod('a'))
      srv.create(PODS, pod('b'))
      srv.onRequest = r => { accepts.push(r.verb) }
    }
  })
  const { srv } = h
  await waitFor('watch', () => srv.openWatches() === 1)
  t.equal(srv.counts('/api/v1/pods').list, 2, 'paged: one item per page')
  for (const e of h.events) {
    t.equal(e.object.kind, 'Pod', 'the kind comes from the watched resource')
    t.equal(e.object.apiVersion, 'v1')
    t.equal(e.object.spec, undefined, 'no spec: the apiserver sent metadata only')
    t.equal(e.object.status, undefined)
    t.equal(e.object.metadata?.ownerReferences?.[0].uid, 'rs-1', 'the owner link is there')
  }
  srv.update(PODS, { ...pod('a', 1), metadata: { ...pod('a').metadata, labels: { app: 'web', v: '2' } } })
  await waitFor('modified', () => h.events.length === 3)
  t.equal(h.events[2].type, 'MODIFIED')
  t.same(h.events[2].object.metadata?.labels, { app: 'web', v: '2' })
  t.equal(h.events[2].object.kind, 'Pod')
  t.equal(h.events[2].object.status, undefined)
  t.same(accepts, ['list', 'list', 'watch'])
})

t.test('the cache keeps identities only; each list page is slimmed as it arrives', async t => {
  const pages: number[] = []
  let calls = 0
  const h = await setup(t, {
    informer: {
      pageSize: 2,
      // Counts how many objects were transformed before each page request.
      transform: o => { calls++; return { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata?.name, namespace: o.metadata?.namespace, uid: o.metadata?.uid, resourceVersion: o.metadata?.resourceVersion } } }
    },
    before: srv => {
      for (const n of ['a', 'b', 'c', 'd', 'e']) srv.create(SHOP, { ...dep(n), spec: { replicas: 1, template: { spec: { containers: [{ name: 'x', image: 'big' }] } } } })
      srv.onRequest = r => { if (r.verb === 'list') pages.push(calls) }
    }
  })
  t.same(pages, [0, 2, 4], 'page N+1 is requested after page N was slimmed')
  t.same(h.events.map(e => e.object.kind), ['Deployment', 'Deployment', 'Deployment', 'Deployment', 'Deployment'], 'kind from the list')
  const listed = h.inf.list()
  t.same(listed.map(o => Object.keys(o.metadata ?? {}).sort()), listed.map(() => ['name', 'namespace', 'resourceVersion', 'uid']))
  t.same(listed.map(o => o.kind), ['Deployment', 'Deployment', 'Deployment', 'Deployment', 'Deployment'])
  t.equal(listed.some(o => o.spec !== undefined), false, 'no spec kept')
})
