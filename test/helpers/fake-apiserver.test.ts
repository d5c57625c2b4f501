// The fake apiserver, checked with the real @kubernetes/client-node 1.4
// (typed list functions, Watch, makeInformer/ListWatch) over loopback. The
// ListWatch tests also pin the client-node quirks the resilient informer
// works around.

import t, { type Test } from 'tap'
import http from 'node:http'
import { ApisApi, AppsV1Api, CoreApi, CoreV1Api, KubeConfig, Watch, makeInformer } from '@kubernetes/client-node'
import { FakeApiServer, parseLabelSelector, type FakeApiServerOptions } from './fake-apiserver.js'
import type { K8sObject } from '../../src/model.js'

const DEPLOY = '/apis/apps/v1/deployments'
const SHOP = '/apis/apps/v1/namespaces/shop/deployments'

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

async function waitFor (what: string, cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

async function setup (t: Test, opts: FakeApiServerOptions = {}): Promise<{ srv: FakeApiServer; kc: KubeConfig }> {
  const srv = await FakeApiServer.create(opts)
  t.teardown(async () => { await srv.close() })
  const kc = new KubeConfig()
  kc.loadFromOptions(srv.kubeConfigOptions())
  return { srv, kc }
}

interface Line { type: string; object: any }

/** A raw watch over HTTP: every line, and the HTTP status. */
async function rawWatch (srv: FakeApiServer, path: string, query: string): Promise<{ code: number; lines: Line[]; ended: Promise<void>; req: http.ClientRequest }> {
  return await new Promise((resolve, reject) => {
    const req = http.get(`${srv.url}${path}?${query}`, res => {
      const lines: Line[] = []
      let buf = ''
      res.setEncoding('utf8')
      const ended = new Promise<void>(resolve => { res.on('end', resolve); res.on('close', resolve) })
      res.on('data', (c: string) => {
        buf += c
        let i
        while ((i = buf.indexOf('\n')) >= 0) {
          const l = buf.slice(0, i)
          buf = buf.slice(i + 1)
          if (res.statusCode === 200) lines.push(JSON.parse(l))
        }
      })
      res.on('error', () => {})
      resolve({ code: res.statusCode ?? 0, lines, ended, req })
    })
    req.on('error', reject)
  })
}

function dep (name: string, labels: Record<string, string> = {}, replicas = 1): K8sObject {
  return { metadata: { name, labels }, spec: { replicas, template: { spec: { containers: [{ name: 'c', image: 'img:1' }] } } } }
}

t.test('writes assign uid, resourceVersion, generation; lists via client-node typed API', async t => {
  const { srv, kc } = await setup(t)
  const a = srv.create(SHOP, dep('a'))
  t.match(a, { kind: 'Deployment', apiVersion: 'apps/v1', metadata: { name: 'a', namespace: 'shop', generation: 1, resourceVersion: '1001' } })
  t.type(a.metadata?.uid, 'string')
  const a2 = srv.update(SHOP, { ...a, spec: { ...a.spec, replicas: 3 } })
  t.equal(a2.metadata?.generation, 2, 'spec change bumps generation')
  t.equal(a2.metadata?.uid, a.metadata?.uid)
  const a3 = srv.update(SHOP, { ...a2, status: { replicas: 3 } })
  t.equal(a3.metadata?.generation, 2, 'status change does not')
  t.equal(srv.update(SHOP, a3).metadata?.resourceVersion, a3.metadata?.resourceVersion, 'no-op update changes nothing')
  srv.create('/apis/apps/v1/namespaces/other/deployments', dep('b'))
  srv.create('/api/v1/namespaces/shop/services', { metadata: { name: 's' }, spec: { ports: [] } })

  const apps = kc.makeApiClient(AppsV1Api)
  const all = await apps.listDeploymentForAllNamespaces()
  t.same(all.items.map(i => `${i.metadata?.namespace}/${i.metadata?.name}`), ['other/b', 'shop/a'])
  t.equal(all.metadata?.resourceVersion, String(srv.rv))
  t.same((await apps.listNamespacedDeployment({ namespace: 'shop' })).items.map(i => i.metadata?.name), ['a'])
  const core = kc.makeApiClient(CoreV1Api)
  t.same((await core.listNamespacedService({ namespace: 'shop' })).items.map(i => i.metadata?.name), ['s'])
  t.equal((await apps.readNamespacedDeployment({ namespace: 'shop', name: 'a' })).spec?.replicas, 3)
  await t.rejects(apps.readNamespacedDeployment({ namespace: 'shop', name: 'zz' }), { code: 404 })

  // Raw list body: kind XList, items without kind/apiVersion (as the real server).
  const raw = await (await fetch(`${srv.url}${DEPLOY}`)).json() as any
  t.equal(raw.kind, 'DeploymentList')
  t.equal(raw.apiVersion, 'apps/v1')
  t.equal(raw.items[0].kind, undefined)
  t.same(srv.counts(DEPLOY), { list: 2, watch: 0, get: 0 })
  t.same(srv.counts('/apis/apps/v1/namespaces/shop/deployments'), { list: 1, watch: 0, get: 0 })
  t.equal(srv.counts().get, 2)
  t.same(srv.resourceCounts(SHOP), { list: 3, watch: 0, get: 2 }, 'per resource, over all paths')
})

t.test('limit/continue give a consistent snapshot; expired continue is a 410', async t => {
  const { srv, kc } = await setup(t, { historyLimit: 50 })
  for (let i = 0; i < 5; i++) srv.create(SHOP, dep(`d${i}`, {}, i))
  const apps = kc.makeApiClient(AppsV1Api)
  const p1 = await apps.listDeploymentForAllNamespaces({ limit: 2 })
  t.same(p1.items.map(i => i.metadata?.name), ['d0', 'd1'])
  t.equal(p1.metadata?.remainingItemCount, 3)
  srv.update(SHOP, { ...dep('d3', {}, 99) })
  srv.delete(SHOP, 'd4')
  srv.create(SHOP, dep('d5'))
  const p2 = await apps.listDeploymentForAllNamespaces({ limit: 2, _continue: p1.metadata?._continue })
  t.same(p2.items.map(i => [i.metadata?.name, i.spec?.replicas]), [['d2', 2], ['d3', 3]], 'the snapshot, not the current state')
  const p3 = await apps.listDeploymentForAllNamespaces({ limit: 2, _continue: p2.metadata?._continue })
  t.same(p3.items.map(i => i.metadata?.name), ['d4'])
  t.equal(p3.metadata?._continue, undefined)
  t.equal(p3.metadata?.resourceVersion, p1.metadata?.resourceVersion)

  srv.compact()
  await t.rejects(apps.listDeploymentForAllNamespaces({ limit: 2, _continue: p1.metadata?._continue }), { code: 410 })
  const res = await fetch(`${srv.url}${DEPLOY}?limit=2&continue=${encodeURIComponent(p1.metadata?._continue ?? '')}`)
  const st = await res.json() as any
  t.match(st, { kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 })
  t.type(st.metadata.continue, 'string')
})

t.test('label and field selectors', async t => {
  const { srv, kc } = await setup(t)
  srv.create(SHOP, dep('a', { app: 'web', tier: 'front' }))
  srv.create(SHOP, dep('b', { app: 'db' }))
  srv.create(SHOP, dep('c', {}))
  const apps = kc.makeApiClient(AppsV1Api)
  const names = async (labelSelector?: string, fieldSelector?: string): Promise<string[]> =>
    (await apps.listDeploymentForAllNamespaces({ labelSelector, fieldSelector })).items.map(i => i.metadata?.name ?? '')
  t.same(await names('app=web'), ['a'])
  t.same(await names('app==web,tier=front'), ['a'])
  t.same(await names('app!=web'), ['b', 'c'])
  t.same(await names('app in (web, db)'), ['a', 'b'])
  t.same(await names('app notin (web)'), ['b', 'c'])
  t.same(await names('app'), ['a', 'b'])
  t.same(await names('!app'), ['c'])
  t.same(await names(undefined, 'metadata.name=b'), ['b'])
  t.same(await names(undefined, 'metadata.name!=b,metadata.namespace=shop'), ['a', 'c'])
  t.same(await names(undefined, 'spec.replicas=1'), ['a', 'b', 'c'])
  t.throws(() => parseLabelSelector('a in (x'))
})

t.test('watch: resume from history, bookmarks, selectors moving objects in and out', async t => {
  const { srv } = await setup(t)
  srv.create(SHOP, dep('a', { app: 'web' }))
  const rv0 = srv.rv
  srv.create(SHOP, dep('b', { app: 'web' }))
  srv.update(SHOP, dep('a', { app: 'web' }, 2))

  const w = await rawWatch(srv, DEPLOY, `watch=true&resourceVersion=${rv0}&allowWatchBookmarks=true`)
  t.equal(w.code, 200)
  const sel = await rawWatch(srv, DEPLOY, 'watch=1&resourceVersion=' + String(srv.rv) + '&labelSelector=app%3Dweb')
  await waitFor('replay', () => w.lines.length === 2)
  t.same(w.lines.map(l => `${l.type} ${l.object.metadata.name}`), ['ADDED b', 'MODIFIED a'])
  t.equal(w.lines[1].object.kind, 'Deployment', 'watch objects carry kind')

  srv.update(SHOP, dep('b', { app: 'db' })) // leaves the selector
  srv.update(SHOP, dep('b', { app: 'web' })) // comes back
  srv.delete(SHOP, 'a')
  srv.sendBookmark()
  await waitFor('events', () => w.lines.length === 6 && sel.lines.length === 3)
  t.same(w.lines.slice(2).map(l => l.type), ['MODIFIED', 'MODIFIED', 'DELETED', 'BOOKMARK'])
  t.same(w.lines[5].object, { kind: 'Deployment', apiVersion: 'apps/v1', metadata: { resourceVersion: String(srv.rv) } })
  t.equal(w.lines[4].object.metadata.resourceVersion, String(srv.rv), 'DELETED carries the deletion revision')
  t.same(sel.lines.map(l => `${l.type} ${l.object.metadata.name}`), ['DELETED b', 'ADDED b', 'DELETED a'], 'no bookmark without allowWatchBookmarks')
  t.equal(srv.openWatches(DEPLOY), 2)

  // No resourceVersion: synthetic ADDED, then the initial-events-end bookmark.
  const init = await rawWatch(srv, SHOP, 'watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan')
  await waitFor('initial events', () => init.lines.length === 2)
  t.same(init.lines.map(l => l.type), ['ADDED', 'BOOKMARK'])
  t.equal(init.lines[1].object.metadata.annotations['k8s.io/initial-events-end'], 'true')

  // timeoutSeconds ends the stream cleanly; endWatches() too.
  const short = await rawWatch(srv, DEPLOY, `watch=true&resourceVersion=${srv.rv}&timeoutSeconds=1`)
  srv.endWatches()
  await Promise.all([w.ended, sel.ended, init.ended, short.ended])
  t.equal(srv.openWatches(), 0)
  t.same(srv.counts(DEPLOY).watch, 3)
})

t.test('watch: too old resourceVersion → ERROR 410 event or HTTP 410; too new → ERROR 504', async t => {
  const { srv } = await setup(t, { historyLimit: 3 })
  srv.create(SHOP, dep('a'))
  const old = srv.rv
  for (let i = 0; i < 4; i++) srv.update(SHOP, dep('a', {}, i + 2))
  t.equal(srv.compactedRV, old + 1, 'the bounded history moved the compaction point')
  const ev = await rawWatch(srv, DEPLOY, `watch=true&resourceVersion=${old}`)
  await ev.ended
  t.equal(ev.code, 200)
  t.same(ev.lines, [{ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${old} (${srv.compactedRV + 1})`, reason: 'Expired', code: 410 } }])
  const ok = await rawWatch(srv, DEPLOY, `watch=true&resourceVersion=${srv.compactedRV}`)
  await waitFor('replay', () => ok.lines.length === 3)

  srv.expiredMode = 'http'
  const res = await fetch(`${srv.url}${DEPLOY}?watch=true&resourceVersion=${old}`)
  t.equal(res.status, 410)
  t.match(await res.json(), { kind: 'Status', reason: 'Expired', code: 410 })

  srv.compact()
  const after = await rawWatch(srv, DEPLOY, `watch=true&resourceVersion=${srv.rv - 1}`)
  t.equal(after.code, 410)
  const tooNew = await rawWatch(srv, DEPLOY, `watch=true&resourceVersion=${srv.rv + 10}`)
  await tooNew.ended
  t.match(tooNew.lines, [{ type: 'ERROR', object: { code: 504, details: { causes: [{ reason: 'ResourceVersionTooLarge' }] } } }])
  srv.endWatches()
})

t.test('client-node Watch: events, ERROR without close, HTTP errors, hang before headers', async t => {
  const { srv, kc } = await setup(t)
  const watch = new Watch(kc)
  const seen: string[] = []
  let doneErr: unknown = 'not called'
  const ctl = await watch.watch(DEPLOY, { resourceVersion: String(srv.rv), allowWatchBookmarks: true },
    (type, obj) => { seen.push(`${type} ${obj?.metadata?.name ?? obj?.code ?? ''}`) },
    err => { doneErr = err })
  srv.create(SHOP, dep('a'))
  srv.sendError({ code: 500 }, { close: false })
  srv.sendBookmark()
  await waitFor('events', () => seen.length === 3)
  t.same(seen, ['ADDED a', 'ERROR 500', 'BOOKMARK '], 'the stream stays open after a non-closing ERROR')
  ctl.abort()
  await waitFor('done', () => doneErr !== 'not called')
  t.match(doneErr, { name: 'AbortError' }, 'quirk: a deliberate abort reaches done() as an error')

  srv.failRequests({ verb: 'watch', code: 503 })
  let err503: any
  await watch.watch(DEPLOY, {}, () => {}, err => { err503 = err })
  t.equal(err503?.statusCode, 503)

  srv.stall({ newRequests: true })
  const pending = watch.watch(DEPLOY, {}, () => {}, () => {})
  const r = await Promise.race([pending.then(() => 'returned'), sleep(300).then(() => 'pending')])
  t.equal(r, 'pending', 'quirk: Watch.watch() only returns its AbortController after the response headers')
  srv.unstall()
  srv.dropConnections()
  await pending
})

t.test('client-node makeInformer/ListWatch against the fake, and its quirks', async t => {
  const { srv, kc } = await setup(t)
  srv.create(SHOP, dep('a'))
  srv.create(SHOP, dep('b'))
  const apps = kc.makeApiClient(AppsV1Api)
  const log: string[] = []
  const inf = makeInformer(kc, DEPLOY, async () => await apps.listDeploymentForAllNamespaces())
  inf.on('add', o => { log.push(`add ${o.metadata?.name}`) })
  inf.on('update', o => { log.push(`update ${o.metadata?.name}`) })
  inf.on('delete', o => { log.push(`delete ${o.metadata?.name}`) })
  inf.on('connect', () => { log.push('connect') })
  inf.on('error', (e: any) => { log.push(`error ${e?.statusCode ?? e?.message}`) })
  await inf.start()
  t.same(log, ['connect', 'add a', 'add b'])
  srv.update(SHOP, dep('a', {}, 5))
  await waitFor('update', () => log.length === 4)

  // 410 as an ERROR event: ListWatch re-lists (connect) on the stream end.
  srv.compact()
  srv.sendError({ code: 410, reason: 'Expired', message: 'too old resource version' })
  await waitFor('relist', () => srv.counts(DEPLOY).list === 2 && srv.openWatches() === 1)

  // 410 as HTTP status, with a delete + re-create of the same name in the gap.
  srv.expiredMode = 'http'
  srv.stall()
  srv.delete(SHOP, 'b')
  srv.create(SHOP, dep('b'))
  srv.compact()
  srv.endWatches() // stalled: nothing; drop it instead
  srv.dropConnections()
  await waitFor('error', () => log.some(l => l.startsWith('error')))
  t.same(log.slice(4), ['connect', 'error Premature close'], 'quirk: a reset connection stops ListWatch for good')
  srv.update(SHOP, dep('a', {}, 6))
  await sleep(100)
  t.equal(log.filter(l => l === 'update a').length, 1, 'quirk: nothing after the error')

  // Restart it by hand: the 410 (HTTP) path re-lists, but keyed by name the re-created b is an "update".
  log.length = 0
  let watches = 0
  srv.onRequest = r => { if (r.verb === 'watch' && ++watches === 2) void inf.stop() } // stop while the post-list watch is in flight
  await inf.start()
  await waitFor('relist after 410', () => log.includes('update b'))
  await sleep(100)
  srv.onRequest = null
  t.same(log, ['connect', 'connect', 'update a', 'update b'], 'quirk: delete + re-create of a name looks like an update')
  t.equal(srv.openWatches(DEPLOY), 1, 'quirk: stop() while a watch request is in flight does not stop that watch')
  srv.dropConnections()
  await waitFor('error after drop', () => log.length === 5)

  // In a steady state, stop() fires the error callbacks with an AbortError.
  const inf2 = makeInformer(kc, DEPLOY, async () => await apps.listDeploymentForAllNamespaces())
  const errs: string[] = []
  inf2.on('error', (e: any) => { errs.push(String(e?.message)) })
  await inf2.start()
  await waitFor('watch open', () => srv.openWatches(DEPLOY) === 1)
  await inf2.stop()
  await waitFor('stop error', () => errs.length === 1)
  t.match(errs[0], /abort/i, 'quirk: stop() fires the error callbacks')
})

t.test('stop/start on the same port, stall, dropConnections, failRequests, counts', async t => {
  const { srv } = await setup(t)
  const port = srv.port
  const w = await rawWatch(srv, DEPLOY, `watch=true&resourceVersion=${srv.rv}`)
  await srv.stop()
  await w.ended
  await t.rejects(fetch(`${srv.url}${DEPLOY}`), 'connection refused while stopped')
  srv.create(SHOP, dep('a'))
  await srv.start()
  t.equal(srv.port, port)
  t.equal(((await (await fetch(`${srv.url}${DEPLOY}`)).json()) as any).items.length, 1, 'state survives a restart')

  const s = await rawWatch(srv, DEPLOY, `watch=true&resourceVersion=${srv.rv}&allowWatchBookmarks=true`)
  srv.stall()
  srv.create(SHOP, dep('b'))
  srv.sendBookmark()
  srv.sendError({ code: 500 })
  await sleep(50)
  t.same(s.lines, [], 'a stalled stream receives nothing')
  t.equal(srv.openWatches(), 1)
  srv.dropConnections()
  await s.ended
  t.equal(srv.openWatches(), 0)

  srv.failRequests({ verb: 'list', code: 500, count: 2 })
  t.equal((await fetch(`${srv.url}${DEPLOY}`)).status, 500)
  t.equal((await fetch(`${srv.url}${DEPLOY}?watch=true&resourceVersion=${srv.rv}`)).status, 200, 'watches not affected')
  t.equal((await fetch(`${srv.url}${DEPLOY}`)).status, 500)
  t.equal((await fetch(`${srv.url}${DEPLOY}`)).status, 200)
  srv.endWatches()
  t.equal((await fetch(`${srv.url}/apis/nosuch.example.com/v1`)).status, 404, 'a group version nobody serves')
  t.equal((await fetch(`${srv.url}${DEPLOY}`, { method: 'POST', body: '{}' })).status, 405)
  t.same(srv.counts(DEPLOY), { list: 4, watch: 3, get: 0 })
  t.ok(srv.requests().length <= 200)
})

t.test('discovery as client-node reads it; unserved and forbidden resources answer 404 and 403 with a Status', async t => {
  const { srv, kc } = await setup(t, {
    resources: [
      { group: 'cert-manager.io', version: 'v1alpha2', resource: 'certificates', kind: 'Certificate' },
      { group: 'cert-manager.io', version: 'v1', resource: 'certificates', kind: 'Certificate', shortNames: ['cert'], preferred: true }
    ],
    unserved: ['events.k8s.io/v1']
  })
  const core = await kc.makeApiClient(CoreApi).getAPIVersions()
  t.same(core.versions, ['v1'])
  const groups = await kc.makeApiClient(ApisApi).getAPIVersions()
  const cm = groups.groups.find(g => g.name === 'cert-manager.io')
  t.same(cm?.preferredVersion, { groupVersion: 'cert-manager.io/v1', version: 'v1' }, 'the preferred version')
  t.same(cm?.versions.map(v => v.version), ['v1', 'v1alpha2'])
  t.notOk(groups.groups.some(g => g.name === 'events.k8s.io'), 'an unserved group version is not listed')
  const apps = await kc.makeApiClient(AppsV1Api).getAPIResources()
  t.equal(apps.groupVersion, 'apps/v1')
  const deploy = apps.resources.find(r => r.name === 'deployments')
  t.same({ kind: deploy?.kind, namespaced: deploy?.namespaced, verbs: deploy?.verbs }, { kind: 'Deployment', namespaced: true, verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] })
  t.ok(apps.resources.some(r => r.name === 'deployments/scale' && r.kind === 'Scale'), 'subresources listed as the real server does')
  const v1 = await kc.makeApiClient(CoreV1Api).getAPIResources()
  t.equal(v1.resources.find(r => r.name === 'namespaces')?.namespaced, false)
  const crd = await (await fetch(`${srv.url}/apis/cert-manager.io/v1`)).json() as any
  t.same(crd.resources.map((r: any) => r.name), ['certificates', 'certificates/status'])

  const gone = await fetch(`${srv.url}/apis/events.k8s.io/v1/events`)
  t.equal(gone.status, 404)
  t.same(await gone.json(), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'the server could not find the requested resource', reason: 'NotFound', details: {}, code: 404 })
  t.equal((await fetch(`${srv.url}/apis/events.k8s.io/v1`)).status, 404)
  srv.serve('events.k8s.io/v1')
  t.equal((await fetch(`${srv.url}/apis/events.k8s.io/v1/events`)).status, 200, 'served again')

  srv.forbid({ resource: 'events.events.k8s.io', verb: 'list' })
  const denied = await fetch(`${srv.url}/apis/events.k8s.io/v1/events`)
  t.equal(denied.status, 403)
  t.same(await denied.json(), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'events.events.k8s.io is forbidden: User "system:serviceaccount:kubechanges:kubechanges" cannot list resource "events" in API group "events.k8s.io" at the cluster scope',
    reason: 'Forbidden',
    details: { group: 'events.k8s.io', kind: 'events' },
    code: 403
  })
  t.equal((await fetch(`${srv.url}/apis/events.k8s.io/v1/events?watch=true`)).status, 200, 'only the verb forbidden')
  srv.endWatches()
  srv.forbid({ resource: 'pods', namespace: 'shop' })
  const ns = await (await fetch(`${srv.url}/api/v1/namespaces/shop/pods`)).json() as any
  t.equal(ns.message, 'pods is forbidden: User "system:serviceaccount:kubechanges:kubechanges" cannot list resource "pods" in API group "" in the namespace "shop"')
  t.equal((await fetch(`${srv.url}/api/v1/pods`)).status, 200, 'other scopes are allowed')
  srv.allow()
  t.equal((await fetch(`${srv.url}/apis/events.k8s.io/v1/events`)).status, 200)
  t.ok(srv.discoveryRequests >= 5)
})
