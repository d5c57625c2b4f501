import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eventList, testApp } from '../helpers/app.js'
import { Cluster, USERS, R } from '../helpers/cluster.js'

// GET /changes: filters, newest first, an opaque cursor, 400s that name the
// parameter; changes survive a restart.

function history (c: Cluster): void {
  for (let i = 0; i < 5; i++) {
    c.create(i % 2 === 0 ? USERS.alice : USERS.bob, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, namespace: i < 3 ? 'shop' : 'batch' }, data: { k: String(i) } })
    c.advance(60_000)
  }
  c.service(USERS.bob, 'shop', 'web', { app: 'web' })
}

t.test('filters, ordering and pagination', async t => {
  const c = new Cluster()
  const a = await testApp({ start: c.t })
  t.teardown(a.close)
  history(c)
  await a.post(eventList(c.take()))
  a.clock.now = c.t
  await a.advance(10_000)
  const get = async (q: string) => {
    const r = await a.app.server.inject(`/changes${q}`)
    return { status: r.statusCode, body: r.json() }
  }
  const all = await get('')
  t.equal(all.status, 200)
  t.same(all.body.items.map((x: any) => x.object.name), ['web', 'cm-4', 'cm-3', 'cm-2', 'cm-1', 'cm-0'], 'newest first')
  t.equal(all.body.nextCursor, null)
  t.notOk('timeline' in all.body.items[0], 'lists leave timelines out')
  t.same((await get('?namespace=batch')).body.items.map((x: any) => x.object.name), ['cm-4', 'cm-3'])
  t.same((await get('?kind=Service')).body.items.map((x: any) => x.object.name), ['web'])
  t.same((await get('?user=bob@example.com&kind=ConfigMap')).body.items.map((x: any) => x.object.name), ['cm-3', 'cm-1'])
  t.same((await get('?name=cm-2')).body.items.length, 1)
  t.same((await get(`?uid=${c.get(R.services, 'shop', 'web').metadata.uid as string}`)).body.items.map((x: any) => x.object.name), ['web'])
  t.same((await get('?type=create&outcome=applied')).body.items.length, 6)
  t.same((await get('?type=rollout')).body.items.length, 0)
  t.same((await get('?since=2026-11-20T10:02:00Z&until=2026-11-20T10:04:00Z')).body.items.map((x: any) => x.object.name), ['cm-3', 'cm-2'])
  t.same((await get(`?since=${Date.parse('2026-11-20T10:04:00Z')}`)).body.items.map((x: any) => x.object.name), ['web', 'cm-4'])

  const names: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const page: { status: number, body: any } = await get(`?limit=2${cursor !== null ? `&cursor=${cursor}` : ''}`)
    t.equal(page.status, 200)
    names.push(...page.body.items.map((x: any) => x.object.name))
    cursor = page.body.nextCursor
    pages++
  } while (cursor !== null)
  t.equal(pages, 3)
  t.same(names, ['web', 'cm-4', 'cm-3', 'cm-2', 'cm-1', 'cm-0'], 'pages cover everything once, in order')

  const one = all.body.items[1]
  const detail = await a.app.server.inject(`/changes/${one.id as string}`)
  t.equal(detail.statusCode, 200)
  t.same(detail.json().timeline.map((e: any) => [e.action, e.kind, e.name, e.user]), [['create', 'ConfigMap', 'cm-4', 'alice@example.com']])
  t.same(detail.json().deliveries.map((d: any) => [d.sink, d.state]), [['log', 'delivered']])
  const missing = await a.app.server.inject('/changes/nope')
  t.equal(missing.statusCode, 404)
  t.same(missing.json(), { code: 'KC_NOT_FOUND', message: 'no change with id "nope"' })
})

t.test('bad parameters: 400 naming the parameter', async t => {
  const a = await testApp()
  t.teardown(a.close)
  for (const [q, msg] of [
    ['limit=0', /^limit: /], ['limit=1001', /^limit: /], ['limit=abc', /^limit: /], ['type=deploy', /^type: expected one of create, update/],
    ['outcome=ok', /^outcome: /], ['since=yesterday', /^since: /], ['until=x', /^until: /], ['cursor=zzz', /^cursor: /],
    ['namespace=', /^namespace: /], ['colour=red', /^colour: unknown parameter/], ['kind=a&kind=b', /^kind: give it once/]
  ] as Array<[string, RegExp]>) {
    const r = await a.app.server.inject(`/changes?${q}`)
    t.equal(r.statusCode, 400, q)
    t.equal(r.json().code, 'KC_BAD_PARAMETER', q)
    t.match(r.json().message, msg, q)
  }
})

t.test('changes survive a restart; the same events after restart record and deliver nothing new', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-restart-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const c = new Cluster()
  history(c)
  const events = c.take()
  const first = await testApp({ dir, start: c.t })
  await first.post(eventList(events))
  await first.advance(10_000)
  t.equal(first.printed.length, 6)
  await first.close()
  const second = await testApp({ dir, start: c.t + 20_000 })
  t.teardown(second.close)
  const r = await second.app.server.inject('/changes')
  t.equal(r.json().items.length, 6)
  await second.post(eventList(events))
  await second.advance(10_000)
  t.equal(second.printed.length, 0, 'nothing delivered twice')
  t.equal((await second.app.server.inject('/changes')).json().items.length, 6)
})

t.test('an API token guards /changes when set; health and metrics stay open', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-token-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'token'), 's3cret-token\n')
  const a = await testApp({ config: { apiTokenFile: join(dir, 'token') } })
  t.teardown(a.close)
  const get = (url: string, auth?: string) => a.app.server.inject({ url, headers: auth !== undefined ? { authorization: auth } : {} })
  for (const [auth, status] of [[undefined, 401], ['Bearer wrong', 401], ['Basic s3cret-token', 401], ['Bearer s3cret-token', 200]] as const) {
    t.equal((await get('/changes', auth)).statusCode, status, String(auth))
  }
  t.same((await get('/changes')).json(), { code: 'KC_UNAUTHORIZED', message: 'a bearer token is required for /changes' })
  t.equal((await get('/changes/x')).statusCode, 401)
  t.equal((await get('/changes/x', 'Bearer s3cret-token')).statusCode, 404)
  t.equal((await get('/healthz')).statusCode, 200)
  t.equal((await get('/metrics')).statusCode, 200)
})
