// A simulated cluster that writes audit events the way kube-apiserver does
// (audit.k8s.io/v1 Event schema): people and CI write desired state, the
// controllers answer with their real write sequences (the deployment
// controller's ReplicaSet create and scales and status writes, the
// replicaset controller's pods, the scheduler's bindings, kubelets' pod
// status, the endpointslice controller), with leases, reads and events around
// them. Rules the real apiserver follows and the pipeline must cope with:
// - objectRef.uid is empty on create, patch and delete (filled on update only
//   from the request body);
// - one auditID per request, with a RequestReceived stage unless the policy
//   omits it, then ResponseComplete;
// - pods are audited at Metadata level (no bodies), workloads at RequestResponse.

import type { Observation } from '../../src/model.js'

export interface AuditEvent {
  kind: 'Event'
  apiVersion: 'audit.k8s.io/v1'
  level: 'Metadata' | 'Request' | 'RequestResponse'
  auditID: string
  stage: 'RequestReceived' | 'ResponseStarted' | 'ResponseComplete' | 'Panic'
  requestURI: string
  verb: string
  user: { username: string, uid?: string, groups: string[] }
  impersonatedUser?: { username: string, groups: string[] }
  sourceIPs: string[]
  userAgent: string
  objectRef?: { resource: string, namespace?: string, name?: string, uid?: string, apiGroup?: string, apiVersion: string, resourceVersion?: string, subresource?: string }
  responseStatus: { metadata: Record<string, never>, code: number, status?: string, reason?: string }
  requestObject?: unknown
  responseObject?: unknown
  requestReceivedTimestamp: string
  stageTimestamp: string
  annotations: Record<string, string>
}

export const USERS = {
  alice: { username: 'alice@example.com', groups: ['devs', 'system:authenticated'] },
  ci: { username: 'system:serviceaccount:ci:deployer', groups: ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'] },
  bob: { username: 'bob@example.com', groups: ['ops', 'system:authenticated'] }
}
const SA = (name: string) => ({ username: `system:serviceaccount:kube-system:${name}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] })
export const CONTROLLERS = {
  deployment: SA('deployment-controller'),
  replicaset: SA('replicaset-controller'),
  statefulset: SA('statefulset-controller'),
  daemonset: SA('daemon-set-controller'),
  job: SA('job-controller'),
  endpointslice: SA('endpointslice-controller'),
  gc: SA('generic-garbage-collector'),
  hpa: SA('horizontal-pod-autoscaler'),
  scheduler: { username: 'system:kube-scheduler', groups: ['system:authenticated'] },
  kubelet: (node: string) => ({ username: `system:node:${node}`, groups: ['system:nodes', 'system:authenticated'] })
}

export type User = { username: string, groups: string[] }

export interface Resource { group: string, version: string, resource: string, kind: string }
export const R = {
  deployments: { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment' },
  replicasets: { group: 'apps', version: 'v1', resource: 'replicasets', kind: 'ReplicaSet' },
  statefulsets: { group: 'apps', version: 'v1', resource: 'statefulsets', kind: 'StatefulSet' },
  daemonsets: { group: 'apps', version: 'v1', resource: 'daemonsets', kind: 'DaemonSet' },
  jobs: { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job' },
  pods: { group: '', version: 'v1', resource: 'pods', kind: 'Pod' },
  services: { group: '', version: 'v1', resource: 'services', kind: 'Service' },
  configmaps: { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap' },
  secrets: { group: '', version: 'v1', resource: 'secrets', kind: 'Secret' },
  endpointslices: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', kind: 'EndpointSlice' },
  leases: { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease' },
  events: { group: '', version: 'v1', resource: 'events', kind: 'Event' }
} satisfies Record<string, Resource>

function clone<T> (v: T): T { return structuredClone(v) }

/** What the watch hands the pipeline for `obj` of resource `r` (a copy: the cluster writes on). */
export function watchObservation (r: Resource, obj: any, action: Observation['action'], at: number): Observation {
  return {
    source: 'watch',
    at,
    ref: { apiGroup: r.group, version: r.version, kind: r.kind, resource: r.resource, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name, uid: obj.metadata.uid },
    action,
    resourceVersion: obj.metadata.resourceVersion,
    owners: [],
    object: clone(obj)
  }
}

export class Cluster {
  t: number
  events: AuditEvent[] = []
  objects = new Map<string, any>()
  #rv = 1000
  #ids = 0
  #ip = 10
  /** Called for every persisted write, with the object as stored: lets a fake apiserver's watch see the same writes. */
  onWrite?: (type: 'ADDED' | 'MODIFIED' | 'DELETED', r: Resource, obj: any) => void
  /** Emit a RequestReceived stage before each ResponseComplete (a policy that does not omit it). */
  withRequestReceived: boolean

  constructor (start = '2026-11-20T10:00:00Z', opts: { withRequestReceived?: boolean, seed?: number } = {}) {
    this.t = Date.parse(start)
    this.withRequestReceived = opts.withRequestReceived ?? false
    this.#ids = opts.seed ?? 0
  }

  advance (ms: number): this { this.t += ms; return this }
  uid (): string { return `00000000-0000-4000-8000-${(++this.#ids).toString(16).padStart(12, '0')}` }
  nextRV (): string { return String(++this.#rv) }
  podIP (): string { return `10.1.2.${this.#ip++}` }
  take (): AuditEvent[] { const e = this.events; this.events = []; return e }
  ts (): string { return new Date(this.t).toISOString().replace('Z', '000Z').replace(/\.(\d{3})000Z$/, '.$1000Z') }

  uri (r: Resource, ns: string | undefined, name?: string, sub?: string, query = ''): string {
    const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`
    return `${base}${ns !== undefined ? `/namespaces/${ns}` : ''}/${r.resource}${name !== undefined ? `/${name}` : ''}${sub !== undefined ? `/${sub}` : ''}${query}`
  }

  /** One API request as the apiserver audits it. */
  request (o: {
    user: User, verb: string, r: Resource, ns?: string, name?: string, sub?: string, level?: AuditEvent['level'],
    requestObject?: unknown, responseObject?: unknown, code?: number, refUid?: string, query?: string, impersonate?: User, userAgent?: string
  }): AuditEvent {
    const auditID = this.uid().replace('00000000', 'a0d17000')
    const level = o.level ?? 'RequestResponse'
    const ev: AuditEvent = {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level,
      auditID,
      stage: 'ResponseComplete',
      requestURI: this.uri(o.r, o.ns, o.verb === 'create' ? undefined : o.name, o.sub, o.query),
      verb: o.verb,
      user: clone(o.user),
      sourceIPs: [o.user.username.startsWith('system:') ? '172.18.0.2' : '192.168.1.20'],
      userAgent: o.userAgent ?? (o.user.username.startsWith('system:serviceaccount:kube-system:') ? `kube-controller-manager/v1.31.0 (linux/amd64) kubernetes/9edcffc/${o.user.username.split(':').pop() ?? ''}` : 'kubectl/v1.31.0 (linux/amd64) kubernetes/9edcffc'),
      objectRef: {
        resource: o.r.resource,
        ...(o.ns !== undefined ? { namespace: o.ns } : {}),
        ...(o.name !== undefined ? { name: o.name } : {}),
        ...(o.refUid !== undefined ? { uid: o.refUid } : {}),
        ...(o.r.group !== '' ? { apiGroup: o.r.group } : {}),
        apiVersion: o.r.version,
        ...(o.sub !== undefined ? { subresource: o.sub } : {})
      },
      responseStatus: { metadata: {}, code: o.code ?? (o.verb === 'create' ? 201 : 200) },
      requestReceivedTimestamp: new Date(this.t - 3).toISOString(),
      stageTimestamp: new Date(this.t).toISOString(),
      annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' }
    }
    if (o.impersonate !== undefined) ev.impersonatedUser = clone(o.impersonate)
    if (level !== 'Metadata' && o.requestObject !== undefined) ev.requestObject = clone(o.requestObject)
    if (level === 'RequestResponse' && o.responseObject !== undefined) ev.responseObject = clone(o.responseObject)
    if ((o.code ?? 200) >= 400) {
      ev.responseStatus = { metadata: {}, code: o.code ?? 500, status: 'Failure', reason: o.code === 403 ? 'Forbidden' : o.code === 409 ? 'Conflict' : 'NotFound' }
      delete ev.responseObject
    }
    if (this.withRequestReceived) {
      const rr = clone(ev)
      rr.stage = 'RequestReceived'
      rr.stageTimestamp = rr.requestReceivedTimestamp
      delete rr.responseObject
      rr.responseStatus = undefined as any
      delete (rr as any).responseStatus
      this.events.push(rr)
    }
    this.events.push(ev)
    this.t += 5
    return ev
  }

  // ---- generic object life -------------------------------------------------

  key (r: Resource, ns: string, name: string): string { return `${r.resource}/${ns}/${name}` }
  get (r: Resource, ns: string, name: string): any { return this.objects.get(this.key(r, ns, name)) }

  create (user: User, r: Resource, obj: any, opts: { level?: AuditEvent['level'], generate?: boolean } = {}): any {
    const ns = obj.metadata.namespace
    const full = this.#stamp(r, obj)
    if (full.spec !== undefined && !(r.group === '' && (r.kind === 'Service' || r.kind === 'Pod'))) full.metadata.generation = 1
    this.objects.set(this.key(r, ns, full.metadata.name), full)
    this.request({ user, verb: 'create', r, ns, name: full.metadata.name, requestObject: obj, responseObject: full, level: opts.level })
    this.onWrite?.('ADDED', r, full)
    return full
  }

  /** The object as the apiserver stores a new one: type, uid, resourceVersion, creationTimestamp. */
  #stamp (r: Resource, obj: any): any {
    const full = clone(obj)
    full.apiVersion = r.group === '' ? r.version : `${r.group}/${r.version}`
    full.kind = r.kind
    full.metadata.uid = this.uid()
    full.metadata.resourceVersion = this.nextRV()
    full.metadata.creationTimestamp = new Date(Math.floor(this.t / 1000) * 1000).toISOString().replace('.000', '')
    return full
  }

  /** Store a changed copy as the apiserver would: generation moves with spec (not on status writes), a new resourceVersion. */
  #persist (r: Resource, ns: string, name: string, mutate: (o: any) => void, sub?: string): { cur: any, next: any } {
    const cur = this.get(r, ns, name)
    const next = clone(cur)
    mutate(next)
    if (sub !== 'status' && JSON.stringify(next.spec) !== JSON.stringify(cur.spec) && next.metadata.generation !== undefined) next.metadata.generation++
    next.metadata.resourceVersion = this.nextRV()
    this.objects.set(this.key(r, ns, name), next)
    return { cur, next }
  }

  /** A full-object PUT (controllers, `kubectl replace`): objectRef.uid comes from the body. */
  update (user: User, r: Resource, ns: string, name: string, mutate: (o: any) => void, opts: { sub?: string, level?: AuditEvent['level'] } = {}): any {
    const { cur, next } = this.#persist(r, ns, name, mutate, opts.sub)
    this.request({ user, verb: 'update', r, ns, name, sub: opts.sub, requestObject: next, responseObject: next, refUid: cur.metadata.uid, level: opts.level })
    this.onWrite?.('MODIFIED', r, next)
    return next
  }

  /** A PATCH (kubectl apply/set/edit): objectRef.uid is empty. */
  patch (user: User, r: Resource, ns: string, name: string, patchBody: unknown, mutate: (o: any) => void, opts: { sub?: string, level?: AuditEvent['level'], impersonate?: User } = {}): any {
    const { next } = this.#persist(r, ns, name, mutate, opts.sub)
    this.request({ user, verb: 'patch', r, ns, name, sub: opts.sub, requestObject: patchBody, responseObject: next, level: opts.level, impersonate: opts.impersonate })
    this.onWrite?.('MODIFIED', r, next)
    return next
  }

  delete (user: User, r: Resource, ns: string, name: string, opts: { level?: AuditEvent['level'] } = {}): void {
    const cur = this.get(r, ns, name)
    this.objects.delete(this.key(r, ns, name))
    this.onWrite?.('DELETED', r, { ...cur, metadata: { ...cur.metadata, resourceVersion: this.nextRV() } })
    this.request({
      user,
      verb: 'delete',
      r,
      ns,
      name,
      level: opts.level,
      requestObject: { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1', propagationPolicy: 'Background' },
      responseObject: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: r.group, kind: r.resource, uid: cur.metadata.uid } }
    })
  }

  /** A controller's status write (PUT or merge PATCH of /status): generation does not move. */
  writeStatus (user: User, r: Resource, ns: string, name: string, status: unknown, opts: { verb?: 'update' | 'patch' } = {}): any {
    if ((opts.verb ?? 'patch') === 'update') return this.update(user, r, ns, name, o => { o.status = clone(status) }, { sub: 'status' })
    return this.patch(user, r, ns, name, { status }, o => { o.status = clone(status) }, { sub: 'status' })
  }

  /** Server-side apply (verb patch, creates when absent), as cert-manager writes a Certificate's Secret. */
  apply (user: User, r: Resource, obj: any, opts: { level?: AuditEvent['level'] } = {}): any {
    const ns = obj.metadata.namespace
    const name = obj.metadata.name
    if (this.get(r, ns, name) === undefined) {
      const full = this.#stamp(r, obj)
      this.objects.set(this.key(r, ns, name), full)
      this.request({ user, verb: 'patch', r, ns, name, requestObject: obj, responseObject: full, level: opts.level, code: 201 })
      this.onWrite?.('ADDED', r, full)
      return full
    }
    return this.patch(user, r, ns, name, obj, o => { Object.assign(o.metadata, clone(obj.metadata)); for (const [k, v] of Object.entries(obj)) if (k !== 'metadata') o[k] = clone(v) }, { level: opts.level })
  }

  // ---- background noise ------------------------------------------------------

  noise (): void {
    const leaseUser = CONTROLLERS.kubelet('node-1')
    this.request({ user: leaseUser, verb: 'update', r: R.leases, ns: 'kube-node-lease', name: 'node-1', level: 'Metadata', refUid: '11111111-2222-4333-8444-555555555555' })
    this.request({ user: USERS.bob, verb: 'get', r: R.deployments, ns: 'shop', name: 'web', level: 'Metadata' })
    this.request({ user: USERS.bob, verb: 'list', r: R.pods, ns: 'shop', level: 'Metadata' })
    this.request({ user: CONTROLLERS.scheduler, verb: 'create', r: R.events, ns: 'shop', name: 'web.17a', level: 'Metadata' })
  }

  // ---- the deployment controller -------------------------------------------

  deploymentObject (ns: string, name: string, image: string, replicas: number, labels = { app: name }): any {
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns, labels: { ...labels } },
      spec: {
        replicas,
        selector: { matchLabels: { ...labels } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
        progressDeadlineSeconds: 600,
        revisionHistoryLimit: 10,
        template: {
          metadata: { creationTimestamp: null, labels: { ...labels } },
          spec: { containers: [{ name, image, ports: [{ containerPort: 8080, protocol: 'TCP' }], resources: {} }], restartPolicy: 'Always', terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst' }
        }
      }
    }
  }

  #hash (tpl: unknown): string {
    let h = 2166136261
    for (const c of JSON.stringify(tpl)) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0
    return h.toString(36).slice(0, 10)
  }

  /** Pods of a ReplicaSet, by name → ip; Metadata level, as the policy records pods. */
  pods = new Map<string, { rs: string, ip: string, ns: string, uid: string }>()

  #scaleRS (ns: string, rsName: string, replicas: number): void {
    const rs = this.get(R.replicasets, ns, rsName)
    if (rs.spec.replicas !== replicas) {
      this.update(CONTROLLERS.deployment, R.replicasets, ns, rsName, o => { o.spec.replicas = replicas })
    }
    const mine = [...this.pods.entries()].filter(([, p]) => p.rs === rsName && p.ns === ns)
    for (let i = mine.length; i < replicas; i++) {
      const pod = `${rsName}-${this.#hash([rsName, i, this.t]).slice(0, 5)}`
      const ip = this.podIP()
      this.pods.set(pod, { rs: rsName, ip, ns, uid: this.uid() })
      this.request({ user: CONTROLLERS.replicaset, verb: 'create', r: R.pods, ns, name: pod, level: 'Metadata' })
      this.request({ user: CONTROLLERS.scheduler, verb: 'create', r: R.pods, ns, name: pod, sub: 'binding', level: 'Metadata' })
      this.advance(800)
      this.request({ user: CONTROLLERS.kubelet('node-1'), verb: 'patch', r: R.pods, ns, name: pod, sub: 'status', level: 'Metadata' })
    }
    for (let i = replicas; i < mine.length; i++) {
      const [pod] = mine[i]!
      this.request({ user: CONTROLLERS.replicaset, verb: 'delete', r: R.pods, ns, name: pod, level: 'Metadata' })
      this.pods.delete(pod)
    }
    const ready = [...this.pods.values()].filter(p => p.rs === rsName && p.ns === ns).length
    this.update(CONTROLLERS.replicaset, R.replicasets, ns, rsName, o => {
      o.status = { replicas: ready, fullyLabeledReplicas: ready, readyReplicas: ready, availableReplicas: ready, observedGeneration: o.metadata.generation }
    }, { sub: 'status' })
  }

  /** The endpointslice controller rewrites the Service's slice from the ready pods. */
  syncEndpoints (ns: string, service: string, selector: Record<string, string>): void {
    const sliceName = `${service}-abcde`
    const ready = [...this.pods.entries()].filter(([, p]) => p.ns === ns && this.#rsMatches(ns, p.rs, selector))
    const endpoints = ready.map(([pod, p]) => ({ addresses: [p.ip], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-1', targetRef: { kind: 'Pod', namespace: ns, name: pod, uid: p.uid } }))
    const cur = this.get(R.endpointslices, ns, sliceName)
    if (cur === undefined) {
      const svc = this.get(R.services, ns, service)
      this.create(CONTROLLERS.endpointslice, R.endpointslices, {
        metadata: { name: sliceName, namespace: ns, labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' }, ownerReferences: svc !== undefined ? [{ apiVersion: 'v1', kind: 'Service', name: service, uid: svc.metadata.uid, controller: true, blockOwnerDeletion: true }] : [] },
        addressType: 'IPv4',
        endpoints,
        ports: [{ name: '', port: 8080, protocol: 'TCP' }]
      })
      return
    }
    if (JSON.stringify(cur.endpoints) === JSON.stringify(endpoints)) return
    this.update(CONTROLLERS.endpointslice, R.endpointslices, ns, sliceName, o => { o.endpoints = endpoints })
  }

  #rsMatches (ns: string, rsName: string, selector: Record<string, string>): boolean {
    const rs = this.get(R.replicasets, ns, rsName)
    const labels = rs?.spec?.template?.metadata?.labels ?? {}
    return Object.entries(selector).every(([k, v]) => labels[k] === v)
  }

  #deploymentStatus (ns: string, name: string, s: { updated: number, replicas: number, available: number }, extra?: (o: any) => void): void {
    this.update(CONTROLLERS.deployment, R.deployments, ns, name, o => {
      o.status = {
        observedGeneration: o.metadata.generation,
        replicas: s.replicas,
        updatedReplicas: s.updated,
        readyReplicas: s.available,
        availableReplicas: s.available,
        ...(s.replicas - s.available > 0 ? { unavailableReplicas: s.replicas - s.available } : {}),
        conditions: [
          { type: 'Available', status: s.available >= o.spec.replicas - 1 ? 'True' : 'False', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastUpdateTime: new Date(this.t).toISOString(), lastTransitionTime: new Date(this.t).toISOString() },
          { type: 'Progressing', status: 'True', reason: s.updated === o.spec.replicas && s.available === s.updated ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated', message: `ReplicaSet "${name}" is progressing.`, lastUpdateTime: new Date(this.t).toISOString(), lastTransitionTime: new Date(this.t).toISOString() }
        ]
      }
      extra?.(o)
    }, { sub: 'status' })
  }

  /**
   * The deployment controller after a template change: a new ReplicaSet,
   * the revision annotation, then surge/scale-down steps with status writes,
   * the endpointslice controller following the pods.
   */
  runDeploymentController (ns: string, name: string, opts: { service?: string, stepMs?: number, stall?: boolean } = {}): void {
    const d = this.get(R.deployments, ns, name)
    const hash = this.#hash(d.spec.template)
    const newRS = `${name}-${hash}`
    const desired = d.spec.replicas
    const old = [...this.objects.values()].filter(o => o.kind === 'ReplicaSet' && o.metadata.namespace === ns && o.metadata.ownerReferences?.[0]?.uid === d.metadata.uid && o.metadata.name !== newRS)
    const revisions = [...this.objects.values()].filter(o => o.kind === 'ReplicaSet' && o.metadata.ownerReferences?.[0]?.uid === d.metadata.uid).map(o => Number(o.metadata.annotations['deployment.kubernetes.io/revision']))
    const revision = String(Math.max(0, ...revisions) + 1)
    this.advance(40)
    if (this.get(R.replicasets, ns, newRS) === undefined) {
      this.create(CONTROLLERS.deployment, R.replicasets, {
        metadata: {
          name: newRS,
          namespace: ns,
          labels: { ...d.spec.template.metadata.labels, 'pod-template-hash': hash },
          annotations: { 'deployment.kubernetes.io/desired-replicas': String(desired), 'deployment.kubernetes.io/max-replicas': String(desired + 1), 'deployment.kubernetes.io/revision': revision },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: d.metadata.uid, controller: true, blockOwnerDeletion: true }]
        },
        spec: { replicas: 0, selector: { matchLabels: { ...d.spec.selector.matchLabels, 'pod-template-hash': hash } }, template: d.spec.template }
      })
    }
    this.update(CONTROLLERS.deployment, R.deployments, ns, name, o => {
      o.metadata.annotations = { ...(o.metadata.annotations ?? {}), 'deployment.kubernetes.io/revision': revision }
    })
    let updated = 0
    const oldCounts = new Map(old.map(o => [o.metadata.name as string, o.spec.replicas as number]))
    const total = (): number => updated + [...oldCounts.values()].reduce((a, b) => a + b, 0)
    this.#deploymentStatus(ns, name, { updated, replicas: total(), available: total() })
    const step = opts.stepMs ?? 3000
    while (updated < desired || [...oldCounts.values()].some(v => v > 0)) {
      this.advance(step)
      if (updated < desired) {
        updated++
        this.#scaleRS(ns, newRS, updated)
      }
      if (opts.stall === true) {
        this.#deploymentStatus(ns, name, { updated, replicas: total(), available: total() - 1 })
        return
      }
      if (opts.service !== undefined) this.syncEndpoints(ns, opts.service, d.spec.selector.matchLabels)
      for (const [rsName, n] of oldCounts) {
        if (n > 0 && total() > desired) {
          oldCounts.set(rsName, n - 1)
          this.#scaleRS(ns, rsName, n - 1)
          if (opts.service !== undefined) this.syncEndpoints(ns, opts.service, d.spec.selector.matchLabels)
          break
        }
      }
      this.#deploymentStatus(ns, name, { updated, replicas: total(), available: total() })
    }
    this.advance(200)
    this.#deploymentStatus(ns, name, { updated: desired, replicas: desired, available: desired })
  }

  /** The deployment controller when only replicas moved (no new ReplicaSet). */
  runScale (ns: string, name: string, opts: { service?: string } = {}): void {
    const d = this.get(R.deployments, ns, name)
    const hash = this.#hash(d.spec.template)
    const rs = `${name}-${hash}`
    this.advance(30)
    this.#scaleRS(ns, rs, d.spec.replicas)
    if (opts.service !== undefined) this.syncEndpoints(ns, opts.service, d.spec.selector.matchLabels)
    this.advance(1000)
    this.#deploymentStatus(ns, name, { updated: d.spec.replicas, replicas: d.spec.replicas, available: d.spec.replicas })
  }

  /** The Progressing condition flips to ProgressDeadlineExceeded. */
  failDeployment (ns: string, name: string): void {
    this.update(CONTROLLERS.deployment, R.deployments, ns, name, o => {
      const p = o.status.conditions.find((c: any) => c.type === 'Progressing')
      p.status = 'False'
      p.reason = 'ProgressDeadlineExceeded'
      p.message = `ReplicaSet "${name}" has timed out progressing.`
    }, { sub: 'status' })
  }

  // ---- high-level acts --------------------------------------------------------

  service (user: User, ns: string, name: string, selector: Record<string, string>, extra: any = {}): any {
    return this.create(user, R.services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns },
      spec: { selector, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }], type: 'ClusterIP', clusterIP: `10.96.0.${10 + this.#ip}`, clusterIPs: [`10.96.0.${10 + this.#ip}`], ...extra }
    })
  }

  setImage (user: User, ns: string, name: string, image: string, opts: { impersonate?: User } = {}): any {
    return this.patch(user, R.deployments, ns, name,
      { spec: { template: { spec: { containers: [{ name, image }] } } } },
      o => { o.spec.template.spec.containers[0].image = image }, opts)
  }

  restart (user: User, ns: string, name: string): any {
    const at = new Date(this.t).toISOString().replace(/\.\d+Z$/, 'Z')
    return this.patch(user, R.deployments, ns, name,
      { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': at } } } } },
      o => { o.spec.template.metadata.annotations = { ...(o.spec.template.metadata.annotations ?? {}), 'kubectl.kubernetes.io/restartedAt': at } })
  }

  /** `kubectl scale`: a PATCH of the scale subresource, answered with a Scale. */
  scale (user: User, ns: string, name: string, replicas: number): void {
    const cur = this.get(R.deployments, ns, name)
    const next = clone(cur)
    next.spec.replicas = replicas
    next.metadata.generation++
    next.metadata.resourceVersion = this.nextRV()
    this.objects.set(this.key(R.deployments, ns, name), next)
    this.onWrite?.('MODIFIED', R.deployments, next)
    this.request({
      user,
      verb: 'patch',
      r: R.deployments,
      ns,
      name,
      sub: 'scale',
      requestObject: { spec: { replicas } },
      responseObject: { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name, namespace: ns, uid: cur.metadata.uid, resourceVersion: next.metadata.resourceVersion, creationTimestamp: cur.metadata.creationTimestamp }, spec: { replicas }, status: { replicas: cur.status?.replicas ?? 0, selector: `app=${name}` } }
    })
  }
}
