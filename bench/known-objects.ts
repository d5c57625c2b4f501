// Objects a cluster already holds, as a watch's first list hands them to the
// pipeline (baseline observations): per application a Deployment (full, as
// the index keeps a root's last state), 2 ReplicaSets and 3 Pods (owner links
// only: Pods arrive as PartialObjectMetadata). Used to measure ingest and
// memory with the object index holding N objects (bench/ingest.ts --objects).

import type { Observation } from '../src/model.js'

const uid = (kind: number, i: number, j = 0): string => `${kind.toString(16).padStart(8, '0')}-${(j & 0xffff).toString(16).padStart(4, '0')}-4000-8000-${i.toString(16).padStart(12, '0')}`

function watch (kind: string, group: string, resource: string, ns: string, name: string, u: string, rv: number, object: Observation['object'], owners: Observation['owners'] = []): Observation {
  return { source: 'watch', at: 0, ref: { apiGroup: group, version: 'v1', kind, resource, namespace: ns, name, uid: u }, action: 'create', resourceVersion: String(rv), owners, ...(object !== undefined ? { object } : {}) }
}

/** `n` known objects (rounded down to whole applications of 6). */
export function * knownObjects (n: number): Generator<Observation> {
  const apps = Math.floor(n / 6)
  let rv = 10_000
  for (let i = 0; i < apps; i++) {
    const ns = `team-${i % 300}`
    const name = `svc-${i}`
    const du = uid(1, i)
    const labels = { app: name, team: `t${i % 40}`, 'app.kubernetes.io/part-of': `product-${i % 60}` }
    const tpl = { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: `registry.example.com/${ns}/${name}:1.${i % 9}.0`, ports: [{ containerPort: 8080, protocol: 'TCP' }], resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } }, env: [{ name: 'MODE', value: 'prod' }] }] } }
    yield watch('Deployment', 'apps', 'deployments', ns, name, du, ++rv, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns, uid: du, resourceVersion: String(rv), generation: 4, labels, annotations: { 'deployment.kubernetes.io/revision': '4' } },
      spec: { replicas: 3, selector: { matchLabels: { app: name } }, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } }, template: tpl },
      status: { observedGeneration: 4, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 }
    })
    const dOwner = [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: du, controller: true }]
    for (let r = 0; r < 2; r++) {
      const rsName = `${name}-${(0x5f00 + r + i).toString(16)}`
      const ru = uid(2, i, r)
      yield watch('ReplicaSet', 'apps', 'replicasets', ns, rsName, ru, ++rv, { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: rsName, namespace: ns, uid: ru, ownerReferences: dOwner, labels: { app: name } } }, dOwner)
      if (r === 1) {
        const rsOwner = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rsName, uid: ru, controller: true }]
        for (let p = 0; p < 3; p++) {
          const podName = `${rsName}-${(0xa000 + p * 7 + i).toString(36)}`
          const pu = uid(3, i, p)
          yield watch('Pod', '', 'pods', ns, podName, pu, ++rv, { apiVersion: 'v1', kind: 'Pod', metadata: { name: podName, namespace: ns, uid: pu, ownerReferences: rsOwner, labels: { app: name } } }, rsOwner)
        }
      }
    }
  }
}
