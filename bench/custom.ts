// Cost of the custom-resource and Service detectors in the correlator, side by
// side in one run: a status write judged by a built-in rule (Deployment), by
// the Argo Rollout rule, by the generic rule (a Widget) and by a config CEL
// rule; and what an operator's Secret write costs with N open changes in the
// window (it looks for the Certificate naming it).
//
//   node --import tsx bench/custom.ts [--open 10000] [--writes 20000]

import { Correlator } from '../src/correlate/correlator.js'
import { parseKinds } from '../src/detectors/status/index.js'
import type { Observation } from '../src/model.js'

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}
const OPEN = arg('open', 10_000)
const WRITES = arg('writes', 20_000)
const alice = { username: 'alice@example.com', groups: [] }
const operator = { username: 'system:serviceaccount:cert-manager:cert-manager', groups: [] }

function obs (o: Partial<Observation> & Pick<Observation, 'ref' | 'action' | 'at'>): Observation {
  return { source: 'audit', owners: [], ...o }
}

function widget (i: number, gen: number, status?: unknown): any {
  return { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: `w${i}`, namespace: 'shop', uid: `w-${i}`, generation: gen, resourceVersion: String(i * 10 + gen) }, spec: { size: 'small' }, ...(status !== undefined ? { status } : {}) }
}

/** µs per status write of an open change, for one kind: the change stays undecided (Reconciling / Progressing). */
function statusWrites (kinds: ReturnType<typeof parseKinds> | undefined, make: (i: number, n: number) => Observation, open: (i: number) => Observation): number {
  const c = new Correlator({ quietMs: 5000, ttlMs: 3_600_000, maxObjects: 100_000, onChange: () => {}, ...(kinds !== undefined ? { kinds } : {}) })
  for (let i = 0; i < 100; i++) c.ingest(open(i))
  const t0 = process.hrtime.bigint()
  for (let n = 0; n < WRITES; n++) c.ingest(make(n % 100, n))
  return Number(process.hrtime.bigint() - t0) / 1000 / WRITES
}

const ref = (kind: string, group: string, resource: string, i: number, uid?: string): Observation['ref'] => ({ apiGroup: group, version: 'v1', kind, resource, namespace: 'shop', name: `${resource}${i}`, ...(uid !== undefined ? { uid } : {}) })
const progressing = { observedGeneration: 1, conditions: [{ type: 'Reconciling', status: 'True', reason: 'Provisioning', message: 'provisioning', observedGeneration: 1 }, { type: 'Ready', status: 'False', reason: 'Provisioning', message: 'provisioning', observedGeneration: 1 }] }

const widgetOpen = (i: number): Observation => { const o = widget(i, 1); return obs({ at: 1000, ref: ref('Widget', 'example.com', 'widgets', i, o.metadata.uid), action: 'create', object: o, actor: alice, generation: 1, resourceVersion: o.metadata.resourceVersion, auditID: `c${i}` }) }
const widgetStatus = (i: number, n: number): Observation => { const o = widget(i, 1, progressing); o.metadata.resourceVersion = String(1_000_000 + n); return obs({ at: 2000, ref: { ...ref('Widget', 'example.com', 'widgets', i, o.metadata.uid), subresource: 'status' }, action: 'status', object: o, actor: operator, resourceVersion: o.metadata.resourceVersion, auditID: `s${n}` }) }
const deployment = (i: number, rv: string, status?: unknown): any => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: `d${i}`, namespace: 'shop', uid: `d-${i}`, generation: 1, resourceVersion: rv }, spec: { replicas: 3, template: { spec: { containers: [{ name: 'a', image: 'a:1' }] } } }, ...(status !== undefined ? { status } : {}) })
const depOpen = (i: number): Observation => { const o = deployment(i, String(i)); return obs({ at: 1000, ref: ref('Deployment', 'apps', 'deployments', i, o.metadata.uid), action: 'create', object: o, actor: alice, generation: 1, resourceVersion: o.metadata.resourceVersion, auditID: `c${i}` }) }
const depStatus = (i: number, n: number): Observation => { const o = deployment(i, String(1_000_000 + n), { observedGeneration: 1, replicas: 3, updatedReplicas: 1, availableReplicas: 1 }); return obs({ at: 2000, ref: { ...ref('Deployment', 'apps', 'deployments', i, o.metadata.uid), subresource: 'status' }, action: 'status', object: o, actor: operator, resourceVersion: o.metadata.resourceVersion, auditID: `s${n}` }) }

const cel = parseKinds({ 'widgets.example.com': { succeeded: "object.status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')", failed: "object.status.conditions.exists(c, c.type == 'Stalled' && c.status == 'True')" } })

// An operator's Secret writes with OPEN open custom-resource changes in the window.
function secretWrites (): number {
  const c = new Correlator({ quietMs: 5000, ttlMs: 3_600_000, maxObjects: OPEN + 1000, onChange: () => {} })
  for (let i = 0; i < OPEN; i++) c.ingest(widgetOpen(i))
  const t0 = process.hrtime.bigint()
  for (let n = 0; n < WRITES; n++) {
    c.ingest(obs({ at: 3000, ref: ref('Secret', '', 'secrets', n % 50), action: 'patch', actor: operator, auditID: `x${n}` }))
  }
  return Number(process.hrtime.bigint() - t0) / 1000 / WRITES
}

const rows: Array<[string, string]> = [
  ['Deployment status write (kubectl rule)', `${statusWrites(undefined, depStatus, depOpen).toFixed(1)} µs`],
  ['Widget status write (generic rule)', `${statusWrites(undefined, widgetStatus, widgetOpen).toFixed(1)} µs`],
  ['Widget status write (kinds: CEL rule, 2 expressions)', `${statusWrites(cel, widgetStatus, widgetOpen).toFixed(1)} µs`],
  [`operator Secret write, ${OPEN} open changes`, `${secretWrites().toFixed(1)} µs`]
]
for (const [k, v] of rows) console.log(`${k.padEnd(56)} ${v}`)
