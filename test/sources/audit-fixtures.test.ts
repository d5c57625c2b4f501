import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { normalizeAuditEvent } from '../../src/sources/audit.js'
import { eventList, testApp } from '../helpers/app.js'

// Every real audit event recorded from a real cluster (Falco's traces, the
// older v1beta1 shape) is accepted; the deliberately malformed one is
// rejected clearly without harming its batch.

// In the repository (test/fixtures/audit/falco/README.md says where they come from).
const DIR = join(import.meta.dirname, '../fixtures/audit/falco')
const files = readdirSync(DIR).filter(f => f.endsWith('.json')).sort()
const events = (f: string): unknown[] => readFileSync(join(DIR, f), 'utf8').split('\n').filter(l => l.trim() !== '').map(l => JSON.parse(l))

t.test('the fixtures are there', async t => {
  t.equal(files.length, 47)
})

t.test('each fixture file, posted alone, is answered 200 — but the malformed one 400', async t => {
  const a = await testApp()
  t.teardown(a.close)
  for (const f of files) {
    const items = events(f)
    const body = items.length === 1 ? items[0] : eventList(items)
    const res = await a.post(body)
    if (f === 'fal_01_003.json') {
      t.equal(res.statusCode, 400, f)
      t.same(res.json, { code: 'KC_BAD_EVENT_LIST', message: 'expected kind EventList or Event, got 0' })
    } else {
      t.equal(res.statusCode, 200, f)
      t.equal(res.json.malformed, 0, `${f}: no item rejected`)
    }
  }
})

t.test('all of them in one batch: the malformed item is skipped and counted, the rest processed', async t => {
  const a = await testApp()
  t.teardown(a.close)
  const all = files.flatMap(events)
  const res = await a.post(eventList(all))
  t.equal(res.statusCode, 200)
  t.same(res.json, { received: all.length, observations: res.json.observations, dropped: res.json.dropped, malformed: 1 })
  t.equal(res.json.observations + res.json.dropped + res.json.malformed, all.length)
  const m = await a.app.metrics.registry.getSingleMetricAsString('kubechanges_events_dropped_total')
  t.match(m, /reason="malformed"\} 1/)
  await a.advance(3_600_000)
  t.ok(a.stored().length > 20, 'changes recorded from the real events')
})

t.test('the stale objectRef.uid of create_configmap.json loses to the response', async t => {
  const [ev] = events('create_configmap.json') as any[]
  t.not(ev.objectRef.uid, ev.responseObject.metadata.uid, 'the fixture really is stale')
  const r = normalizeAuditEvent(ev)
  t.equal(r.kind, 'observation')
  if (r.kind !== 'observation') return
  t.equal(r.observation.ref.uid, ev.responseObject.metadata.uid)
  t.equal(r.observation.ref.kind, 'ConfigMap')
  t.equal(r.observation.action, 'create')
  t.equal(r.observation.request, undefined, 'a ConfigMap request body (values) is not kept')
  t.notMatch(JSON.stringify(r.observation), /color\.good=purple/, 'no ConfigMap value survives normalize')
})

t.test('secrets in the fixtures never survive normalize', async t => {
  for (const f of ['create_secret.json', 'create_kube_system_secret.json', 'create_service_account_token_secret.json', 'create_configmap_sensitive_values.json']) {
    for (const ev of events(f) as any[]) {
      const r = normalizeAuditEvent(ev)
      const values = [ev.requestObject?.data, ev.requestObject?.stringData, ev.responseObject?.data].filter(Boolean).flatMap(d => Object.values(d as Record<string, string>))
      // The Secret fixtures were recorded at Metadata level (no bodies): only the ConfigMap carries values.
      if (f.includes('configmap')) t.ok(values.length > 0, `${f} has values`)
      else t.equal(ev.level, 'Metadata', `${f} has no bodies`)
      for (const v of values) t.notOk(JSON.stringify(r).includes(v), `${f}: value gone`)
    }
  }
})
