// A small factory of Change records for tests. Every helper returns a fresh
// object; `over` replaces top-level fields (details and object are merged).

import type { Change, ChangeDetails } from '../../src/model.js'

export type ChangeOverrides = Omit<Partial<Change>, 'object' | 'details'> & {
  object?: Partial<Change['object']>
  details?: ChangeDetails
}

let seq = 0

export function makeChange (over: ChangeOverrides = {}): Change {
  seq++
  const { object, details, ...rest } = over
  return {
    id: `chg-${seq}`,
    type: 'update',
    outcome: 'applied',
    object: { kind: 'Deployment', namespace: 'shop', name: 'web', uid: `uid-${seq}`, ...object },
    actor: { username: 'alice', groups: ['system:authenticated'] },
    summary: 'shop/web updated',
    startedAt: '2025-01-01T10:00:00.000Z',
    endedAt: '2025-01-01T10:00:38.000Z',
    durationMs: 38_000,
    details: details ?? {},
    counts: { audit: 1 },
    auditIDs: [`audit-${seq}`],
    timeline: [
      { at: '2025-01-01T10:00:00.000Z', source: 'audit', action: 'patch', kind: 'Deployment', name: 'web', user: 'alice', auditID: `audit-${seq}` }
    ],
    ...rest
  }
}

export function rolloutChange (over: ChangeOverrides = {}): Change {
  return makeChange({
    type: 'rollout',
    outcome: 'succeeded',
    summary: 'shop/web rolled out revision 7 — web:1.4.0 → web:1.5.0 — by alice, 4/4 pods available in 38 s',
    details: {
      revision: 7,
      images: [{ container: 'web', from: 'registry.example.com/shop/web:1.4.0', to: 'registry.example.com/shop/web:1.5.0' }],
      replicas: { desired: 4, ready: 4, available: 4, updated: 4 },
      diff: [{ path: 'spec.template.spec.containers[0].image', from: 'registry.example.com/shop/web:1.4.0', to: 'registry.example.com/shop/web:1.5.0' }]
    },
    timeline: [
      { at: '2025-01-01T10:00:00.000Z', source: 'audit', action: 'patch', kind: 'Deployment', name: 'web', user: 'alice' },
      { at: '2025-01-01T10:00:01.000Z', source: 'watch', action: 'create', kind: 'ReplicaSet', name: 'web-7d9f' },
      { at: '2025-01-01T10:00:38.000Z', source: 'watch', action: 'status', kind: 'Deployment', name: 'web', subresource: 'status', note: '4/4 available' }
    ],
    ...over
  })
}

export function scaleChange (over: ChangeOverrides = {}): Change {
  return makeChange({
    type: 'scale',
    outcome: 'succeeded',
    summary: 'shop/web scaled 3 → 5',
    details: { replicas: { from: 3, to: 5, desired: 5, ready: 5 } },
    ...over
  })
}

export function jobChange (over: ChangeOverrides = {}): Change {
  return makeChange({
    type: 'job',
    outcome: 'failed',
    object: { kind: 'Job', namespace: 'batch', name: 'nightly-report' },
    summary: 'batch/nightly-report Job failed after 12 min: BackoffLimitExceeded',
    durationMs: 12 * 60_000,
    details: { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' },
    ...over
  })
}

export function endpointsChange (over: ChangeOverrides = {}): Change {
  return makeChange({
    type: 'endpoints',
    outcome: 'applied',
    object: { kind: 'Service', namespace: 'shop', name: 'db' },
    actor: null,
    summary: 'shop/db endpoints changed: +10.1.2.3 −10.1.2.9',
    details: { endpoints: [{ service: 'db', added: ['10.1.2.3'], removed: ['10.1.2.9'] }] },
    ...over
  })
}

export function createChange (over: ChangeOverrides = {}): Change {
  return makeChange({
    type: 'create',
    outcome: 'applied',
    object: { kind: 'Service', namespace: 'shop', name: 'web' },
    summary: 'Service shop/web created',
    ...over
  })
}

export function deleteChange (over: ChangeOverrides = {}): Change {
  return makeChange({
    type: 'delete',
    outcome: 'applied',
    object: { kind: 'ConfigMap', namespace: 'shop', name: 'web-config' },
    summary: 'ConfigMap shop/web-config deleted',
    ...over
  })
}
