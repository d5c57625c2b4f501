// A realistic cluster for the watch benches, as the apiserver serves it:
// per application a Deployment (kubectl's last-applied annotation and
// managedFields included), its current and previous ReplicaSets, 3 Pods with
// full specs and statuses, a Service and its EndpointSlice; now and then a
// StatefulSet, a DaemonSet or a Job; Events, each served by both events APIs
// (same uid, as the apiserver does). About 7 KB of JSON per object on
// average, like the cluster measured in issue 10.

import type { FakeApiServer } from '../test/helpers/fake-apiserver.js'
import type { K8sObject } from '../src/model.js'

const NAMESPACES = 200
const PODS_PER_APP = 3
/** Objects per application: Deployment, 2 ReplicaSets, pods, Service, slice, and one Event (in both APIs) every other app. */
const OBJECTS_PER_APP = 5 + PODS_PER_APP + 1
const T0 = '2026-11-20T09:00:00Z'

export function hash (s: string): string {
  let h = 2166136261
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0
  return h.toString(36).padStart(7, '0').slice(0, 10)
}

function mf (manager: string, operation: 'Update' | 'Apply', fields: Record<string, unknown>, sub?: string): unknown {
  return { manager, operation, apiVersion: 'v1', time: T0, fieldsType: 'FieldsV1', fieldsV1: fields, ...(sub !== undefined ? { subresource: sub } : {}) }
}

function ownerRef (o: K8sObject): any {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata?.name, uid: o.metadata?.uid, controller: true, blockOwnerDeletion: true }
}

function podTemplate (name: string, image: string): any {
  return {
    metadata: { creationTimestamp: null, labels: { app: name, tier: 'backend', 'app.kubernetes.io/part-of': 'shop' }, annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' } },
    spec: {
      containers: [{
        name: 'app',
        image,
        ports: [{ containerPort: 8080, name: 'http', protocol: 'TCP' }, { containerPort: 9090, name: 'metrics', protocol: 'TCP' }],
        env: [
          { name: 'LOG_LEVEL', value: 'info' },
          { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
          { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
          { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: `${name}-db`, key: 'url' } } }
        ],
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
        readinessProbe: { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
        livenessProbe: { httpGet: { path: '/livez', port: 8080, scheme: 'HTTP' }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
        volumeMounts: [{ name: 'config', mountPath: '/etc/app' }],
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        imagePullPolicy: 'IfNotPresent'
      }],
      volumes: [{ name: 'config', configMap: { name: `${name}-config`, defaultMode: 420 } }],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      securityContext: {},
      schedulerName: 'default-scheduler'
    }
  }
}

function podSpecOf (tpl: any, node: string, ns: string): any {
  return {
    ...tpl.spec,
    nodeName: node,
    serviceAccountName: 'default',
    serviceAccount: 'default',
    enableServiceLinks: true,
    preemptionPolicy: 'PreemptLowerPriority',
    priority: 0,
    containers: tpl.spec.containers.map((c: any) => ({ ...c, volumeMounts: [...c.volumeMounts, { name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }] })),
    volumes: [...tpl.spec.volumes, {
      name: 'kube-api-access',
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } }
        ]
      }
    }],
    tolerations: [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }
    ],
    ...(ns === '' ? {} : {})
  }
}

function podStatus (image: string, podName: string, ip: string, node: number, restarts = 0): any {
  return {
    phase: 'Running',
    hostIP: `172.18.${node >> 8}.${node & 255}`,
    hostIPs: [{ ip: `172.18.${node >> 8}.${node & 255}` }],
    podIP: ip,
    podIPs: [{ ip }],
    startTime: T0,
    qosClass: 'Burstable',
    conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(type => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: '2026-11-20T09:00:01Z' })),
    containerStatuses: [{
      name: 'app',
      ready: true,
      started: true,
      restartCount: restarts,
      image,
      imageID: `${image.split(':')[0]}@sha256:${hash(image).repeat(7).slice(0, 64)}`,
      containerID: `containerd://${hash(podName).repeat(7).slice(0, 64)}`,
      state: { running: { startedAt: '2026-11-20T09:00:01Z' } },
      lastState: {},
      volumeMounts: [{ name: 'config', mountPath: '/etc/app' }, { name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true, recursiveReadOnly: 'Disabled' }]
    }]
  }
}

export interface MixedCluster {
  /** Objects per collection path. */
  mix: Record<string, number>
  /** Writes for steady traffic: each call makes one status write (or an Event count bump) and returns its collection. */
  write: (n: number) => string
}

/** Fills `api` with about `objects` objects. */
export function preloadMixed (api: FakeApiServer, objects: number): MixedCluster {
  const nApps = Math.max(1, Math.round(objects / OBJECTS_PER_APP))
  const pods: Array<{ ns: string, name: string }> = []
  const deployments: Array<{ ns: string, name: string }> = []
  const events: Array<{ ns: string, name: string, uid: string }> = []
  let nodeCount = Math.max(3, Math.floor(nApps * PODS_PER_APP / 30))
  for (let i = 0; i < nApps; i++) {
    const ns = `team-${i % NAMESPACES}`
    const name = `svc-${i}`
    const image = `registry.example.com/shop/${name}:1.${i % 7}.${i % 13}`
    const tpl = podTemplate(name, image)
    const oldTpl = podTemplate(name, `registry.example.com/shop/${name}:1.${(i % 7) + 100}.0`)
    const h = hash(JSON.stringify(tpl))
    const oldH = hash(JSON.stringify(oldTpl))
    const spec = { replicas: PODS_PER_APP, selector: { matchLabels: { app: name } }, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } }, revisionHistoryLimit: 10, progressDeadlineSeconds: 600, template: tpl }
    const labels = { app: name, tier: 'backend', 'app.kubernetes.io/part-of': 'shop' }
    const lastApplied = JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { annotations: {}, labels, name, namespace: ns }, spec: { replicas: PODS_PER_APP, selector: spec.selector, template: { metadata: { labels: tpl.metadata.labels, annotations: tpl.metadata.annotations }, spec: { containers: tpl.spec.containers, volumes: tpl.spec.volumes } } } }) + '\n'
    const d = api.create(`/apis/apps/v1/namespaces/${ns}/deployments`, {
      metadata: {
        name,
        namespace: ns,
        labels,
        annotations: { 'deployment.kubernetes.io/revision': '2', 'kubectl.kubernetes.io/last-applied-configuration': lastApplied },
        managedFields: [
          mf('kubectl-client-side-apply', 'Update', { 'f:metadata': { 'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {} }, 'f:labels': { '.': {}, 'f:app': {}, 'f:tier': {} } }, 'f:spec': { 'f:progressDeadlineSeconds': {}, 'f:replicas': {}, 'f:revisionHistoryLimit': {}, 'f:selector': {}, 'f:strategy': { 'f:rollingUpdate': { '.': {}, 'f:maxSurge': {}, 'f:maxUnavailable': {} }, 'f:type': {} }, 'f:template': { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {}, 'f:tier': {} } }, 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:env': {}, 'f:image': {}, 'f:imagePullPolicy': {}, 'f:name': {}, 'f:ports': {}, 'f:readinessProbe': {}, 'f:resources': {} } }, 'f:dnsPolicy': {}, 'f:restartPolicy': {} } } } }),
          mf('kube-controller-manager', 'Update', { 'f:metadata': { 'f:annotations': { 'f:deployment.kubernetes.io/revision': {} } }, 'f:status': { 'f:availableReplicas': {}, 'f:conditions': { '.': {}, 'k:{"type":"Available"}': { '.': {}, 'f:lastTransitionTime': {}, 'f:lastUpdateTime': {}, 'f:message': {}, 'f:reason': {}, 'f:status': {}, 'f:type': {} }, 'k:{"type":"Progressing"}': { '.': {}, 'f:lastTransitionTime': {}, 'f:lastUpdateTime': {}, 'f:message': {}, 'f:reason': {}, 'f:status': {}, 'f:type': {} } }, 'f:observedGeneration': {}, 'f:readyReplicas': {}, 'f:replicas': {}, 'f:updatedReplicas': {} } }, 'status')
        ]
      },
      spec,
      status: {
        observedGeneration: 1,
        replicas: PODS_PER_APP,
        updatedReplicas: PODS_PER_APP,
        readyReplicas: PODS_PER_APP,
        availableReplicas: PODS_PER_APP,
        conditions: [
          { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastUpdateTime: T0, lastTransitionTime: T0 },
          { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}-${h}" has successfully progressed.`, lastUpdateTime: T0, lastTransitionTime: T0 }
        ]
      }
    })
    deployments.push({ ns, name })
    const rs = (hh: string, t: any, replicas: number, rev: string): K8sObject => api.create(`/apis/apps/v1/namespaces/${ns}/replicasets`, {
      metadata: {
        name: `${name}-${hh}`,
        namespace: ns,
        labels: { ...labels, 'pod-template-hash': hh },
        annotations: { 'deployment.kubernetes.io/desired-replicas': String(PODS_PER_APP), 'deployment.kubernetes.io/max-replicas': String(PODS_PER_APP + 1), 'deployment.kubernetes.io/revision': rev },
        ownerReferences: [ownerRef(d)],
        managedFields: [
          mf('kube-controller-manager', 'Update', { 'f:metadata': { 'f:annotations': {}, 'f:labels': {}, 'f:ownerReferences': {} }, 'f:spec': { 'f:replicas': {}, 'f:selector': {}, 'f:template': {} } }),
          mf('kube-controller-manager', 'Update', { 'f:status': { 'f:availableReplicas': {}, 'f:fullyLabeledReplicas': {}, 'f:observedGeneration': {}, 'f:readyReplicas': {}, 'f:replicas': {} } }, 'status')
        ]
      },
      spec: { replicas, selector: { matchLabels: { app: name, 'pod-template-hash': hh } }, template: { ...t, metadata: { ...t.metadata, labels: { ...t.metadata.labels, 'pod-template-hash': hh } } } },
      status: { replicas, fullyLabeledReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas, observedGeneration: 1 }
    })
    rs(oldH, oldTpl, 0, '1')
    const cur = rs(h, tpl, PODS_PER_APP, '2')
    const created: K8sObject[] = []
    for (let p = 0; p < PODS_PER_APP; p++) {
      const podName = `${name}-${h}-${hash(`${name}/${p}`).slice(0, 5)}`
      const n = (i * PODS_PER_APP + p) % nodeCount
      const ipn = i * PODS_PER_APP + p
      const ip = `10.${(ipn >> 16) & 255}.${(ipn >> 8) & 255}.${ipn & 255}`
      created.push(api.create(`/api/v1/namespaces/${ns}/pods`, {
        metadata: {
          name: podName,
          namespace: ns,
          generateName: `${name}-${h}-`,
          labels: { ...tpl.metadata.labels, 'pod-template-hash': h },
          annotations: tpl.metadata.annotations,
          ownerReferences: [ownerRef(cur)],
          managedFields: [
            mf('kube-controller-manager', 'Update', { 'f:metadata': { 'f:generateName': {}, 'f:labels': { '.': {}, 'f:app': {}, 'f:pod-template-hash': {}, 'f:tier': {} }, 'f:ownerReferences': { '.': {}, [`k:{"uid":"${cur.metadata?.uid ?? ''}"}`]: {} } }, 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:env': {}, 'f:image': {}, 'f:imagePullPolicy': {}, 'f:name': {}, 'f:ports': {}, 'f:readinessProbe': {}, 'f:resources': {}, 'f:terminationMessagePath': {}, 'f:terminationMessagePolicy': {} } }, 'f:dnsPolicy': {}, 'f:enableServiceLinks': {}, 'f:restartPolicy': {}, 'f:schedulerName': {}, 'f:securityContext': {}, 'f:terminationGracePeriodSeconds': {} } }),
            mf('kubelet', 'Update', { 'f:status': { 'f:conditions': { 'k:{"type":"ContainersReady"}': { '.': {}, 'f:lastProbeTime': {}, 'f:lastTransitionTime': {}, 'f:status': {}, 'f:type': {} }, 'k:{"type":"Initialized"}': { '.': {}, 'f:lastProbeTime': {}, 'f:lastTransitionTime': {}, 'f:status': {}, 'f:type': {} }, 'k:{"type":"Ready"}': { '.': {}, 'f:lastProbeTime': {}, 'f:lastTransitionTime': {}, 'f:status': {}, 'f:type': {} } }, 'f:containerStatuses': {}, 'f:hostIP': {}, 'f:hostIPs': {}, 'f:phase': {}, 'f:podIP': {}, 'f:podIPs': { '.': {}, [`k:{"ip":"${ip}"}`]: { '.': {}, 'f:ip': {} } }, 'f:startTime': {} } }, 'status')
          ]
        },
        spec: podSpecOf(tpl, `node-${n}`, ns),
        status: podStatus(image, podName, ip, n)
      }))
      pods.push({ ns, name: podName })
    }
    const svc = api.create(`/api/v1/namespaces/${ns}/services`, {
      metadata: {
        name,
        namespace: ns,
        labels,
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { annotations: {}, labels, name, namespace: ns }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } }) + '\n' },
        managedFields: [mf('kubectl-client-side-apply', 'Update', { 'f:metadata': { 'f:annotations': {}, 'f:labels': {} }, 'f:spec': { 'f:internalTrafficPolicy': {}, 'f:ports': {}, 'f:selector': {}, 'f:sessionAffinity': {}, 'f:type': {} } })]
      },
      spec: { type: 'ClusterIP', selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], clusterIP: `10.96.${(i >> 8) & 255}.${i & 255}`, clusterIPs: [`10.96.${(i >> 8) & 255}.${i & 255}`], sessionAffinity: 'None', ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', internalTrafficPolicy: 'Cluster' },
      status: { loadBalancer: {} }
    })
    api.create(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
      metadata: {
        name: `${name}-${hash(name).slice(0, 5)}`,
        namespace: ns,
        generateName: `${name}-`,
        labels: { ...labels, 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
        annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': T0 },
        ownerReferences: [ownerRef(svc)],
        managedFields: [mf('kube-controller-manager', 'Update', { 'f:addressType': {}, 'f:endpoints': {}, 'f:metadata': { 'f:annotations': {}, 'f:generateName': {}, 'f:labels': {}, 'f:ownerReferences': {} }, 'f:ports': {} })]
      },
      addressType: 'IPv4',
      endpoints: created.map(p => ({ addresses: [p.status.podIP], conditions: { ready: true, serving: true, terminating: false }, nodeName: p.spec.nodeName, targetRef: { kind: 'Pod', namespace: ns, name: p.metadata?.name, uid: p.metadata?.uid } })),
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }]
    })
    if (i % 2 === 0) {
      // One Event, served by both events APIs with the same uid.
      const pod = created[0]
      const evName = `${pod.metadata?.name ?? ''}.${hash(`ev/${i}`)}`
      const core = api.create(`/api/v1/namespaces/${ns}/events`, {
        metadata: { name: evName, namespace: ns, managedFields: [mf('kubelet', 'Update', { 'f:count': {}, 'f:firstTimestamp': {}, 'f:involvedObject': {}, 'f:lastTimestamp': {}, 'f:message': {}, 'f:reason': {}, 'f:source': {}, 'f:type': {} })] },
        involvedObject: { kind: 'Pod', namespace: ns, name: pod.metadata?.name, uid: pod.metadata?.uid, apiVersion: 'v1', resourceVersion: pod.metadata?.resourceVersion, fieldPath: 'spec.containers{app}' },
        reason: 'Pulled',
        message: `Container image "${image}" already present on machine`,
        source: { component: 'kubelet', host: pod.spec.nodeName },
        firstTimestamp: T0,
        lastTimestamp: T0,
        count: 1,
        type: 'Normal',
        eventTime: null,
        reportingComponent: 'kubelet',
        reportingInstance: pod.spec.nodeName
      })
      api.mirror(`/apis/events.k8s.io/v1/namespaces/${ns}/events`, 'ADDED', toEventsV1(core))
      events.push({ ns, name: evName, uid: core.metadata?.uid ?? '' })
    }
    if (i % 25 === 0) {
      api.create(`/apis/apps/v1/namespaces/${ns}/statefulsets`, {
        metadata: { name: `${name}-db`, namespace: ns, labels: { app: `${name}-db` }, managedFields: [mf('kubectl', 'Update', { 'f:spec': {} })] },
        spec: { replicas: 1, serviceName: `${name}-db`, selector: { matchLabels: { app: `${name}-db` } }, template: podTemplate(`${name}-db`, 'postgres:16.4'), updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } }, podManagementPolicy: 'OrderedReady', revisionHistoryLimit: 10 },
        status: { observedGeneration: 1, replicas: 1, readyReplicas: 1, currentReplicas: 1, updatedReplicas: 1, availableReplicas: 1, currentRevision: `${name}-db-7d9f`, updateRevision: `${name}-db-7d9f`, collisionCount: 0 }
      })
    }
    if (i % 100 === 0) {
      api.create(`/apis/apps/v1/namespaces/${ns}/daemonsets`, {
        metadata: { name: `${name}-agent`, namespace: ns, labels: { app: `${name}-agent` } },
        spec: { selector: { matchLabels: { app: `${name}-agent` } }, template: podTemplate(`${name}-agent`, 'fluent/fluent-bit:3.1'), updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }, revisionHistoryLimit: 10 },
        status: { observedGeneration: 1, currentNumberScheduled: nodeCount, desiredNumberScheduled: nodeCount, numberAvailable: nodeCount, numberMisscheduled: 0, numberReady: nodeCount, updatedNumberScheduled: nodeCount }
      })
    }
    if (i % 20 === 0) {
      api.create(`/apis/batch/v1/namespaces/${ns}/jobs`, {
        metadata: { name: `${name}-migrate`, namespace: ns, labels: { app: name } },
        spec: { completions: 1, parallelism: 1, backoffLimit: 6, completionMode: 'NonIndexed', suspend: false, template: { ...podTemplate(`${name}-migrate`, image), spec: { ...podTemplate(`${name}-migrate`, image).spec, restartPolicy: 'Never' } } },
        status: { succeeded: 1, startTime: T0, completionTime: '2026-11-20T09:01:00Z', ready: 0, uncountedTerminatedPods: {}, conditions: [{ type: 'SuccessCriteriaMet', status: 'True', lastProbeTime: T0, lastTransitionTime: T0 }, { type: 'Complete', status: 'True', lastProbeTime: T0, lastTransitionTime: T0 }] }
      })
    }
  }
  nodeCount = Math.max(nodeCount, 1)
  const mix: Record<string, number> = {}
  for (const path of ['/apis/apps/v1/deployments', '/apis/apps/v1/replicasets', '/api/v1/pods', '/api/v1/services', '/apis/discovery.k8s.io/v1/endpointslices',
    '/apis/apps/v1/statefulsets', '/apis/apps/v1/daemonsets', '/apis/batch/v1/jobs', '/api/v1/events', '/apis/events.k8s.io/v1/events']) mix[path] = api.list(path).length

  let seq = 0
  /** 80 % pod status (a container restart count), 10 % Deployment status, 10 % an Event repeating (count + 1, in both APIs). */
  const write = (n: number): string => {
    seq++
    const r = n % 10
    if (r < 8 || events.length === 0) {
      const p = pods[(n * 7919) % pods.length]
      api.patch(`/api/v1/namespaces/${p.ns}/pods`, p.name, o => {
        o.status.containerStatuses[0].restartCount++
        o.status.conditions[2].lastTransitionTime = new Date(Date.parse(T0) + seq * 1000).toISOString().replace(/\.\d+Z$/, 'Z')
      })
      return '/api/v1/pods'
    }
    if (r === 8) {
      const d = deployments[(n * 104729) % deployments.length]
      api.patch(`/apis/apps/v1/namespaces/${d.ns}/deployments`, d.name, o => {
        o.status.conditions[0].lastUpdateTime = new Date(Date.parse(T0) + seq * 1000).toISOString().replace(/\.\d+Z$/, 'Z')
      })
      return '/apis/apps/v1/deployments'
    }
    const e = events[(n * 31) % events.length]
    const core = api.patch(`/api/v1/namespaces/${e.ns}/events`, e.name, o => {
      o.count = Number(o.count) + 1
      o.lastTimestamp = new Date(Date.parse(T0) + seq * 1000).toISOString().replace(/\.\d+Z$/, 'Z')
    })
    api.mirror(`/apis/events.k8s.io/v1/namespaces/${e.ns}/events`, 'MODIFIED', toEventsV1(core))
    return '/api/v1/events'
  }
  return { mix, write }
}

/** The events.k8s.io/v1 view of a core Event (same uid and resourceVersion). */
function toEventsV1 (core: K8sObject): K8sObject {
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: core.metadata,
    regarding: core.involvedObject,
    reason: core.reason,
    note: core.message,
    type: core.type,
    eventTime: null,
    deprecatedSource: core.source,
    deprecatedFirstTimestamp: core.firstTimestamp,
    deprecatedLastTimestamp: core.lastTimestamp,
    deprecatedCount: core.count,
    reportingController: 'kubelet',
    reportingInstance: core.reportingInstance
  }
}
