// Writes examples/shop.audit.log: a day in a small cluster, as kube-apiserver's
// log backend (--audit-log-path) writes it, one JSON event per line, with the
// controllers' real write sequences, reads, leases and RequestReceived stages.
// Run: node --import tsx examples/make-audit-log.ts
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Cluster, USERS, R, CONTROLLERS } from '../test/helpers/cluster.js'

const c = new Cluster('2026-11-20T09:00:00Z', { withRequestReceived: true })
c.service(USERS.alice, 'shop', 'web', { app: 'web' })
c.create(USERS.alice, R.deployments, c.deploymentObject('shop', 'web', 'web:1.4', 4))
c.runDeploymentController('shop', 'web', { service: 'web', stepMs: 4000 })
c.noise()
c.advance(3_600_000)
c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config', namespace: 'shop' }, data: { LOG_LEVEL: 'info', FEATURE_X: 'off' } })
c.advance(600_000)
c.patch(USERS.bob, R.configmaps, 'shop', 'web-config', { data: { FEATURE_X: 'on' } }, o => { o.data.FEATURE_X = 'on' })
c.noise()
c.advance(60_000)
c.setImage(USERS.alice, 'shop', 'web', 'web:1.5')
c.runDeploymentController('shop', 'web', { service: 'web', stepMs: 5000 })
c.advance(1_800_000)
c.scale(CONTROLLERS.hpa, 'shop', 'web', 6)
c.runScale('shop', 'web', { service: 'web' })
c.advance(1_800_000)
// A node is lost: a pod is replaced elsewhere, no rollout.
const [victim] = [...c.pods.entries()][0]!
c.update(CONTROLLERS.endpointslice, R.endpointslices, 'shop', 'web-abcde', o => { o.endpoints = o.endpoints.filter((e: any) => e.targetRef.name !== victim) })
c.pods.delete(victim)
c.advance(3000)
c.update(CONTROLLERS.endpointslice, R.endpointslices, 'shop', 'web-abcde', o => {
  o.endpoints.push({ addresses: ['10.1.3.7'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-2', targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-replaced', uid: c.uid() } })
})
c.advance(600_000)
c.create(USERS.ci, R.jobs, { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'nightly-report', namespace: 'batch' }, spec: { backoffLimit: 2, template: { spec: { containers: [{ name: 'report', image: 'report:3' }], restartPolicy: 'Never' } } } })
const start = new Date(c.t).toISOString()
c.update(CONTROLLERS.job, R.jobs, 'batch', 'nightly-report', o => { o.status = { startTime: start, active: 1 } }, { sub: 'status' })
c.advance(12 * 60_000)
const end = new Date(c.t).toISOString()
c.update(CONTROLLERS.job, R.jobs, 'batch', 'nightly-report', o => { o.status = { startTime: start, completionTime: end, succeeded: 1, conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: end }] } }, { sub: 'status' })
c.noise()
const out = join(import.meta.dirname, 'shop.audit.log')
writeFileSync(out, c.take().map(e => JSON.stringify(e)).join('\n') + '\n')
console.log(`wrote ${out}`)
