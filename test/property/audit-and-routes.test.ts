import t from 'tap'
import fc from 'fast-check'
import { isDeepStrictEqual } from 'node:util'
import { normalizeAuditEvent } from '../../src/sources/audit.js'
import { eventList, testApp } from '../helpers/app.js'
import { Cluster, USERS, R } from '../helpers/cluster.js'

// Property-based: whatever arrives, the audit normaliser returns a verdict
// instead of throwing, and no route answers 5xx; a real event keeps its
// meaning (the same observation) under changes that carry no meaning: unknown
// fields, key order, unrelated annotations, a JSON round trip. Run counts are
// kept small enough for the file to stay well under 20 s on a busy machine.

// Real events, as the simulated apiserver writes them: writes that become observations.
function realEvents (): any[] {
  const c = new Cluster()
  c.service(USERS.alice, 'shop', 'web', { app: 'web' })
  c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1', 2))
  c.runDeploymentController('shop', 'web', { service: 'web' })
  c.setImage(USERS.bob, 'shop', 'web', 'web:2', { impersonate: USERS.ci })
  c.runDeploymentController('shop', 'web', { service: 'web' })
  c.scale(USERS.bob, 'shop', 'web', 3)
  c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'flags', namespace: 'shop' }, data: { a: '1' } })
  c.delete(USERS.alice, R.configmaps, 'shop', 'flags')
  c.noise()
  return c.take().filter(ev => normalizeAuditEvent(ev).kind === 'observation')
}
const REAL = realEvents()

const TOP_FIELDS = new Set(['kind', 'apiVersion', 'level', 'auditID', 'stage', 'requestURI', 'verb', 'user', 'impersonatedUser', 'sourceIPs', 'userAgent', 'objectRef', 'responseStatus', 'requestObject', 'responseObject', 'requestReceivedTimestamp', 'stageTimestamp', 'annotations', 'timestamp', 'metadata'])
const REF_FIELDS = new Set(['resource', 'namespace', 'name', 'uid', 'apiGroup', 'apiVersion', 'resourceVersion', 'subresource'])
const unknownKey = (known: Set<string>) => fc.string({ minLength: 1, maxLength: 12 }).filter(k => !known.has(k) && k !== '__proto__')

/** The same object with its keys (deeply) in another order. */
function reorder (v: unknown, seed: number): unknown {
  if (Array.isArray(v)) return v.map((x, i) => reorder(x, seed + i))
  if (v === null || typeof v !== 'object') return v
  const entries = Object.entries(v)
  // A seeded Fisher-Yates: the order is arbitrary but reproducible from the counterexample.
  let s = seed >>> 0
  for (let i = entries.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    const j = s % (i + 1);
    [entries[i], entries[j]] = [entries[j]!, entries[i]!]
  }
  return Object.fromEntries(entries.map(([k, x]) => [k, reorder(x, s + k.length)]))
}

/** Every path to a value inside v. */
function paths (v: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  const here = at.length > 0 ? [at] : []
  if (Array.isArray(v)) return [...here, ...v.flatMap((x, i) => paths(x, [...at, i]))]
  if (v !== null && typeof v === 'object') return [...here, ...Object.entries(v).flatMap(([k, x]) => paths(x, [...at, k]))]
  return here
}

/** A copy of v with the value at path replaced (or removed, for undefined). */
function replaceAt (v: any, path: Array<string | number>, value: unknown): any {
  const copy = structuredClone(v)
  let o = copy
  for (const k of path.slice(0, -1)) o = o[k]
  const last = path[path.length - 1]!
  if (value === undefined && !Array.isArray(o)) delete o[last]
  else o[last] = value
  return copy
}

const irrelevant = fc.record({
  top: fc.dictionary(unknownKey(TOP_FIELDS), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
  ref: fc.dictionary(unknownKey(REF_FIELDS), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  annotations: fc.dictionary(fc.string({ minLength: 1, maxLength: 30 }).filter(k => !k.endsWith('/admission-uid') && k !== '__proto__'), fc.string(), { maxKeys: 4 }),
  seed: fc.nat()
})

function withIrrelevant (ev: any, x: { top: Record<string, unknown>, ref: Record<string, unknown>, annotations: Record<string, string>, seed: number }): unknown {
  const changed = { ...x.top, ...ev, objectRef: { ...x.ref, ...ev.objectRef }, annotations: { ...x.annotations, ...ev.annotations } }
  return reorder(JSON.parse(JSON.stringify(changed)), x.seed)
}

/** A real event with one value somewhere inside replaced by arbitrary JSON, or removed. */
const damaged = fc.tuple(fc.constantFrom(...REAL), fc.nat(), fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }))
  .map(([ev, i, value]) => { const ps = paths(ev); return replaceAt(ev, ps[i % ps.length]!, value) })

const RUNS = 100

t.test('normaliser: real events yield observations', async t => {
  t.ok(REAL.length >= 20, `${REAL.length} real write events`)
  t.same(new Set(REAL.map(ev => ev.verb)), new Set(['create', 'update', 'patch', 'delete']))
})

t.test('normaliser: any value gets a verdict, never an exception', async t => {
  const verdict = (v: unknown): boolean => ['observation', 'dropped', 'malformed'].includes(normalizeAuditEvent(v).kind)
  fc.assert(fc.property(fc.anything(), verdict), { numRuns: RUNS })
  fc.assert(fc.property(damaged, verdict), { numRuns: RUNS * 4 })
  // Events shaped like audit events, every field arbitrary.
  const eventish = fc.record({
    kind: fc.oneof(fc.constant('Event'), fc.jsonValue()),
    auditID: fc.oneof(fc.uuid(), fc.jsonValue()),
    stage: fc.oneof(fc.constantFrom('ResponseComplete', 'Panic', 'RequestReceived'), fc.jsonValue()),
    verb: fc.oneof(fc.constantFrom('create', 'update', 'patch', 'delete', 'get'), fc.jsonValue()),
    objectRef: fc.oneof(fc.record({ resource: fc.constantFrom('deployments', 'configmaps', 'secrets', 'services', 'jobs', 'leases'), name: fc.string(), namespace: fc.string(), subresource: fc.constantFrom('status', 'scale', 'exec') }, { requiredKeys: ['resource'] }), fc.jsonValue()),
    responseObject: fc.jsonValue({ maxDepth: 4 }),
    requestObject: fc.jsonValue({ maxDepth: 4 }),
    responseStatus: fc.oneof(fc.record({ code: fc.integer() }), fc.jsonValue()),
    stageTimestamp: fc.oneof(fc.date({ noInvalidDate: true }).map(d => d.toISOString()), fc.jsonValue()),
    user: fc.jsonValue({ maxDepth: 2 }),
    annotations: fc.jsonValue({ maxDepth: 2 })
  }, { requiredKeys: [] })
  fc.assert(fc.property(eventish, verdict), { numRuns: RUNS * 2 })
  t.pass(`${RUNS * 7} arbitrary inputs, each with a verdict`)
})

t.test('normaliser: a real event means the same under unknown fields, key order, unrelated annotations', async t => {
  fc.assert(fc.property(fc.constantFrom(...REAL), irrelevant, (ev, x) => {
    const before = normalizeAuditEvent(ev)
    const after = normalizeAuditEvent(withIrrelevant(ev, x))
    return before.kind === 'observation' && isDeepStrictEqual(after, before)
  }), { numRuns: RUNS * 2 })
  t.pass('same observation every time')
})

t.test('routes: arbitrary input never gets a 5xx, errors are {code, message}', async t => {
  const a = await testApp()
  t.teardown(a.close)
  const inject = async (method: 'GET' | 'POST', url: string, payload?: string | Buffer) => {
    const res = await a.app.server.inject({ method, url, ...(payload !== undefined ? { payload, headers: { 'content-type': 'application/json' } } : {}) })
    return { status: res.statusCode, body: res.body }
  }
  const sane = (r: { status: number, body: string }): boolean => {
    if (r.status >= 500) return false
    if (r.status < 400) return true
    const b = JSON.parse(r.body)
    return typeof b.code === 'string' && b.code.startsWith('KC_') && typeof b.message === 'string' && Object.keys(b).length === 2
  }
  const json = fc.jsonValue({ maxDepth: 5 })
  await fc.assert(fc.asyncProperty(json, async v => sane(await inject('POST', '/audit', JSON.stringify(v)))), { numRuns: RUNS })
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async b => sane(await inject('POST', '/audit', Buffer.from(b)))), { numRuns: Math.ceil(RUNS / 3) })
  await fc.assert(fc.asyncProperty(json, async v => sane(await inject('POST', '/admission', JSON.stringify(v)))), { numRuns: RUNS })
  const review = fc.record({ apiVersion: fc.constantFrom('admission.k8s.io/v1', 'admission.k8s.io/v1beta1'), kind: fc.constant('AdmissionReview'), request: json })
  await fc.assert(fc.asyncProperty(review, async v => sane(await inject('POST', '/admission', JSON.stringify(v)))), { numRuns: RUNS })
  const query = fc.dictionary(fc.constantFrom('namespace', 'kind', 'name', 'uid', 'type', 'outcome', 'user', 'since', 'until', 'limit', 'cursor', 'x'), fc.string({ maxLength: 30 }), { maxKeys: 4 })
  await fc.assert(fc.asyncProperty(query, async q => sane(await inject('GET', `/changes?${new URLSearchParams(q).toString()}`))), { numRuns: RUNS })
  await fc.assert(fc.asyncProperty(fc.string({ maxLength: 40 }), async id => sane(await inject('GET', `/changes/${encodeURIComponent(id)}`))), { numRuns: Math.ceil(RUNS / 3) })
  t.pass('no 5xx')

  // In a batch, a damaged event costs itself only: 200, every item accounted for.
  await fc.assert(fc.asyncProperty(fc.array(fc.oneof(damaged, json), { maxLength: 8 }), async items => {
    const r = await inject('POST', '/audit', JSON.stringify(eventList(items)))
    const b = JSON.parse(r.body)
    return r.status === 200 && b.received === items.length && b.observations + b.dropped + b.malformed === items.length
  }), { numRuns: RUNS })
  t.pass('batches of damaged events are answered 200 and counted')

  // After all that the service still serves, and a real event is still one observation.
  let n = 0
  await fc.assert(fc.asyncProperty(fc.constantFrom(...REAL), irrelevant, async (ev, x) => {
    const fresh = { ...ev, auditID: `prop-${++n}` }
    const r = await inject('POST', '/audit', JSON.stringify(eventList([withIrrelevant(fresh, x)])))
    return r.status === 200 && isDeepStrictEqual(JSON.parse(r.body), { received: 1, observations: 1, dropped: 0, malformed: 0 })
  }), { numRuns: Math.ceil(RUNS / 3) })
  t.equal((await inject('GET', '/healthz')).status, 200)
})
