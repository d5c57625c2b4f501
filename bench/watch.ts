// Watch bench: the Watch API as a source, through the real informers and the
// real app (pipeline, SQLite store, outbox, log sink writing to a no-op, the
// wall-clock ticks of `serve`), against the fake apiserver of the tests
// (test/helpers/fake-apiserver.ts) on loopback.
//
//   node --expose-gc --import tsx bench/watch.ts [objects] [events] [--no-managed-fields]
//
// - The fake apiserver runs in a child process (this file, forked), so the
//   figures are kubechanges' own: its RSS does not include the apiserver's
//   copy of the cluster, nor the cost of generating the events.
// - It is preloaded with `objects` (default 50,000) objects, a cluster's mix:
//   per application a Deployment, its current and previous ReplicaSets, pods
//   owned by the current one, a Service and its EndpointSlice, in 50
//   namespaces; objects carry labels, ownerReferences and managedFields as
//   the apiserver serves them.
// - List: the time from start to every informer synced (paged LISTs, the
//   baseline through the pipeline).
// - Watch: `events` (default 20,000) MODIFIED status writes — kubelets' pod
//   status, the replicaset and deployment controllers' status. The child
//   writes them while it does not answer (stop(), writes, start()), so the
//   watches resume from their resourceVersion and receive them in one burst:
//   events/s is what the informers and the pipeline consume (CPU-bound), not
//   the fake's pace of writing, measured from the first to the last watch
//   event reaching pipeline.ingest(), once every informer converged.
// - Memory: RSS and heap used after a full GC, with every object tracked
//   (informer caches, the correlator's object index). Target: < 300 MB RSS.
//
// Bounded: every wait has a deadline; the child is killed (by its pid) on any
// failure.

import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'
import v8 from 'node:v8'
import vm from 'node:vm'
import { KubeConfig } from '@kubernetes/client-node'
import pino from 'pino'
import { createApp } from '../src/app.js'
import { applyFile, DEFAULTS } from '../src/config.js'
import { createMetrics } from '../src/metrics.js'
import type { K8sObject, Observation, OwnerRef } from '../src/model.js'
import { createWatchSource } from '../src/sources/watch.js'

export interface WatchBenchOptions {
  /** Objects in the apiserver at start (default 50,000). */
  objects?: number
  /** MODIFIED events streamed through the watch (default 20,000). */
  events?: number
  /** Objects carry managedFields, as the apiserver serves them (default true). */
  managedFields?: boolean
  /** Give up after this long (default 300,000 ms). */
  timeoutMs?: number
}

export interface WatchBenchResult {
  /** Watch events per second through the informers and pipeline.ingest(). */
  eventsPerSec: number
  /** Objects held by the informers at the end (= objects preloaded). */
  trackedObjects: number
  /** RSS after a full GC, with every object tracked. */
  rssMB: number
  /** Heap used after a full GC. */
  heapMB: number
  /** Highest RSS seen during the run (sampled every 50 ms). */
  peakRssMB: number
  /** RSS of this process before the app was created (modules loaded: tsx, client-node, fastify, SQLite…). */
  rssBeforeAppMB: number
  /** RSS with the app created and started, before the watch. */
  rssEmptyAppMB: number
  /** Heap used with the app created and started, before the watch. */
  heapEmptyAppMB: number
  /** The tracked objects as JSON (what the apiserver sent for them). */
  trackedJsonMB: number
  /** From start to every informer synced (the baseline LISTs through the pipeline). */
  listMs: number
  /** Baseline observations the pipeline received from the first LISTs. */
  baselineObservations: number
  /** Watch events measured, and the time from the first to the last. */
  events: number
  watchMs: number
  /** CPU time of this process from the first watch event to convergence. */
  watchCpuMs: number
  /** How long the apiserver child took to write the events (not in the figure above). */
  writeMs: number
  /** Objects the correlator's index knows. */
  indexedObjects: number
  /** Changes recorded meanwhile (status writes open none: expected 0). */
  changesRecorded: number
  /** Objects per collection in the apiserver. */
  mix: Record<string, number>
  /** Whether the GC could be forced (RSS and heap are after a GC only then). */
  gc: boolean
}

// ---- the apiserver side (child process) --------------------------------------------

type ToChild = { type: 'preload', objects: number } | { type: 'stream', events: number } | { type: 'exit' }
type FromChild =
  | { type: 'ready', port: number, mix: Record<string, number>, ms: number }
  | { type: 'streamed', ms: number, events: number, lastRV: string, perPath: Record<string, string> }
  | { type: 'error', message: string }

const NAMESPACES = 50
const PODS_PER_APP = 3
/** Deployment, 2 ReplicaSets, pods, Service, EndpointSlice. */
const OBJECTS_PER_APP = 5 + PODS_PER_APP

/** As the apiserver serves objects (on by default; KUBECHANGES_BENCH_MANAGED_FIELDS=0 in the child leaves them out). */
const WITH_MANAGED_FIELDS = process.env.KUBECHANGES_BENCH_MANAGED_FIELDS !== '0'

function managedFieldsOf (entries: unknown[]): { managedFields?: unknown[] } {
  return WITH_MANAGED_FIELDS ? { managedFields: entries } : {}
}

function managedFields (manager: string, operation: 'Update' | 'Apply', fields: Record<string, unknown>, sub?: string): unknown {
  return { manager, operation, apiVersion: 'v1', time: '2026-11-20T09:00:00Z', fieldsType: 'FieldsV1', fieldsV1: fields, ...(sub !== undefined ? { subresource: sub } : {}) }
}

function hash (s: string): string {
  let h = 2166136261
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0
  return h.toString(36).padStart(7, '0').slice(0, 10)
}

interface App { ns: string, name: string, hash: string, oldHash: string, pods: string[], ip: number }

async function apiserverChild (): Promise<void> {
  const { FakeApiServer } = await import('../test/helpers/fake-apiserver.js')
  const api = await FakeApiServer.create({ historyLimit: Number(process.env.KUBECHANGES_BENCH_HISTORY ?? 100_000) })
  const apps: App[] = []
  const send = (m: FromChild): void => { process.send?.(m) }
  const ownerRef = (o: K8sObject): OwnerRef & { blockOwnerDeletion: boolean } => ({ apiVersion: o.apiVersion ?? '', kind: o.kind ?? '', name: o.metadata?.name ?? '', uid: o.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true })

  const template = (name: string, image: string): any => ({
    metadata: { creationTimestamp: null, labels: { app: name, tier: 'backend' } },
    spec: {
      containers: [{
        name,
        image,
        ports: [{ containerPort: 8080, name: 'http', protocol: 'TCP' }],
        env: [{ name: 'LOG_LEVEL', value: 'info' }, { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } }],
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
        readinessProbe: { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        imagePullPolicy: 'IfNotPresent'
      }],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      securityContext: {},
      schedulerName: 'default-scheduler'
    }
  })

  const preload = (objects: number): Record<string, number> => {
    const nApps = Math.max(1, Math.floor(objects / OBJECTS_PER_APP))
    let extra = objects - nApps * OBJECTS_PER_APP // topped up with pods
    for (let i = 0; i < nApps; i++) {
      const ns = `team-${i % NAMESPACES}`
      const name = `svc-${i}`
      const tpl = template(name, `registry.example.com/${name}:1.${i % 7}`)
      const oldTpl = template(name, `registry.example.com/${name}:1.${(i % 7) + 100}`)
      const app: App = { ns, name, hash: hash(JSON.stringify(tpl)), oldHash: hash(JSON.stringify(oldTpl)), pods: [], ip: i * 4 }
      const d = api.create(`/apis/apps/v1/namespaces/${ns}/deployments`, {
        metadata: {
          name,
          namespace: ns,
          labels: { app: name, tier: 'backend' },
          annotations: { 'deployment.kubernetes.io/revision': '2' },
          ...managedFieldsOf([
            managedFields('kubectl-client-side-apply', 'Update', { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {}, 'f:tier': {} } }, 'f:spec': { 'f:replicas': {}, 'f:selector': {}, 'f:template': { 'f:metadata': { 'f:labels': {} }, 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:name': {} } } } } } }),
            managedFields('kube-controller-manager', 'Update', { 'f:status': { 'f:availableReplicas': {}, 'f:conditions': {}, 'f:observedGeneration': {}, 'f:readyReplicas': {}, 'f:replicas': {}, 'f:updatedReplicas': {} } }, 'status')
          ])
        },
        spec: { replicas: PODS_PER_APP, selector: { matchLabels: { app: name } }, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } }, revisionHistoryLimit: 10, progressDeadlineSeconds: 600, template: tpl },
        status: {
          observedGeneration: 1,
          replicas: PODS_PER_APP,
          updatedReplicas: PODS_PER_APP,
          readyReplicas: PODS_PER_APP,
          availableReplicas: PODS_PER_APP,
          conditions: [
            { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastUpdateTime: '2026-11-20T09:00:00Z', lastTransitionTime: '2026-11-20T09:00:00Z' },
            { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}-${app.hash}" has successfully progressed.`, lastUpdateTime: '2026-11-20T09:00:00Z', lastTransitionTime: '2026-11-20T09:00:00Z' }
          ]
        }
      })
      const rs = (h: string, t: any, replicas: number, rev: string): K8sObject => api.create(`/apis/apps/v1/namespaces/${ns}/replicasets`, {
        metadata: {
          name: `${name}-${h}`,
          namespace: ns,
          labels: { app: name, tier: 'backend', 'pod-template-hash': h },
          annotations: { 'deployment.kubernetes.io/desired-replicas': String(PODS_PER_APP), 'deployment.kubernetes.io/max-replicas': String(PODS_PER_APP + 1), 'deployment.kubernetes.io/revision': rev },
          ownerReferences: [ownerRef(d)]
        },
        spec: { replicas, selector: { matchLabels: { app: name, 'pod-template-hash': h } }, template: { ...t, metadata: { ...t.metadata, labels: { ...t.metadata.labels, 'pod-template-hash': h } } } },
        status: { replicas, fullyLabeledReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas, observedGeneration: 1 }
      })
      rs(app.oldHash, oldTpl, 0, '1')
      const cur = rs(app.hash, tpl, PODS_PER_APP, '2')
      const nPods = PODS_PER_APP + (extra > 0 ? 1 : 0)
      if (nPods > PODS_PER_APP) extra--
      const pods: K8sObject[] = []
      for (let p = 0; p < nPods; p++) {
        const podName = `${name}-${app.hash}-${hash(`${name}/${p}`).slice(0, 5)}`
        app.pods.push(podName)
        const ip = `10.${(app.ip >> 16) & 255}.${(app.ip >> 8) & 255}.${app.ip & 255}`
        app.ip++
        pods.push(api.create(`/api/v1/namespaces/${ns}/pods`, {
          metadata: {
            name: podName,
            namespace: ns,
            generateName: `${name}-${app.hash}-`,
            labels: { app: name, tier: 'backend', 'pod-template-hash': app.hash },
            ownerReferences: [ownerRef(cur)],
            ...managedFieldsOf([
              managedFields('kube-controller-manager', 'Update', { 'f:metadata': { 'f:generateName': {}, 'f:labels': {}, 'f:ownerReferences': {} }, 'f:spec': { 'f:containers': {}, 'f:dnsPolicy': {}, 'f:restartPolicy': {} } }),
              managedFields('kubelet', 'Update', { 'f:status': { 'f:conditions': {}, 'f:containerStatuses': {}, 'f:hostIP': {}, 'f:phase': {}, 'f:podIP': {}, 'f:podIPs': {}, 'f:startTime': {} } }, 'status')
            ])
          },
          spec: { ...tpl.spec, nodeName: `node-${p % 20}`, serviceAccountName: 'default', tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }] },
          status: {
            phase: 'Running',
            hostIP: `172.18.0.${p % 20}`,
            podIP: ip,
            podIPs: [{ ip }],
            startTime: '2026-11-20T09:00:00Z',
            qosClass: 'Burstable',
            conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(type => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: '2026-11-20T09:00:01Z' })),
            containerStatuses: [{ name, ready: true, started: true, restartCount: 0, image: tpl.spec.containers[0].image, imageID: `registry.example.com/${name}@sha256:${hash(name).repeat(7).slice(0, 64)}`, containerID: `containerd://${hash(podName).repeat(7).slice(0, 64)}`, state: { running: { startedAt: '2026-11-20T09:00:01Z' } }, lastState: {} }]
          }
        }))
      }
      const svc = api.create(`/api/v1/namespaces/${ns}/services`, {
        metadata: { name, namespace: ns, labels: { app: name } },
        spec: { type: 'ClusterIP', selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], clusterIP: `10.96.${(i >> 8) & 255}.${i & 255}`, clusterIPs: [`10.96.${(i >> 8) & 255}.${i & 255}`], sessionAffinity: 'None', ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', internalTrafficPolicy: 'Cluster' },
        status: { loadBalancer: {} }
      })
      api.create(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
        metadata: { name: `${name}-${hash(name).slice(0, 5)}`, namespace: ns, generateName: `${name}-`, labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' }, ownerReferences: [ownerRef(svc)] },
        addressType: 'IPv4',
        endpoints: pods.map(p => ({ addresses: [p.status.podIP], conditions: { ready: true, serving: true, terminating: false }, nodeName: p.spec.nodeName, targetRef: { kind: 'Pod', namespace: ns, name: p.metadata?.name, uid: p.metadata?.uid } })),
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }]
      })
      apps.push(app)
    }
    const mix: Record<string, number> = {}
    for (const path of ['/apis/apps/v1/deployments', '/apis/apps/v1/replicasets', '/api/v1/pods', '/api/v1/services', '/apis/discovery.k8s.io/v1/endpointslices']) mix[path] = api.list(path).length
    return mix
  }

  /** Status writes, as kubelets and controllers make them: 80 % pods, 10 % ReplicaSets, 10 % Deployments. */
  const stream = (events: number): { lastRV: string, perPath: Record<string, string> } => {
    const perPath: Record<string, string> = {}
    const at = (n: number): string => new Date(Date.parse('2026-11-20T10:00:00Z') + n * 1000).toISOString().replace(/\.\d+Z$/, 'Z')
    for (let e = 0; e < events; e++) {
      const app = apps[(e * 7919) % apps.length]!
      const kind = e % 10
      let o: K8sObject
      let path: string
      if (kind < 8) {
        path = '/api/v1/pods'
        const pod = app.pods[e % app.pods.length]!
        // A readiness probe flapping: Ready and ContainersReady move, the container restarts.
        o = api.patch(path, pod, p => {
          const ready = e % 3 !== 0
          for (const c of p.status.conditions) if (c.type === 'Ready' || c.type === 'ContainersReady') { c.status = ready ? 'True' : 'False'; c.lastTransitionTime = at(e) }
          p.status.containerStatuses[0].ready = ready
          p.status.containerStatuses[0].restartCount++
        }, app.ns)
      } else if (kind === 8) {
        path = '/apis/apps/v1/replicasets'
        o = api.patch(path, `${app.name}-${app.hash}`, r => {
          // A pod going unready or back: every write changes something (a no-op write is no event).
          const ready = r.status.readyReplicas === PODS_PER_APP ? PODS_PER_APP - 1 : PODS_PER_APP
          r.status = { ...r.status, readyReplicas: ready, availableReplicas: ready }
        }, app.ns)
      } else {
        path = '/apis/apps/v1/deployments'
        o = api.patch(path, app.name, d => {
          const ready = d.status.readyReplicas === PODS_PER_APP ? PODS_PER_APP - 1 : PODS_PER_APP
          d.status = { ...d.status, readyReplicas: ready, availableReplicas: ready, conditions: d.status.conditions.map((c: any) => c.type === 'Available' ? { ...c, lastUpdateTime: at(e) } : c) }
        }, app.ns)
      }
      perPath[path] = o.metadata?.resourceVersion ?? ''
    }
    return { lastRV: String(api.rv), perPath }
  }

  process.on('message', (m: ToChild) => {
    try {
      if (m.type === 'preload') {
        const t0 = performance.now()
        const mix = preload(m.objects)
        send({ type: 'ready', port: api.port, mix, ms: Math.round(performance.now() - t0) })
      } else if (m.type === 'stream') {
        // Written while the apiserver does not answer, then served at once: the watches
        // resume from their resourceVersion and get the whole history in one burst, so
        // the rate measured is the consumer's, not this process's pace of writing.
        void (async () => {
          await api.stop()
          const t0 = performance.now()
          const r = stream(m.events)
          const ms = Math.round(performance.now() - t0)
          await api.start()
          send({ type: 'streamed', ms, events: m.events, ...r })
        })().catch(err => { send({ type: 'error', message: (err as Error).stack ?? String(err) }) })
      } else {
        void api.close().finally(() => process.exit(0))
      }
    } catch (err) {
      send({ type: 'error', message: (err as Error).stack ?? String(err) })
    }
  })
  // The parent went away: so does the apiserver.
  process.on('disconnect', () => { process.exit(0) })
}

// ---- the kubechanges side ------------------------------------------------------------

/** global.gc without --expose-gc on the command line (`npm run bench` cannot pass it). */
function exposeGc (): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc
  if (typeof g === 'function') return g
  try {
    v8.setFlagsFromString('--expose-gc')
    return vm.runInNewContext('gc') as () => void
  } catch {
    return undefined
  }
}

const MB = (b: number): number => Math.round(b / 1048576)

async function deadline<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<T>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`watch bench: ${what} took longer than ${ms} ms`)) }, ms) })])
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
}

function request (child: ChildProcess, msg: ToChild, want: FromChild['type']): Promise<FromChild> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: FromChild): void => {
      if (m.type === 'error') { cleanup(); reject(new Error(`apiserver child: ${m.message}`)); return }
      if (m.type === want) { cleanup(); resolve(m) }
    }
    const onExit = (code: number | null): void => { cleanup(); reject(new Error(`apiserver child exited (${String(code)})`)) }
    const cleanup = (): void => { child.off('message', onMessage); child.off('exit', onExit) }
    child.on('message', onMessage)
    child.on('exit', onExit)
    child.send(msg)
  })
}

export async function benchWatch (opts: WatchBenchOptions = {}): Promise<WatchBenchResult> {
  const objects = Math.max(OBJECTS_PER_APP, Math.floor(opts.objects ?? 50_000))
  const nEvents = Math.max(1, Math.floor(opts.events ?? 20_000))
  const timeoutMs = opts.timeoutMs ?? 300_000
  const gc = exposeGc()

  // The apiserver in its own process: this file again, in the child role.
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, KUBECHANGES_BENCH_ROLE: 'apiserver', KUBECHANGES_BENCH_HISTORY: String(nEvents + 1000), KUBECHANGES_BENCH_MANAGED_FIELDS: opts.managedFields === false ? '0' : '1' },
    execArgv: ['--import', 'tsx', '--max-old-space-size=4096'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  const dir = mkdtempSync(join(tmpdir(), 'kc-bench-watch-'))
  let peakRss = 0
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()) }, 50)
  sampler.unref()
  let app: Awaited<ReturnType<typeof createApp>> | undefined
  let source: ReturnType<typeof createWatchSource> | undefined
  try {
    const ready = await deadline(request(child, { type: 'preload', objects }, 'ready'), timeoutMs, 'preloading the apiserver') as Extract<FromChild, { type: 'ready' }>
    gc?.()
    const rssBefore = process.memoryUsage.rss()

    const config = applyFile(structuredClone(DEFAULTS), { store: join(dir, 'changes.db') })
    app = await createApp({ config, env: {}, log: pino({ level: 'silent' }), write: () => {}, metrics: createMetrics({ defaults: false }) })
    app.start()
    gc?.()
    const rssApp = process.memoryUsage.rss()
    const heapApp = process.memoryUsage().heapUsed

    // Count what reaches the pipeline: baseline observations, and the watch events' times.
    const pipeline = app.pipeline
    let baselines = 0
    let watched = 0
    let firstAt = 0
    let lastAt = 0
    let cpuFirst = process.cpuUsage()
    const baseline = pipeline.baseline.bind(pipeline)
    const ingest = pipeline.ingest.bind(pipeline)
    pipeline.baseline = (obs: Observation): void => { baselines++; baseline(obs) }
    pipeline.ingest = (obs: Observation): void => {
      const now = performance.now()
      if (watched === 0) { firstAt = now; cpuFirst = process.cpuUsage() }
      watched++
      ingest(obs)
      lastAt = performance.now()
    }

    const kc = new KubeConfig()
    kc.loadFromOptions({
      clusters: [{ name: 'bench', server: `http://127.0.0.1:${ready.port}`, skipTLSVerify: true }],
      users: [{ name: 'bench' }],
      contexts: [{ name: 'bench', cluster: 'bench', user: 'bench' }],
      currentContext: 'bench'
    })
    // Short, deterministic backoff: the watches resume as soon as the apiserver is back.
    source = createWatchSource({ kc, pipeline, log: app.log, registry: app.metrics.registry, now: Date.now, backoff: { initialMs: 20, maxMs: 50 }, random: () => 1 })
    const t0 = performance.now()
    source.start()
    await deadline(source.synced(), timeoutMs, 'the first LISTs')
    const listMs = Math.round(performance.now() - t0)

    const streamed = await deadline(request(child, { type: 'stream', events: nEvents }, 'streamed'), timeoutMs, 'writing the events') as Extract<FromChild, { type: 'streamed' }>
    // Converged: every informer that got writes is at the last resourceVersion written to it.
    const informers = source.informers
    const converged = (): boolean => Object.entries(streamed.perPath).every(([path, rv]) => informers.find(i => i.path === path)?.informer.resourceVersion === rv)
    await deadline((async () => { while (!converged()) await new Promise(r => setTimeout(r, 10)) })(), timeoutMs, 'streaming the events through the watch')
    const watchMs = lastAt - firstAt
    const cpu = process.cpuUsage(cpuFirst)

    app.tick()
    if (gc !== undefined) { gc(); gc() }
    const mem = process.memoryUsage()
    peakRss = Math.max(peakRss, mem.rss)
    const trackedObjects = informers.reduce((n, i) => n + i.informer.list().length, 0)
    let jsonBytes = 0
    for (const i of informers) for (const o of i.informer.list()) jsonBytes += Buffer.byteLength(JSON.stringify(o))
    return {
      eventsPerSec: watchMs > 0 ? Math.round(watched / (watchMs / 1000)) : 0,
      trackedObjects,
      rssMB: MB(mem.rss),
      heapMB: MB(mem.heapUsed),
      peakRssMB: MB(peakRss),
      rssBeforeAppMB: MB(rssBefore),
      rssEmptyAppMB: MB(rssApp),
      heapEmptyAppMB: MB(heapApp),
      trackedJsonMB: MB(jsonBytes),
      listMs,
      baselineObservations: baselines,
      events: watched,
      watchMs: Math.round(watchMs),
      watchCpuMs: Math.round((cpu.user + cpu.system) / 1000),
      writeMs: streamed.ms,
      indexedObjects: pipeline.correlator.indexSize,
      changesRecorded: app.store.query({ limit: 1000 }).items.length,
      mix: ready.mix,
      gc: gc !== undefined
    }
  } finally {
    clearInterval(sampler)
    await source?.stop()
    await app?.close()
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>(resolve => { child.once('exit', () => { resolve() }) })
      if (child.connected) child.send({ type: 'exit' })
      const killer = setTimeout(() => { if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL') }, 5000)
      await exited
      clearTimeout(killer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.env.KUBECHANGES_BENCH_ROLE === 'apiserver') {
  apiserverChild().catch(err => {
    console.error(err)
    process.exit(1)
  })
} else if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const objects = Number(process.argv[2] ?? 50_000)
  const events = Number(process.argv[3] ?? 20_000)
  benchWatch({ objects: Number.isFinite(objects) && objects > 0 ? objects : 50_000, events: Number.isFinite(events) && events > 0 ? events : 20_000, ...(process.argv.includes('--no-managed-fields') ? { managedFields: false } : {}) }).then(r => {
    const fmt = (n: number): string => n.toLocaleString('en-US')
    console.log(`watch bench: ${fmt(r.trackedObjects)} objects tracked (${Object.entries(r.mix).map(([p, n]) => `${p.split('/').pop() ?? p} ${fmt(n)}`).join(', ')})`)
    console.log(`  first LISTs (baseline, ${fmt(r.baselineObservations)} observations)  ${fmt(r.listMs)} ms`)
    console.log(`  watch events through the pipeline      ${fmt(r.eventsPerSec)} events/s (${fmt(r.events)} in ${fmt(r.watchMs)} ms, ${fmt(r.watchCpuMs)} ms of CPU; the apiserver wrote them in ${fmt(r.writeMs)} ms)`)
    console.log(`  RSS / heap used after GC               ${r.rssMB} MB / ${r.heapMB} MB${r.gc ? '' : ' (no GC available)'}; peak RSS ${r.peakRssMB} MB (target < 300 MB)${r.rssMB >= 300 ? '  OVER TARGET' : ''}`)
    const per = (mb: number): number => r.trackedObjects > 0 ? Math.round(mb * 1048576 / r.trackedObjects) : 0
    console.log(`  RSS before the app / empty app         ${r.rssBeforeAppMB} MB / ${r.rssEmptyAppMB} MB (heap ${r.heapEmptyAppMB} MB)`)
    console.log(`  per tracked object                     ${fmt(per(r.rssMB - r.rssEmptyAppMB))} bytes of RSS, ${fmt(per(r.heapMB - r.heapEmptyAppMB))} bytes of heap (its JSON: ${fmt(per(r.trackedJsonMB))} bytes; all tracked JSON ${r.trackedJsonMB} MB)`)
    console.log(`  objects indexed ${fmt(r.indexedObjects)}, changes recorded ${r.changesRecorded}`)
    console.log(JSON.stringify(r))
  }, err => {
    console.error(err)
    process.exitCode = 1
  })
}
