// Ingest bench: POST /audit throughput of the real app (fastify, pipeline,
// SQLite store, outbox, log sink with a no-op writer, the wall-clock ticks of
// `serve`) against a bare node:http server that only receives the bytes and
// JSON.parses them: the floor cost of receiving the same batches in Node.
//
//   node --import tsx bench/ingest.ts [batches]
//
// The batches look like what kube-apiserver's webhook backend sends from a busy
// cluster (400 events each, mostly RequestResponse status writes of controllers
// with full request and response objects, managedFields included). They are
// generated once as a few JSON templates with placeholders; each posted batch is
// a template with its placeholders replaced (off the clock), so every batch has
// fresh auditIDs, newer resourceVersions and generations, and timestamps one
// second after the previous batch (event time: a cluster filling one 400-event
// batch per second). Objects of template t are written again every `templates`
// batches, like a cluster's finite set of objects; pods are new every batch.

import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import v8 from 'node:v8'
import vm from 'node:vm'
import pino from 'pino'
import { createApp, type App } from '../src/app.js'
import { R as CLUSTER_R } from '../test/helpers/cluster.js'
import { applyFile, DEFAULTS } from '../src/config.js'

// ---- results -----------------------------------------------------------------

export interface ServerFigures {
  eventsPerSec: number
  p50Ms: number
  p99Ms: number
  meanMs: number
  maxMs: number
  batches: number
  events: number
  /** Sum of per-batch latencies (the time the figures above are computed over). */
  busyMs: number
  /** Wall time of the measured run, including building each body off the clock. */
  wallMs: number
  /** Responses other than 200. */
  errors: number
  /** TCP connections the server accepted (1: every batch on one keep-alive connection). */
  connections: number
}

export interface RssPoint { pct: number, batch: number, rssMB: number, heapUsedMB: number, /** Heap after a full GC (with `liveHeap`). */ liveHeapMB?: number }

export interface IngestBenchResult {
  kubechanges: ServerFigures & {
    peakRssMB: number
    rssStartMB: number
    rssEndMB: number
    /** RSS at each 10 % of the run. */
    rssTimeline: RssPoint[]
    /** What the app did with the events. */
    app: { changesRecorded: number, outboxDelivered: number, outboxPending: number, windowOpen: number, indexedObjects: number, closed: Record<string, number> }
  }
  bare: ServerFigures
  /** kubechanges events/s ÷ bare events/s (target ≥ 0.5). */
  ratio: number
  batch: {
    size: number
    avgBytes: number
    minBytes: number
    maxBytes: number
    templates: number
    warmup: number
    /** Events per batch by category. */
    mix: Record<string, number>
  }
  /** RSS of the process before the app was created (bench's own templates included). */
  rssBaselineMB: number
  /** 1-minute load average before and after: figures from a busy machine are not comparable. */
  loadavg: { before: number, after: number }
  cpus: number
}

export interface IngestBenchOptions {
  /** Measured batches per server (after warm-up). */
  batches?: number
  /** Events per batch (kube-apiserver's default webhook batch size is 400). */
  batchSize?: number
  /** Upper bound of the measured run per server. */
  durationMs?: number
  /** Batches posted before measuring (JIT warm-up), per server. */
  warmup?: number
  /** Distinct templates: objects are rewritten every `templates` batches. */
  templates?: number
  /** Run one side only (profiling); the other side's figures are zero. */
  only?: 'kubechanges' | 'bare'
  /**
   * Keep-alive connections posting at once (default 1). With more than one,
   * events/s is events ÷ the wall time of the measured run (latencies overlap).
   */
  connections?: number
  /**
   * At each 10 %, force a full GC (between batches, off the clock) and record
   * the live heap: what the app really retains, apart from when V8 chooses to
   * collect. Changes GC timing a little, so off by default.
   */
  liveHeap?: boolean
  /** Progress lines (RSS every 10 %); stderr by default, `false` for none. */
  log?: ((line: string) => void) | false
}

// ---- a deterministic generator of realistic audit events -----------------------

function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const hex = (n: number, w: number): string => (n >>> 0).toString(16).padStart(w, '0').slice(-w)

// Placeholders, replaced per posted batch (see `Tokens`). `"@@N@@"` (quoted)
// becomes a JSON number.
const TOKEN_RE = /"@@([NM])@@"|@@([HhDQTE])@@/g

interface Tokens {
  /** 8 hex digits of the batch number: the auditID prefix, pod name suffixes. */
  H: string
  /** H of the batch `templates` earlier (pods created then, deleted now). */
  h: string
  /** resourceVersion prefix of this batch (decimal, fixed width). */
  D: string
  /** resourceVersion prefix the same objects got `templates` batches earlier. */
  Q: string
  /** A generation that grows with every batch, and the one before it. */
  N: number
  M: number
  /** Event time, to the second: `YYYY-MM-DDTHH:MM:SS`. */
  T: string
  /** 0..249, moves endpoint addresses. */
  E: number
}

export function tokensFor (b: number, templates: number, t0: number): Tokens {
  return {
    H: hex(b + 1, 8),
    h: hex(b + 1 - templates, 8),
    D: String(100_000 + b),
    Q: String(100_000 + b - templates),
    N: 1000 + b,
    M: 999 + b,
    T: new Date(t0 + b * 1000).toISOString().slice(0, 19),
    E: b % 250
  }
}

export function render (template: string, tk: Tokens): Buffer {
  return Buffer.from(template.replace(TOKEN_RE, (_m, num?: string, str?: string) => String(tk[(num ?? str) as keyof Tokens])), 'utf8')
}

// The simulator's resource table, plus nodes for the kubelet's status writes.
type Resource = (typeof CLUSTER_R)[keyof typeof CLUSTER_R]
const R = { ...CLUSTER_R, nodes: { group: '', version: 'v1', resource: 'nodes', kind: 'Node' } }

interface User { username: string, uid?: string, groups: string[], extra?: Record<string, string[]> }
const SA = (ns: string, name: string, seed: number): User => ({
  username: `system:serviceaccount:${ns}:${name}`,
  uid: `5a${hex(seed, 6)}-1b2c-4d3e-8f40-${hex(seed * 7919, 12)}`,
  groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
  ...(ns === 'kube-system' ? {} : { extra: { 'authentication.kubernetes.io/credential-id': [`JTI=${hex(seed * 31, 8)}-0b1c-4d2e-9f30-${hex(seed * 131, 12)}`] } })
})
const U = {
  alice: { username: 'alice@example.com', groups: ['devs', 'system:authenticated'], extra: { 'authentication.kubernetes.io/credential-id': ['X509SHA256=8d6f0c2b9a1e4f7d'] } },
  ci: SA('ci', 'deployer', 3),
  deployment: SA('kube-system', 'deployment-controller', 11),
  replicaset: SA('kube-system', 'replicaset-controller', 12),
  endpointslice: SA('kube-system', 'endpointslice-controller', 13),
  monitoring: SA('monitoring', 'prometheus', 21),
  argocd: SA('argocd', 'argocd-application-controller', 22),
  scheduler: { username: 'system:kube-scheduler', groups: ['system:authenticated'] },
  kcm: { username: 'system:kube-controller-manager', groups: ['system:authenticated'] },
  kubelet: (n: number): User => ({ username: `system:node:node-${n}`, groups: ['system:nodes', 'system:authenticated'] })
}
const NODES = 24
const NAMESPACES = ['shop', 'payments', 'search', 'checkout', 'catalog', 'identity', 'media', 'analytics', 'notifications', 'platform']
const APPS = ['api', 'web', 'worker', 'gateway', 'cache', 'indexer', 'scheduler', 'auth', 'billing', 'ledger', 'render', 'feed', 'mailer', 'events', 'export', 'recommender']

function uri (r: Resource, ns: string | undefined, name?: string, sub?: string, query = ''): string {
  const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`
  return `${base}${ns !== undefined ? `/namespaces/${ns}` : ''}/${r.resource}${name !== undefined ? `/${name}` : ''}${sub !== undefined ? `/${sub}` : ''}${query}`
}

/** managedFields' fieldsV1 for an object, as the apiserver writes them (`f:` keys, `k:` list keys). */
function fieldsV1 (v: unknown): Record<string, unknown> {
  if (Array.isArray(v)) {
    const out: Record<string, unknown> = {}
    for (const el of v) {
      if (el !== null && typeof el === 'object' && !Array.isArray(el)) {
        const o = el as Record<string, unknown>
        const key = o.name !== undefined ? { name: o.name } : o.type !== undefined ? { type: o.type } : o.containerPort !== undefined ? { containerPort: o.containerPort, protocol: o.protocol } : o.ip !== undefined ? { ip: o.ip } : undefined
        if (key !== undefined) out[`k:${JSON.stringify(key)}`] = { '.': {}, ...fieldsV1(o) }
      } else out[`v:${JSON.stringify(el)}`] = {}
    }
    return out
  }
  if (v === null || typeof v !== 'object') return {}
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) out[`f:${k}`] = fieldsV1(x)
  return out
}

function managed (manager: string, operation: 'Update' | 'Apply', apiVersion: string, fields: unknown, sub?: string, time = '2025-03-14T09:12:44Z'): Record<string, unknown> {
  return { manager, operation, apiVersion, time, fieldsType: 'FieldsV1', fieldsV1: fieldsV1(fields), ...(sub !== undefined ? { subresource: sub } : {}) }
}

function uidOf (kindCode: number, t: number, j: number): string {
  return `${hex(0x7e570000 + kindCode, 8)}-${hex(t, 4)}-4${hex(j, 3)}-8${hex(j * 2654435761, 3)}-${hex((t + 1) * 40503 + j * 977, 12)}`
}

function container (app: string, image: string, r: () => number): Record<string, unknown> {
  if (r() < 0.5) {
    // A lean one: no env, no probes.
    return {
      name: app,
      image,
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
      resources: { limits: { memory: `${256 * (1 + Math.floor(r() * 8))}Mi` }, requests: { cpu: `${100 + Math.floor(r() * 400)}m`, memory: `${128 * (1 + Math.floor(r() * 4))}Mi` } },
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      imagePullPolicy: 'IfNotPresent'
    }
  }
  return {
    name: app,
    image,
    ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'metrics', containerPort: 9090, protocol: 'TCP' }],
    env: [
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://otel-collector.observability.svc:4317' },
      { name: 'OTEL_SERVICE_NAME', value: app },
      { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: `${app}-db`, key: 'url' } } },
      { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
      { name: 'GOMAXPROCS', valueFrom: { resourceFieldRef: { containerName: app, resource: 'limits.cpu', divisor: '1' } } },
      { name: 'FEATURE_FLAGS', value: 'new-checkout,async-indexing,edge-cache' }
    ],
    resources: { limits: { cpu: `${1 + Math.floor(r() * 3)}`, memory: `${256 * (1 + Math.floor(r() * 8))}Mi` }, requests: { cpu: `${100 + Math.floor(r() * 400)}m`, memory: `${128 * (1 + Math.floor(r() * 4))}Mi` } },
    livenessProbe: { httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP' }, initialDelaySeconds: 10, timeoutSeconds: 2, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
    readinessProbe: { httpGet: { path: '/readyz', port: 'http', scheme: 'HTTP' }, timeoutSeconds: 2, periodSeconds: 5, successThreshold: 1, failureThreshold: 3 },
    volumeMounts: [{ name: 'config', mountPath: '/etc/app', readOnly: true }, { name: 'tmp', mountPath: '/tmp' }],
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: 'IfNotPresent',
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } }
  }
}

function podTemplate (app: string, image: string, labels: Record<string, string>, r: () => number): Record<string, unknown> {
  return {
    metadata: { creationTimestamp: null, labels: { ...labels }, annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' } },
    spec: {
      containers: [container(app, image, r)],
      volumes: [{ name: 'config', configMap: { name: `${app}-config`, defaultMode: 420 } }, { name: 'tmp', emptyDir: {} }],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: app,
      serviceAccount: app,
      securityContext: { fsGroup: 2000, seccompProfile: { type: 'RuntimeDefault' } },
      schedulerName: 'default-scheduler',
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { ...labels } } }]
    }
  }
}

interface Ctx { t: number, r: () => number, i: number, items: unknown[] }

/** One API request as kube-apiserver audits it at ResponseComplete. */
function event (c: Ctx, o: {
  user: User, verb: string, r: Resource, ns?: string, name?: string, sub?: string, level: 'Metadata' | 'Request' | 'RequestResponse',
  requestObject?: unknown, responseObject?: unknown, refUid?: string, code?: number, query?: string, userAgent?: string
}): void {
  const i = c.i++
  const micro = String(i * 2000).padStart(6, '0')
  const done = String(i * 2000 + 1500 + Math.floor(c.r() * 400)).padStart(6, '0')
  const sys = o.user.username.startsWith('system:')
  const ev: Record<string, unknown> = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: o.level,
    auditID: `@@H@@-${hex(c.t, 4)}-4${hex(i, 3)}-8${hex(Math.floor(c.r() * 4096), 3)}-${hex(Math.floor(c.r() * 2 ** 32), 8)}${hex(i, 4)}`,
    stage: 'ResponseComplete',
    requestURI: uri(o.r, o.ns, o.verb === 'create' && o.sub === undefined ? undefined : o.name, o.sub, o.query),
    verb: o.verb,
    user: o.user,
    sourceIPs: [sys ? `172.18.0.${2 + (i % 3)}` : '192.168.1.20'],
    userAgent: o.userAgent ?? (o.user.username.startsWith('system:serviceaccount:kube-system:')
      ? `kube-controller-manager/v1.31.4 (linux/amd64) kubernetes/a78aa47/${o.user.username.split(':').pop() ?? ''}`
      : o.user.username.startsWith('system:node:') ? 'kubelet/v1.31.4 (linux/amd64) kubernetes/a78aa47' : 'kubectl/v1.31.4 (linux/amd64) kubernetes/a78aa47'),
    objectRef: {
      resource: o.r.resource,
      ...(o.ns !== undefined ? { namespace: o.ns } : {}),
      ...(o.name !== undefined ? { name: o.name } : {}),
      ...(o.refUid !== undefined ? { uid: o.refUid } : {}),
      ...(o.r.group !== '' ? { apiGroup: o.r.group } : {}),
      apiVersion: o.r.version,
      ...(o.refUid !== undefined ? { resourceVersion: `@@Q@@${String(i).padStart(4, '0')}` } : {}),
      ...(o.sub !== undefined ? { subresource: o.sub } : {})
    },
    responseStatus: { metadata: {}, code: o.code ?? (o.verb === 'create' ? 201 : 200) },
    ...(o.level !== 'Metadata' && o.requestObject !== undefined ? { requestObject: o.requestObject } : {}),
    ...(o.level === 'RequestResponse' && o.responseObject !== undefined ? { responseObject: o.responseObject } : {}),
    requestReceivedTimestamp: `@@T@@.${micro}Z`,
    stageTimestamp: `@@T@@.${done}Z`,
    annotations: {
      'authorization.k8s.io/decision': 'allow',
      'authorization.k8s.io/reason': sys
        ? `RBAC: allowed by ClusterRoleBinding "system:controller:${o.user.username.split(':').pop() ?? ''}" of ClusterRole "system:controller:${o.user.username.split(':').pop() ?? ''}" to ServiceAccount "${o.user.username.split(':').pop() ?? ''}/kube-system"`
        : `RBAC: allowed by RoleBinding "developers/${o.ns ?? 'default'}" of ClusterRole "edit" to Group "devs"`
    }
  }
  c.items.push(ev)
}

const rv = (c: Ctx): string => `@@D@@${String(c.i).padStart(4, '0')}`

function deploymentObject (c: Ctx, ns: string, app: string, name: string, uid: string, o: { image: string, generation: number | string, observed: number | string, revision: string, rolledOut: boolean, kubectl: boolean }): Record<string, unknown> {
  // Per-object randomness: two writes of one object in a batch agree on its spec.
  const r = rng(parseInt(uid.slice(-8), 16) ^ parseInt(uid.slice(9, 13), 16))
  const labels = { app: name, 'app.kubernetes.io/name': app, 'app.kubernetes.io/part-of': ns, 'app.kubernetes.io/managed-by': 'argocd' }
  const replicas = 2 + Math.floor(r() * 6)
  const spec = {
    replicas,
    selector: { matchLabels: { app: name } },
    template: podTemplate(app, o.image, { app: name, 'app.kubernetes.io/name': app }, r),
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
    revisionHistoryLimit: 10,
    progressDeadlineSeconds: 600
  }
  const applied = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns, labels }, spec }
  const available = o.rolledOut ? replicas : replicas - 1
  const status = {
    observedGeneration: o.observed,
    replicas,
    updatedReplicas: o.rolledOut ? replicas : 1,
    readyReplicas: available,
    availableReplicas: available,
    ...(o.rolledOut ? {} : { unavailableReplicas: 1 }),
    conditions: [
      { type: 'Available', status: 'True', lastUpdateTime: '@@T@@Z', lastTransitionTime: '2025-03-14T09:13:02Z', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' },
      { type: 'Progressing', status: 'True', lastUpdateTime: '@@T@@Z', lastTransitionTime: '2025-03-14T09:12:44Z', reason: o.rolledOut ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated', message: `ReplicaSet "${name}-${hex(uid.length * 977 + c.t, 10)}" ${o.rolledOut ? 'has successfully progressed' : 'is progressing'}.` }
    ]
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace: ns,
      uid,
      resourceVersion: rv(c),
      generation: o.generation,
      creationTimestamp: '2025-03-14T09:12:44Z',
      labels,
      // kubectl apply leaves the whole object in an annotation; server-side apply (Argo CD) does not.
      annotations: { 'deployment.kubernetes.io/revision': o.revision, ...(o.kubectl ? { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(applied) + '\n' } : {}) },
      managedFields: [
        managed(o.kubectl ? 'kubectl-client-side-apply' : 'argocd-controller', o.kubectl ? 'Update' : 'Apply', 'apps/v1', { metadata: { labels }, spec }),
        managed('kube-controller-manager', 'Update', 'apps/v1', { metadata: { annotations: { 'deployment.kubernetes.io/revision': '' } } }),
        managed('kube-controller-manager', 'Update', 'apps/v1', { status }, 'status')
      ]
    },
    spec,
    status
  }
}

function replicaSetObject (c: Ctx, ns: string, app: string, name: string, uid: string, owner: { name: string, uid: string }): Record<string, unknown> {
  const hash = hex(c.t * 7 + c.i * 131, 10)
  const labels = { app: owner.name, 'app.kubernetes.io/name': app, 'pod-template-hash': hash }
  const replicas = 2 + Math.floor(c.r() * 6)
  const spec = { replicas, selector: { matchLabels: { app: owner.name, 'pod-template-hash': hash } }, template: podTemplate(app, `registry.example.com/${ns}/${app}:2.${c.t}.${c.i}`, labels, c.r) }
  const status = { replicas, fullyLabeledReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas, observedGeneration: 3 }
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${name}-${hash}`,
      namespace: ns,
      uid,
      resourceVersion: rv(c),
      generation: 3,
      creationTimestamp: '2025-03-14T09:12:44Z',
      labels,
      annotations: { 'deployment.kubernetes.io/desired-replicas': String(replicas), 'deployment.kubernetes.io/max-replicas': String(replicas + 1), 'deployment.kubernetes.io/revision': '4' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true }],
      managedFields: [
        managed('kube-controller-manager', 'Update', 'apps/v1', { metadata: { labels, annotations: {}, ownerReferences: [] }, spec }),
        managed('kube-controller-manager', 'Update', 'apps/v1', { status }, 'status')
      ]
    },
    spec,
    status
  }
}

function sliceObject (c: Ctx, ns: string, svc: string, uid: string, svcUid: string, n: number, moving: boolean): Record<string, unknown> {
  const endpoints = Array.from({ length: n }, (_, k) => ({
    addresses: [moving && k === 0 ? `10.${64 + (c.t % 64)}.${c.i % 256}.@@E@@` : `10.${64 + (c.t % 64)}.${c.i % 256}.${k + 1}`],
    conditions: { ready: true, serving: true, terminating: false },
    nodeName: `node-${(c.i + k) % NODES}`,
    targetRef: { kind: 'Pod', namespace: ns, name: `${svc}-${hex(c.i * 31 + k, 5)}-${hex(k * 7919 + c.t, 5)}`, uid: `${hex(0x90d00000 + k, 8)}-${hex(c.t, 4)}-4${hex(c.i, 3)}-8000-${hex(k * 104729 + c.i, 12)}` },
    zone: `eu-west-1${'abc'[k % 3]}`
  }))
  const labels = { 'kubernetes.io/service-name': svc, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', 'app.kubernetes.io/name': svc }
  const ports = [{ name: 'http', protocol: 'TCP', port: 8080 }, { name: 'metrics', protocol: 'TCP', port: 9090 }]
  return {
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    metadata: {
      name: `${svc}-${hex(c.i * 13 + c.t, 5)}`,
      generateName: `${svc}-`,
      namespace: ns,
      uid,
      resourceVersion: rv(c),
      generation: '@@N@@',
      creationTimestamp: '2025-03-14T09:12:44Z',
      labels,
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '@@T@@Z' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc, uid: svcUid, controller: true, blockOwnerDeletion: true }],
      managedFields: [managed('kube-controller-manager', 'Update', 'discovery.k8s.io/v1', { addressType: '', endpoints, metadata: { labels, annotations: {}, generateName: '', ownerReferences: [] }, ports })]
    },
    addressType: 'IPv4',
    endpoints,
    ports
  }
}

function configMapObject (c: Ctx, ns: string, name: string, uid: string): Record<string, unknown> {
  const lines = Array.from({ length: 24 }, (_, k) => `  ${['timeout', 'retries', 'pool', 'cache_ttl', 'batch', 'limit'][k % 6]}_${k}: ${k * 17 % 100}`)
  const data = {
    'app.yaml': `server:\n  port: 8080\n  shutdownGrace: 20s\nsettings:\n${lines.join('\n')}\n  build: "@@D@@"\n`,
    'LOG_FORMAT': 'json',
    'FEATURE_ROLLOUT_PERCENT': '@@E@@'
  }
  const metadata = { name, namespace: ns, labels: { 'app.kubernetes.io/name': name.replace(/-config$/, ''), 'app.kubernetes.io/managed-by': 'ci' } }
  return {
    kind: 'ConfigMap',
    apiVersion: 'v1',
    metadata: {
      ...metadata,
      uid,
      resourceVersion: rv(c),
      creationTimestamp: '2025-03-14T09:12:44Z',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata, data }) + '\n' },
      managedFields: [managed('kubectl-client-side-apply', 'Update', 'v1', { data, metadata: { labels: metadata.labels, annotations: {} } })]
    },
    data
  }
}

/** Events per batch by category, for `size` events. */
export function batchMix (size: number): Record<string, number> {
  const n = (share: number): number => Math.max(1, Math.round(size * share))
  const mix: Record<string, number> = {
    'deployments/status update (RequestResponse)': 0,
    'replicasets/status update (RequestResponse)': n(0.2),
    'endpointslices update (RequestResponse)': n(0.11),
    'endpointslices update, address moved (RequestResponse)': n(0.015),
    'configmaps patch by CI (RequestResponse)': n(0.01),
    'deployments patch, new image + completed status (RequestResponse)': 2 * Math.max(1, Math.round(size * 0.005)),
    'pods create (Metadata)': n(0.075),
    'pods/binding create (Metadata)': n(0.05),
    'pods/status patch (Metadata)': n(0.075),
    'pods delete (Metadata)': n(0.025),
    'leases update (Metadata)': n(0.125),
    'get/list reads (Metadata)': n(0.075)
  }
  const rest = size - Object.values(mix).reduce((a, b) => a + b, 0)
  mix['deployments/status update (RequestResponse)'] = Math.max(0, rest)
  return mix
}

/** One batch template: `size` events on distinct objects of template `t`. */
export function buildTemplate (t: number, size: number): string {
  const c: Ctx = { t, r: rng(0x5eed + t * 7777), i: 0, items: [] }
  const mix = Object.values(batchMix(size))
  const [deployStatus, rsStatus, slices, slicesMoving, configmaps, rollouts, podCreates, bindings, podStatus, podDeletes, leases, reads] = mix as [number, number, number, number, number, number, number, number, number, number, number, number]
  const ns = (j: number): string => NAMESPACES[(j + t) % NAMESPACES.length]!
  const app = (j: number): string => APPS[j % APPS.length]!
  const groups: Array<Array<() => void>> = []
  const single = (f: () => void): void => { groups.push([f]) }

  for (let j = 0; j < deployStatus; j++) {
    single(() => {
      const name = `${app(j)}-${t}${j}`
      const uid = uidOf(1, t, j)
      const obj = deploymentObject(c, ns(j), app(j), name, uid, { image: `registry.example.com/${ns(j)}/${app(j)}:1.${j % 9}.${t}`, generation: 7 + (j % 5), observed: 7 + (j % 5), revision: String(4 + (j % 5)), rolledOut: j % 4 !== 0, kubectl: j % 4 === 1 })
      event(c, { user: U.deployment, verb: 'update', r: R.deployments, ns: ns(j), name, sub: 'status', level: 'RequestResponse', requestObject: obj, responseObject: obj, refUid: uid })
    })
  }
  for (let j = 0; j < rsStatus; j++) {
    single(() => {
      const owner = { name: `${app(j)}-${t}${j}`, uid: uidOf(1, t, j) }
      const uid = uidOf(2, t, j)
      const obj = replicaSetObject(c, ns(j), app(j), owner.name, uid, owner)
      event(c, { user: U.replicaset, verb: 'update', r: R.replicasets, ns: ns(j), name: (obj.metadata as { name: string }).name, sub: 'status', level: 'RequestResponse', requestObject: obj, responseObject: obj, refUid: uid })
    })
  }
  for (let j = 0; j < slices + slicesMoving; j++) {
    single(() => {
      const svc = `${app(j)}-${t}${j}`
      const uid = uidOf(3, t, j)
      const obj = sliceObject(c, ns(j), svc, uid, uidOf(4, t, j), 2 + Math.floor(c.r() * 16), j < slicesMoving)
      event(c, { user: U.endpointslice, verb: 'update', r: R.endpointslices, ns: ns(j), name: (obj.metadata as { name: string }).name, level: 'RequestResponse', requestObject: obj, responseObject: obj, refUid: uid })
    })
  }
  for (let j = 0; j < configmaps; j++) {
    single(() => {
      const name = `${app(j)}-${t}${j}-config`
      const obj = configMapObject(c, ns(j), name, uidOf(5, t, j))
      event(c, { user: U.ci, verb: 'patch', r: R.configmaps, ns: ns(j), name, level: 'RequestResponse', requestObject: { data: obj.data, metadata: { annotations: (obj.metadata as { annotations: unknown }).annotations } }, responseObject: obj, query: '?fieldManager=kubectl-client-side-apply&fieldValidation=Strict' })
    })
  }
  for (let j = 0; j < rollouts / 2; j++) {
    // A person sets a new image; later in the batch the deployment controller
    // reports the rollout complete (status of the new generation).
    const k = 1000 + j
    const name = `${app(k)}-${t}r${j}`
    const uid = uidOf(6, t, j)
    const image = `registry.example.com/${ns(k)}/${app(k)}:3.@@D@@`
    groups.push([
      () => {
        const obj = deploymentObject(c, ns(k), app(k), name, uid, { image, generation: '@@N@@', observed: '@@M@@', revision: '@@D@@', rolledOut: false, kubectl: true })
        event(c, { user: U.alice, verb: 'patch', r: R.deployments, ns: ns(k), name, level: 'RequestResponse', requestObject: { spec: { template: { spec: { containers: [{ name: app(k), image }] } } } }, responseObject: obj, query: '?fieldManager=kubectl-set' })
      },
      () => {
        const obj = deploymentObject(c, ns(k), app(k), name, uid, { image, generation: '@@N@@', observed: '@@N@@', revision: '@@D@@', rolledOut: true, kubectl: true })
        event(c, { user: U.deployment, verb: 'update', r: R.deployments, ns: ns(k), name, sub: 'status', level: 'RequestResponse', requestObject: obj, responseObject: obj, refUid: uid })
      }
    ])
  }
  // Pods are audited at Metadata level: no bodies. New pods every batch
  // (their names carry the batch), some deleted a cycle later.
  const pod = (j: number, h: '@@H@@' | '@@h@@'): string => `${app(j)}-${t}${j % 40}-${hex(j * 7 + t, 4)}${h}`
  for (let j = 0; j < podCreates; j++) single(() => event(c, { user: U.replicaset, verb: 'create', r: R.pods, ns: ns(j), name: pod(j, '@@H@@'), level: 'Metadata' }))
  for (let j = 0; j < bindings; j++) single(() => event(c, { user: U.scheduler, verb: 'create', r: R.pods, ns: ns(j), name: pod(j, '@@H@@'), sub: 'binding', level: 'Metadata' }))
  for (let j = 0; j < podStatus; j++) single(() => event(c, { user: U.kubelet(j % NODES), verb: 'patch', r: R.pods, ns: ns(j), name: pod(j, j % 2 === 0 ? '@@H@@' : '@@h@@'), sub: 'status', level: 'Metadata' }))
  for (let j = 0; j < podDeletes; j++) single(() => event(c, { user: U.replicaset, verb: 'delete', r: R.pods, ns: ns(j), name: pod(j, '@@h@@'), level: 'Metadata' }))
  for (let j = 0; j < leases; j++) {
    single(() => j % 3 === 0
      ? event(c, { user: U.kcm, verb: 'update', r: R.leases, ns: 'kube-system', name: ['kube-controller-manager', 'kube-scheduler', 'cloud-controller-manager'][j % 3 === 0 ? 0 : 1]!, level: 'Metadata', refUid: uidOf(7, t, j) })
      : event(c, { user: U.kubelet(j % NODES), verb: 'update', r: R.leases, ns: 'kube-node-lease', name: `node-${j % NODES}`, level: 'Metadata', refUid: uidOf(7, 0, j % NODES) }))
  }
  for (let j = 0; j < reads; j++) {
    single(() => {
      const who = [U.monitoring, U.argocd, U.alice][j % 3]!
      if (j % 2 === 0) event(c, { user: who, verb: 'get', r: [R.deployments, R.services, R.configmaps][j % 3]!, ns: ns(j), name: `${app(j)}-${t}${j}`, level: 'Metadata' })
      else event(c, { user: who, verb: 'list', r: [R.pods, R.endpointslices, R.nodes][j % 3]!, ...(j % 3 === 2 ? {} : { ns: ns(j) }), level: 'Metadata', query: j % 3 === 2 ? '?limit=500&resourceVersion=0' : '?labelSelector=app.kubernetes.io%2Fname%3Dapi' })
    })
  }

  // Interleave the way a busy apiserver does (deterministic shuffle), keeping
  // each group's order: a rollout's patch comes before its completed status,
  // which is emitted in a second pass.
  const order = groups.map(g => ({ g, k: c.r() })).sort((a, b) => a.k - b.k).map(o => o.g)
  for (const g of order) g[0]!()
  for (const g of order) for (const f of g.slice(1)) f()
  return JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items: c.items })
}

// ---- driving a server ----------------------------------------------------------

function post (agent: http.Agent, port: number, body: Buffer): Promise<{ status: number, text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: '127.0.0.1', port, method: 'POST', path: '/audit', headers: { 'content-type': 'application/json', 'content-length': body.length } }, res => {
      const chunks: Buffer[] = []
      res.on('data', (d: Buffer) => chunks.push(d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

function quantile (sorted: number[], q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}
const r1 = (x: number): number => Math.round(x * 10) / 10
const MB = (bytes: number): number => r1(bytes / 1048576)

interface DriveOptions {
  name: string
  port: number
  templates: string[]
  batchSize: number
  batches: number
  warmup: number
  durationMs: number
  t0: number
  log: (line: string) => void
  onSample?: (rss: number) => void
  /** Called at each 10 % with the batch reached. */
  onDecile?: (pct: number, batch: number) => void
  check?: (text: string) => void
  connections?: number
}

async function drive (o: DriveOptions): Promise<Omit<ServerFigures, 'connections'> & { bytes: number[] }> {
  const conns = Math.max(1, o.connections ?? 1)
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns })
  const P = o.templates.length
  const bytes: number[] = []
  const lat: number[] = []
  let errors = 0
  let b = 0
  try {
    for (; b < o.warmup; b++) {
      const res = await post(agent, o.port, render(o.templates[b % P]!, tokensFor(b, P, o.t0)))
      if (res.status !== 200) throw new Error(`${o.name}: warm-up batch ${b} answered ${res.status}: ${res.text.slice(0, 200)}`)
      o.check?.(res.text)
    }
    const start = performance.now()
    let decile = 0
    let k = 0
    let stop = false
    // Each connection takes the next batch number when its previous answer came.
    const worker = async (): Promise<void> => {
      while (!stop && k < o.batches) {
        k++
        const mine = b++
        const body = render(o.templates[mine % P]!, tokensFor(mine, P, o.t0))
        bytes.push(body.length)
        const t = performance.now()
        const res = await post(agent, o.port, body)
        lat.push(performance.now() - t)
        if (res.status !== 200) {
          errors++
          if (errors <= 3) o.log(`  ${o.name}: batch ${mine} answered ${res.status}: ${res.text.slice(0, 200)}`)
        }
        o.onSample?.(process.memoryUsage.rss())
        const elapsed = performance.now() - start
        const progress = Math.max(lat.length / o.batches, elapsed / o.durationMs)
        while (decile < 10 && progress >= (decile + 1) / 10) {
          decile++
          o.onDecile?.(decile * 10, lat.length)
        }
        if (elapsed >= o.durationMs) stop = true
      }
    }
    await Promise.all(Array.from({ length: conns }, async () => { await worker() }))
    const wallMs = performance.now() - start
    const busyMs = lat.reduce((a, x) => a + x, 0)
    const sorted = [...lat].sort((x, y) => x - y)
    const events = lat.length * o.batchSize
    return {
      eventsPerSec: Math.round(events / ((conns === 1 ? busyMs : wallMs) / 1000)),
      p50Ms: r1(quantile(sorted, 0.5)),
      p99Ms: r1(quantile(sorted, 0.99)),
      meanMs: r1(busyMs / Math.max(1, lat.length)),
      maxMs: r1(sorted[sorted.length - 1] ?? 0),
      batches: lat.length,
      events,
      busyMs: Math.round(busyMs),
      wallMs: Math.round(wallMs),
      errors,
      bytes
    }
  } finally {
    agent.destroy()
  }
}

const zero: ServerFigures = { eventsPerSec: 0, p50Ms: 0, p99Ms: 0, meanMs: 0, maxMs: 0, batches: 0, events: 0, busyMs: 0, wallMs: 0, errors: 0, connections: 0 }

// ---- the bench -----------------------------------------------------------------

/** global.gc without --expose-gc on the command line (`npm run bench` cannot pass it). */
function exposeGc (): () => void {
  const g = (globalThis as { gc?: () => void }).gc
  if (typeof g === 'function') return g
  v8.setFlagsFromString('--expose-gc')
  return vm.runInNewContext('gc') as () => void
}

export async function benchIngest (opts: IngestBenchOptions = {}): Promise<IngestBenchResult> {
  const batchSize = opts.batchSize ?? 400
  const batches = opts.batches ?? 300
  const durationMs = opts.durationMs ?? 15_000
  const warmup = opts.warmup ?? 8
  const P = opts.templates ?? 8
  const log = opts.log === false ? () => {} : opts.log ?? ((line: string) => { process.stderr.write(line + '\n') })
  if (!(batchSize >= 20 && batchSize <= 5000)) throw new Error('batchSize: 20..5000')
  if (!(batches >= 1 && batches <= 100_000)) throw new Error('batches: 1..100000')
  if (!(durationMs >= 100 && durationMs <= 3_600_000)) throw new Error('durationMs: 100..3600000')

  // Everything generated before the clocks start; the bodies only differ in placeholders.
  const templates = Array.from({ length: P }, (_, t) => buildTemplate(t, batchSize))
  // Event time starts a little in the past and moves one second per batch.
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 60_000
  const rssBaseline = process.memoryUsage.rss()
  const loadBefore = loadavg()[0]!
  const gc = opts.liveHeap === true ? exposeGc() : undefined

  let kc: IngestBenchResult['kubechanges'] = { ...zero, peakRssMB: 0, rssStartMB: 0, rssEndMB: 0, rssTimeline: [], app: { changesRecorded: 0, outboxDelivered: 0, outboxPending: 0, windowOpen: 0, indexedObjects: 0, closed: {} } }
  let bytes: number[] = []

  if (opts.only !== 'bare') {
    const dir = mkdtempSync(join(tmpdir(), 'kc-bench-'))
    let app: App | undefined
    try {
      const config = applyFile(structuredClone(DEFAULTS), { store: join(dir, 'changes.db'), host: '127.0.0.1', port: 0, logLevel: 'silent', watch: { enabled: false } })
      app = await createApp({ config, env: {}, log: pino({ level: 'silent' }), write: () => {} })
      await app.listen()
      app.start()
      const port = (app.server.server.address() as AddressInfo).port
      let connections = 0
      app.server.server.on('connection', () => { connections++ })
      const rssStart = process.memoryUsage.rss()
      let peak = rssStart
      const sample = (rss: number): void => { if (rss > peak) peak = rss }
      const timer = setInterval(() => sample(process.memoryUsage.rss()), 100)
      const timeline: RssPoint[] = [{ pct: 0, batch: 0, rssMB: MB(rssStart), heapUsedMB: MB(process.memoryUsage().heapUsed) }]
      if (gc !== undefined) {
        gc()
        timeline[0]!.liveHeapMB = MB(process.memoryUsage().heapUsed)
      }
      log(`kubechanges: ${P} templates of ${batchSize} events, ${MB(templates.reduce((a, s) => a + Buffer.byteLength(s), 0) / P)} MiB each; warm-up ${warmup} batches, then up to ${batches} batches / ${durationMs} ms`)
      log(`  rss at start ${MB(rssStart)} MB (bench baseline before the app: ${MB(rssBaseline)} MB)`)
      let fig
      try {
        fig = await drive({
          name: 'kubechanges',
          port,
          templates,
          batchSize,
          batches,
          warmup,
          durationMs,
          t0,
          log,
          connections: opts.connections ?? 1,
          onSample: sample,
          onDecile: (pct, batch) => {
            const m = process.memoryUsage()
            sample(m.rss)
            const point: RssPoint = { pct, batch, rssMB: MB(m.rss), heapUsedMB: MB(m.heapUsed) }
            if (gc !== undefined) {
              gc()
              point.liveHeapMB = MB(process.memoryUsage().heapUsed)
            }
            timeline.push(point)
            log(`  ${String(pct).padStart(3)} %  batch ${String(batch).padStart(5)}  rss ${point.rssMB} MB  heap ${point.heapUsedMB} MB${point.liveHeapMB !== undefined ? ` (live ${point.liveHeapMB} MB)` : ''}  open ${app!.pipeline.correlator.openCount}  indexed ${app!.pipeline.correlator.indexSize}  recorded ${app!.store.count()}`)
          },
          check: text => {
            const r = JSON.parse(text) as { received?: number, malformed?: number }
            if (r.received !== batchSize || r.malformed !== 0) throw new Error(`kubechanges: unexpected answer ${text}`)
          }
        })
      } finally {
        clearInterval(timer)
      }
      const rssEnd = process.memoryUsage.rss()
      sample(rssEnd)
      const counts = app.outbox.counts()
      const closed: Record<string, number> = {}
      for (const v of (await app.metrics.closed.get()).values) closed[`${String(v.labels.type)}/${String(v.labels.outcome)}`] = v.value
      bytes = fig.bytes
      const { bytes: _b, ...figures } = fig
      kc = {
        ...figures,
        connections,
        peakRssMB: MB(peak),
        rssStartMB: MB(rssStart),
        rssEndMB: MB(rssEnd),
        rssTimeline: timeline,
        app: { changesRecorded: app.store.count(), outboxDelivered: counts.delivered, outboxPending: counts.pending, windowOpen: app.pipeline.correlator.openCount, indexedObjects: app.pipeline.correlator.indexSize, closed }
      }
      log(`  kubechanges: ${kc.eventsPerSec} events/s, p50 ${kc.p50Ms} ms, p99 ${kc.p99Ms} ms over ${kc.batches} batches`)
    } finally {
      await app?.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }

  let bare: ServerFigures = zero
  if (opts.only !== 'kubechanges') {
    // The floor: receive the body, JSON.parse it, answer 200.
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (d: Buffer) => chunks.push(d))
      req.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { items?: unknown[] }
          res.writeHead(200, { 'content-type': 'application/json' }).end(`{"received":${body.items?.length ?? 0}}`)
        } catch {
          res.writeHead(400).end()
        }
      })
    })
    server.keepAliveTimeout = 60_000
    let connections = 0
    server.on('connection', () => { connections++ })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()))
    try {
      log(`bare node:http + JSON.parse: up to ${batches} batches / ${durationMs} ms`)
      const fig = await drive({ name: 'bare', port: (server.address() as AddressInfo).port, templates, batchSize, batches, warmup, durationMs, t0, log, connections: opts.connections ?? 1 })
      if (bytes.length === 0) bytes = fig.bytes
      const { bytes: _b, ...figures } = fig
      bare = { ...figures, connections }
      log(`  bare: ${bare.eventsPerSec} events/s, p50 ${bare.p50Ms} ms, p99 ${bare.p99Ms} ms over ${bare.batches} batches`)
    } finally {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }

  return {
    kubechanges: kc,
    bare,
    ratio: bare.eventsPerSec > 0 && kc.eventsPerSec > 0 ? Math.round((kc.eventsPerSec / bare.eventsPerSec) * 100) / 100 : 0,
    batch: {
      size: batchSize,
      avgBytes: Math.round(bytes.reduce((a, x) => a + x, 0) / Math.max(1, bytes.length)),
      minBytes: bytes.length > 0 ? Math.min(...bytes) : 0,
      maxBytes: bytes.length > 0 ? Math.max(...bytes) : 0,
      templates: P,
      warmup,
      mix: batchMix(batchSize)
    },
    rssBaselineMB: MB(rssBaseline),
    loadavg: { before: r1(loadBefore), after: r1(loadavg()[0]!) },
    cpus: cpus().length
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const n = Number(process.argv[2] ?? 300)
  benchIngest({ batches: Number.isFinite(n) && n > 0 ? n : 300 }).then(r => { console.log(JSON.stringify(r, null, 2)) }, err => {
    console.error(err)
    process.exitCode = 1
  })
}
