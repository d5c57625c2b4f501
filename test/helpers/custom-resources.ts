// Custom resources as their real controllers write them, on top of the audit
// simulator (cluster.ts): the objects a person or CI applies, then the
// controller's status progression, each write an audit event with the
// object as the apiserver returns it (responseObject) and, through
// Cluster.onWrite, a watch event. Every scenario returns the objects after
// each write, so unit tests can judge the same objects the scenario tests send.
//
// Where each shape comes from (read in the controllers' repositories):
// - Argo Rollouts: pkg/apis/rollouts/v1alpha1/types.go (RolloutStatus:
//   observedGeneration is a string, currentPodHash, stableRS, phase, abort),
//   utils/conditions/conditions.go (reasons and messages),
//   pkg/kubectl-argo-rollouts/info/testdata/{canary,rollout-aborted}/*.yaml
//   (real statuses); the controller writes status with a merge patch of
//   /status and keeps rollout.argoproj.io/revision on the Rollout and its
//   ReplicaSets (named <rollout>-<pod hash>, label rollouts-pod-template-hash).
// - Flux helm-controller: api/v2/condition_types.go, internal/reconcile/
//   {atomic_release,upgrade,install,release}.go (Ready/Released/Reconciling/
//   Stalled; message formats; observedGeneration only on success).
// - Flux kustomize-controller: internal/controller/kustomization_controller.go
//   (Ready=False BuildFailed keeps the old observedGeneration and
//   Reconciling=True ProgressingWithRetry: finalizeStatus).
// - Flux source-controller: api/v1/{condition_types,gitrepository_types}.go,
//   internal/reconcile/summarize (FetchFailed → Ready=False GitOperationFailed).
// - cert-manager: pkg/controller/certificates/{issuing,readiness} (Issuing,
//   Ready "Certificate is up to date and has not expired", lastFailureTime,
//   failedIssuanceAttempts; conditions carry observedGeneration), the
//   Secret applied server-side with cert-manager.io/* annotations and, with
//   --enable-certificate-owner-ref, a controller ownerReference
//   (issuing/internal/secret.go); pkg/issuer/{ca,acme}/setup.go (Issuer Ready).
// - Knative Serving: pkg/apis/serving/v1/service_lifecycle.go (Ready,
//   ConfigurationsReady, RoutesReady; observedGeneration), configuration_lifecycle.go
//   (RevisionFailed).

import { Cluster, CONTROLLERS, R, type Resource, type User } from './cluster.js'

export const CR = {
  rollouts: { group: 'argoproj.io', version: 'v1alpha1', resource: 'rollouts', kind: 'Rollout' },
  kustomizations: { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', resource: 'kustomizations', kind: 'Kustomization' },
  helmreleases: { group: 'helm.toolkit.fluxcd.io', version: 'v2', resource: 'helmreleases', kind: 'HelmRelease' },
  gitrepositories: { group: 'source.toolkit.fluxcd.io', version: 'v1', resource: 'gitrepositories', kind: 'GitRepository' },
  ocirepositories: { group: 'source.toolkit.fluxcd.io', version: 'v1', resource: 'ocirepositories', kind: 'OCIRepository' },
  certificates: { group: 'cert-manager.io', version: 'v1', resource: 'certificates', kind: 'Certificate' },
  certificaterequests: { group: 'cert-manager.io', version: 'v1', resource: 'certificaterequests', kind: 'CertificateRequest' },
  issuers: { group: 'cert-manager.io', version: 'v1', resource: 'issuers', kind: 'Issuer' },
  knativeServices: { group: 'serving.knative.dev', version: 'v1', resource: 'services', kind: 'Service' },
  /** A team's own operator with standard conditions. */
  widgets: { group: 'example.com', version: 'v1', resource: 'widgets', kind: 'Widget' },
  /** A CRD without status. */
  gadgets: { group: 'example.com', version: 'v1', resource: 'gadgets', kind: 'Gadget' }
} satisfies Record<string, Resource>

const SA = (ns: string, name: string): User => ({ username: `system:serviceaccount:${ns}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'] })
export const CR_CONTROLLERS = {
  argoRollouts: SA('argo-rollouts', 'argo-rollouts'),
  helm: SA('flux-system', 'helm-controller'),
  kustomize: SA('flux-system', 'kustomize-controller'),
  source: SA('flux-system', 'source-controller'),
  certManager: SA('cert-manager', 'cert-manager'),
  knative: SA('knative-serving', 'controller'),
  widgets: SA('widgets-system', 'widget-operator')
}

const at = (c: Cluster): string => new Date(Math.floor(c.t / 1000) * 1000).toISOString().replace('.000', '')
const cond = (c: Cluster, type: string, status: string, reason: string, message: string, observedGeneration?: number): any => ({
  type, status, reason, message, lastTransitionTime: at(c), ...(observedGeneration !== undefined ? { observedGeneration } : {})
})

/** `kubectl apply` of a desired object: a create, or a patch of its spec (generation moves), as the user. */
export function applyDesired (c: Cluster, user: User, r: Resource, obj: any): { written: any, exists: boolean, result: { created: any } | { updated: any } } {
  const { namespace: ns, name } = obj.metadata
  const exists = c.get(r, ns, name) !== undefined
  const written = exists
    ? c.patch(user, r, ns, name, { spec: obj.spec }, o => { o.spec = structuredClone(obj.spec) })
    : c.create(user, r, obj)
  return { written, exists, result: exists ? { updated: written } : { created: written } }
}

// ---- Argo Rollouts -----------------------------------------------------------

export function rolloutObject (ns: string, name: string, image: string, replicas = 3): any {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: {
      replicas,
      revisionHistoryLimit: 3,
      selector: { matchLabels: { app: name } },
      strategy: { canary: { steps: [{ setWeight: 50 }, { pause: { duration: '30s' } }] } },
      template: {
        metadata: { creationTimestamp: null, labels: { app: name } },
        spec: { containers: [{ name, image, ports: [{ containerPort: 8080, protocol: 'TCP' }], resources: {} }] }
      }
    }
  }
}

function podHash (tpl: unknown): string {
  let h = 2166136261
  for (const ch of JSON.stringify(tpl)) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0
  return h.toString(16).padStart(8, '0').slice(0, 9)
}

/** RolloutStatus as the controller writes it (observedGeneration a string). */
export function rolloutStatus (c: Cluster, ro: any, s: { phase: string, currentPodHash: string, stableRS?: string, updated: number, available: number, message?: string, abort?: boolean, progressing?: [string, string, string] }): any {
  const revision = ro.metadata.annotations?.['rollout.argoproj.io/revision'] ?? '1'
  const healthy = s.phase === 'Healthy'
  const progressing: [string, string, string] = s.progressing ?? (healthy ? ['True', 'NewReplicaSetAvailable', 'Rollout is healthy'] : ['True', 'ReplicaSetUpdated', `ReplicaSet "${String(ro.metadata.name)}-${s.currentPodHash}" is progressing.`])
  return {
    HPAReplicas: s.available,
    availableReplicas: s.available,
    blueGreen: {},
    canary: {},
    ...(s.abort === true ? { abort: true, abortedAt: at(c) } : {}),
    conditions: [
      cond(c, 'Available', s.available >= ro.spec.replicas ? 'True' : 'False', 'AvailableReason', s.available >= ro.spec.replicas ? 'Rollout has minimum availability' : 'Rollout does not have minimum availability'),
      cond(c, 'Progressing', ...progressing),
      cond(c, 'Completed', healthy ? 'True' : 'False', healthy ? 'RolloutCompleted' : 'RolloutNotCompleted', healthy ? `Rollout completed update to revision ${String(revision)} (${s.currentPodHash}): Initial deploy` : `Rollout not completed, started update to revision ${String(revision)} (${s.currentPodHash})`),
      cond(c, 'Healthy', healthy ? 'True' : 'False', 'RolloutHealthy', healthy ? 'Rollout is healthy' : 'Rollout is not healthy')
    ],
    currentPodHash: s.currentPodHash,
    currentStepHash: '5ffbfbbd64',
    currentStepIndex: healthy ? 2 : 0,
    observedGeneration: String(ro.metadata.generation),
    phase: s.phase,
    ...(s.message !== undefined ? { message: s.message } : {}),
    readyReplicas: s.available,
    replicas: ro.spec.replicas,
    selector: `app=${String(ro.metadata.name)}`,
    ...(s.stableRS !== undefined ? { stableRS: s.stableRS } : {}),
    updatedReplicas: s.updated
  }
}

function rolloutReplicaSet (c: Cluster, ro: any, hash: string, revision: string): any {
  const name = `${String(ro.metadata.name)}-${hash}`
  if (c.get(R.replicasets, ro.metadata.namespace, name) !== undefined) return c.get(R.replicasets, ro.metadata.namespace, name)
  return c.create(CR_CONTROLLERS.argoRollouts, R.replicasets, {
    metadata: {
      name,
      namespace: ro.metadata.namespace,
      labels: { ...ro.spec.template.metadata.labels, 'rollouts-pod-template-hash': hash },
      annotations: { 'rollout.argoproj.io/desired-replicas': String(ro.spec.replicas), 'rollout.argoproj.io/revision': revision },
      ownerReferences: [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: ro.metadata.name, uid: ro.metadata.uid, controller: true, blockOwnerDeletion: true }]
    },
    spec: { replicas: ro.spec.replicas, selector: { matchLabels: { ...ro.spec.selector.matchLabels, 'rollouts-pod-template-hash': hash } }, template: ro.spec.template }
  })
}

/** The controller picks up a new template: a ReplicaSet for its hash, the revision annotation on the Rollout. */
function rolloutNewRevision (c: Cluster, ns: string, name: string): { ro: any, hash: string } {
  let ro = c.get(CR.rollouts, ns, name)
  const hash = podHash(ro.spec.template)
  const revision = String(Number(ro.metadata.annotations?.['rollout.argoproj.io/revision'] ?? '0') + 1)
  c.advance(50)
  rolloutReplicaSet(c, ro, hash, revision)
  ro = c.patch(CR_CONTROLLERS.argoRollouts, CR.rollouts, ns, name,
    { metadata: { annotations: { 'rollout.argoproj.io/revision': revision } } },
    o => { o.metadata.annotations = { ...(o.metadata.annotations ?? {}), 'rollout.argoproj.io/revision': revision } })
  return { ro, hash }
}

export interface Progression { created?: any, updated?: any, statuses: any[] }

function rolloutWrite (c: Cluster, ns: string, name: string, s: Parameters<typeof rolloutStatus>[2]): any {
  const ro = c.get(CR.rollouts, ns, name)
  return c.writeStatus(CR_CONTROLLERS.argoRollouts, CR.rollouts, ns, name, rolloutStatus(c, ro, s))
}

/** Create: the first revision goes straight to 100 % (no steps on an initial deploy): Progressing → Healthy. */
export function createRollout (c: Cluster, user: User, ns: string, name: string, image: string, replicas = 3): Progression {
  const created = c.create(user, CR.rollouts, rolloutObject(ns, name, image, replicas))
  const { hash } = rolloutNewRevision(c, ns, name)
  const statuses = [rolloutWrite(c, ns, name, { phase: 'Progressing', currentPodHash: hash, updated: 0, available: 0, message: 'more replicas need to be updated' })]
  c.advance(4000)
  statuses.push(rolloutWrite(c, ns, name, { phase: 'Progressing', currentPodHash: hash, updated: replicas, available: replicas - 1, message: 'updated replicas are still becoming available' }))
  c.advance(2000)
  statuses.push(rolloutWrite(c, ns, name, { phase: 'Healthy', currentPodHash: hash, stableRS: hash, updated: replicas, available: replicas }))
  return { created, statuses }
}

/** `kubectl argo rollouts set image`: a new pod hash; the stable RS stays the old one until the steps are done. */
export function setRolloutImage (c: Cluster, user: User, ns: string, name: string, image: string, end: 'healthy' | 'degraded' | 'aborted' = 'healthy'): Progression {
  const before = c.get(CR.rollouts, ns, name)
  const oldHash: string = before.status.stableRS
  const updated = c.patch(user, CR.rollouts, ns, name,
    { spec: { template: { spec: { containers: [{ name, image }] } } } },
    o => { o.spec.template.spec.containers[0].image = image })
  const { hash } = rolloutNewRevision(c, ns, name)
  const replicas: number = updated.spec.replicas
  const statuses = [rolloutWrite(c, ns, name, { phase: 'Progressing', currentPodHash: hash, stableRS: oldHash, updated: 1, available: replicas, message: 'more replicas need to be updated' })]
  c.advance(3000)
  statuses.push(rolloutWrite(c, ns, name, { phase: 'Paused', currentPodHash: hash, stableRS: oldHash, updated: 2, available: replicas, message: 'CanaryPauseStep' }))
  c.advance(30_000)
  if (end === 'healthy') {
    statuses.push(rolloutWrite(c, ns, name, { phase: 'Progressing', currentPodHash: hash, stableRS: oldHash, updated: replicas, available: replicas, message: 'updated replicas are still becoming available' }))
    c.advance(2000)
    statuses.push(rolloutWrite(c, ns, name, { phase: 'Healthy', currentPodHash: hash, stableRS: hash, updated: replicas, available: replicas }))
  } else if (end === 'degraded') {
    const msg = `Rollout "${name}" has timed out progressing.`
    statuses.push(rolloutWrite(c, ns, name, { phase: 'Degraded', currentPodHash: hash, stableRS: oldHash, updated: 2, available: replicas - 1, message: `ProgressDeadlineExceeded: ${msg}`, progressing: ['False', 'ProgressDeadlineExceeded', `ReplicaSet "${name}-${hash}" has timed out progressing.`] }))
  } else {
    // `kubectl argo rollouts abort` patches status.abort on the status subresource, as the user.
    c.patch(user, CR.rollouts, ns, name, { status: { abort: true } }, o => { o.status.abort = true }, { sub: 'status' })
    const revision = c.get(CR.rollouts, ns, name).metadata.annotations['rollout.argoproj.io/revision']
    statuses.push(rolloutWrite(c, ns, name, { phase: 'Degraded', abort: true, currentPodHash: hash, stableRS: oldHash, updated: 0, available: replicas, message: `RolloutAborted: Rollout aborted update to revision ${String(revision)}`, progressing: ['False', 'RolloutAborted', `Rollout aborted update to revision ${String(revision)}`] }))
  }
  return { updated, statuses }
}

// ---- Flux ------------------------------------------------------------------------

export function helmReleaseObject (ns: string, name: string, version: string, values: Record<string, unknown> = {}): any {
  return {
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name, namespace: ns },
    spec: {
      interval: '10m',
      chart: { spec: { chart: name, version, sourceRef: { kind: 'HelmRepository', name: 'podinfo' }, interval: '10m' } },
      values
    }
  }
}

function helmWrite (c: Cluster, ns: string, name: string, make: (hr: any) => any): any {
  const hr = c.get(CR.helmreleases, ns, name)
  return c.writeStatus(CR_CONTROLLERS.helm, CR.helmreleases, ns, name, make(hr))
}

/** A HelmRelease install (create) or upgrade (a chart version change) to its end: Ready=True, or UpgradeFailed and Stalled. */
export function helmRelease (c: Cluster, user: User, ns: string, name: string, version: string, end: 'succeeded' | 'failed' = 'succeeded'): Progression {
  const { written, exists, result } = applyDesired(c, user, CR.helmreleases, helmReleaseObject(ns, name, version))
  const action = exists ? 'upgrade' : 'install'
  const gen: number = written.metadata.generation
  const prev = written.status ?? {}
  const release = `${ns}/${name}.v${(prev.history?.length ?? 0) + 1}`
  c.advance(300)
  const running = `Running '${action}' action with timeout of 5m0s`
  const statuses = [helmWrite(c, ns, name, hr => ({
    ...prev,
    conditions: [cond(c, 'Reconciling', 'True', 'Progressing', running, gen), cond(c, 'Ready', 'Unknown', 'Progressing', running, gen), ...(prev.conditions ?? []).filter((x: any) => !['Reconciling', 'Ready'].includes(x.type))],
    helmChart: `${ns}/${ns}-${name}`,
    lastAttemptedGeneration: gen,
    lastAttemptedRevision: version,
    lastAttemptedReleaseAction: action,
    observedGeneration: hr.status?.observedGeneration ?? -1
  }))]
  c.advance(8000)
  if (end === 'succeeded') {
    const msg = action === 'install' ? `Helm install succeeded for release ${release} with chart ${name}@${version}` : `Helm upgrade succeeded for release ${release} with chart ${name}@${version}`
    const reason = action === 'install' ? 'InstallSucceeded' : 'UpgradeSucceeded'
    statuses.push(helmWrite(c, ns, name, () => ({
      ...prev,
      conditions: [cond(c, 'Ready', 'True', reason, msg, gen), cond(c, 'Released', 'True', reason, msg, gen)],
      helmChart: `${ns}/${ns}-${name}`,
      history: [{ name, namespace: ns, version: (prev.history?.length ?? 0) + 1, status: 'deployed', chartName: name, chartVersion: version, firstDeployed: at(c), lastDeployed: at(c), digest: 'sha256:0d5c…' }, ...(prev.history ?? [])],
      lastAttemptedGeneration: gen,
      lastAttemptedRevision: version,
      lastAttemptedReleaseAction: action,
      observedGeneration: gen
    })))
  } else {
    const msg = `Helm ${action} failed for release ${ns}/${name} with chart ${name}@${version}: context deadline exceeded`
    const reason = action === 'install' ? 'InstallFailed' : 'UpgradeFailed'
    statuses.push(helmWrite(c, ns, name, hr => ({
      ...prev,
      conditions: [
        cond(c, 'Stalled', 'True', 'RetriesExceeded', `Failed to ${action} after 1 attempt(s)`, gen),
        cond(c, 'Ready', 'False', reason, msg, gen),
        cond(c, 'Released', 'False', reason, msg, gen)
      ],
      failures: 1,
      [action === 'install' ? 'installFailures' : 'upgradeFailures']: 1,
      lastAttemptedGeneration: gen,
      lastAttemptedRevision: version,
      lastAttemptedReleaseAction: action,
      // observedGeneration moves only on success (or a terminal error): still the old one.
      observedGeneration: hr.status?.observedGeneration ?? -1
    })))
  }
  return { ...result, statuses }
}

export function kustomizationObject (ns: string, name: string, path: string): any {
  return {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name, namespace: ns },
    spec: { interval: '10m', path, prune: true, sourceRef: { kind: 'GitRepository', name: 'flux-system' }, timeout: '5m' }
  }
}

/** A Kustomization create or path change: applied and healthy, or the build fails (old observedGeneration kept, retried). */
export function kustomization (c: Cluster, user: User, ns: string, name: string, path: string, end: 'succeeded' | 'failed' = 'succeeded'): Progression {
  const { written, result } = applyDesired(c, user, CR.kustomizations, kustomizationObject(ns, name, path))
  const gen: number = written.metadata.generation
  const prevObserved = written.status?.observedGeneration ?? -1
  const revision = 'main@sha1:5b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c'
  c.advance(200)
  const statuses = [c.writeStatus(CR_CONTROLLERS.kustomize, CR.kustomizations, ns, name, {
    conditions: [cond(c, 'Reconciling', 'True', 'Progressing', `Fetching manifests for revision ${revision} with a timeout of 5m0s`, gen), cond(c, 'Ready', 'Unknown', 'Progressing', 'Reconciliation in progress', gen)],
    observedGeneration: prevObserved
  })]
  c.advance(3000)
  statuses.push(c.writeStatus(CR_CONTROLLERS.kustomize, CR.kustomizations, ns, name, end === 'succeeded'
    ? { conditions: [cond(c, 'Ready', 'True', 'ReconciliationSucceeded', `Applied revision: ${revision}`, gen)], lastAppliedRevision: revision, lastAttemptedRevision: revision, observedGeneration: gen }
    : {
        conditions: [
          cond(c, 'Reconciling', 'True', 'ProgressingWithRetry', `Detecting drift for revision ${revision} with a timeout of 5m0s`, gen),
          cond(c, 'Ready', 'False', 'BuildFailed', `kustomize build failed: accumulating resources: accumulation err='accumulating resources from '${path}': open /tmp/kustomization-1234/${path}: no such file or directory'`, gen)
        ],
        lastAttemptedRevision: revision,
        observedGeneration: prevObserved
      }))
  return { ...result, statuses }
}

export function gitRepositoryObject (ns: string, name: string, url: string, branch = 'main'): any {
  return { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name, namespace: ns }, spec: { interval: '1m', url, ref: { branch }, timeout: '60s' } }
}

/** A GitRepository create: an artifact stored (Ready=True), or the clone fails (FetchFailed=True, Ready=False GitOperationFailed). */
export function gitRepository (c: Cluster, user: User, ns: string, name: string, url: string, end: 'succeeded' | 'failed' = 'succeeded'): Progression {
  const created = c.create(user, CR.gitrepositories, gitRepositoryObject(ns, name, url))
  const gen: number = created.metadata.generation
  c.advance(100)
  const statuses = [c.writeStatus(CR_CONTROLLERS.source, CR.gitrepositories, ns, name, {
    conditions: [cond(c, 'Reconciling', 'True', 'Progressing', 'reconciliation in progress', gen), cond(c, 'Ready', 'Unknown', 'Progressing', 'reconciliation in progress', gen)]
  })]
  c.advance(1500)
  const revision = 'main@sha1:0c1ea2b3c4d5e6f708192a3b4c5d6e7f80912a3b'
  statuses.push(c.writeStatus(CR_CONTROLLERS.source, CR.gitrepositories, ns, name, end === 'succeeded'
    ? {
        artifact: { path: `gitrepository/${ns}/${name}/0c1ea2b3.tar.gz`, url: `http://source-controller.flux-system.svc.cluster.local./gitrepository/${ns}/${name}/0c1ea2b3.tar.gz`, revision, digest: 'sha256:8f2b…', lastUpdateTime: at(c), size: 20314 },
        conditions: [cond(c, 'Ready', 'True', 'Succeeded', `stored artifact for revision '${revision}'`, gen), cond(c, 'ArtifactInStorage', 'True', 'Succeeded', `stored artifact for revision '${revision}'`, gen)],
        observedGeneration: gen
      }
    : {
        conditions: [
          cond(c, 'Reconciling', 'True', 'ProgressingWithRetry', 'reconciliation in progress', gen),
          cond(c, 'Ready', 'False', 'GitOperationFailed', `failed to checkout and determine revision: unable to clone '${url}': authentication required`, gen),
          cond(c, 'FetchFailed', 'True', 'GitOperationFailed', `failed to checkout and determine revision: unable to clone '${url}': authentication required`, gen)
        ],
        observedGeneration: -1
      }))
  return { created, statuses }
}

export function ociRepositoryObject (ns: string, name: string, url: string, tag: string): any {
  return { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'OCIRepository', metadata: { name, namespace: ns }, spec: { interval: '5m', url, ref: { tag }, timeout: '60s' } }
}

/** An OCIRepository create: artifact pulled, or OCIArtifactPullFailed. */
export function ociRepository (c: Cluster, user: User, ns: string, name: string, url: string, tag: string, end: 'succeeded' | 'failed' = 'succeeded'): Progression {
  const created = c.create(user, CR.ocirepositories, ociRepositoryObject(ns, name, url, tag))
  const gen: number = created.metadata.generation
  c.advance(1200)
  const revision = `${tag}@sha256:3b6cdcc7adcc9a84d3214ee1c029543789d90b5ae69debe9efa3f32e4c2fd6cd`
  const statuses = [c.writeStatus(CR_CONTROLLERS.source, CR.ocirepositories, ns, name, end === 'succeeded'
    ? {
        artifact: { path: `ocirepository/${ns}/${name}/3b6cdcc7.tar.gz`, revision, digest: 'sha256:1c2d…', lastUpdateTime: at(c), size: 5321 },
        conditions: [cond(c, 'Ready', 'True', 'Succeeded', `stored artifact for digest '${revision}'`, gen), cond(c, 'ArtifactInStorage', 'True', 'Succeeded', `stored artifact for digest '${revision}'`, gen)],
        observedGeneration: gen,
        url: `http://source-controller.flux-system.svc.cluster.local./ocirepository/${ns}/${name}/latest.tar.gz`
      }
    : {
        conditions: [
          cond(c, 'Reconciling', 'True', 'ProgressingWithRetry', 'reconciliation in progress', gen),
          cond(c, 'Ready', 'False', 'OCIArtifactPullFailed', `failed to determine artifact digest: GET ${url.replace('oci://', 'https://')}/manifests/${tag}: MANIFEST_UNKNOWN`, gen),
          cond(c, 'FetchFailed', 'True', 'OCIArtifactPullFailed', `failed to determine artifact digest: GET ${url.replace('oci://', 'https://')}/manifests/${tag}: MANIFEST_UNKNOWN`, gen)
        ],
        observedGeneration: -1
      })]
  return { created, statuses }
}

// ---- cert-manager -------------------------------------------------------------------

export function certificateObject (ns: string, name: string, dnsNames: string[], issuer = 'letsencrypt'): any {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name, namespace: ns },
    spec: { secretName: `${name}-tls`, dnsNames, issuerRef: { name: issuer, kind: 'Issuer', group: 'cert-manager.io' }, privateKey: { rotationPolicy: 'Always' } }
  }
}

/** A Certificate create: Issuing=True, a CertificateRequest, then the Secret (server-side apply) and Ready=True — or the request fails. */
export function issueCertificate (c: Cluster, user: User, ns: string, name: string, dnsNames: string[], end: 'succeeded' | 'failed' = 'succeeded', opts: { ownerRef?: boolean } = {}): Progression & { secret?: any } {
  const created = c.create(user, CR.certificates, certificateObject(ns, name, dnsNames))
  const gen: number = created.metadata.generation
  c.advance(100)
  const statuses = [c.writeStatus(CR_CONTROLLERS.certManager, CR.certificates, ns, name, {
    conditions: [
      cond(c, 'Ready', 'False', 'DoesNotExist', 'Issuing certificate as Secret does not exist', gen),
      cond(c, 'Issuing', 'True', 'DoesNotExist', 'Issuing certificate as Secret does not exist', gen)
    ],
    nextPrivateKeySecretName: `${name}-x7k2p`
  }, { verb: 'update' })]
  c.advance(200)
  c.create(CR_CONTROLLERS.certManager, CR.certificaterequests, {
    metadata: {
      name: `${name}-1`,
      namespace: ns,
      annotations: { 'cert-manager.io/certificate-name': name, 'cert-manager.io/certificate-revision': '1', 'cert-manager.io/private-key-secret-name': `${name}-x7k2p` },
      ownerReferences: [{ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', name, uid: created.metadata.uid, controller: true, blockOwnerDeletion: true }]
    },
    spec: { issuerRef: { name: 'letsencrypt', kind: 'Issuer', group: 'cert-manager.io' }, request: 'LS0tLS1CRUdJTi…', usages: ['digital signature', 'key encipherment'] }
  })
  c.advance(6000)
  if (end === 'failed') {
    const msg = 'The certificate request has failed to complete and will be retried: Failed to wait for order resource "' + name + '-1-3849261" to become ready: order is in "invalid" state: '
    statuses.push(c.writeStatus(CR_CONTROLLERS.certManager, CR.certificates, ns, name, {
      conditions: [
        cond(c, 'Ready', 'False', 'DoesNotExist', 'Issuing certificate as Secret does not exist', gen),
        cond(c, 'Issuing', 'False', 'Failed', msg, gen)
      ],
      failedIssuanceAttempts: 1,
      lastFailureTime: at(c)
    }, { verb: 'update' }))
    return { created, statuses }
  }
  const secret = c.apply(CR_CONTROLLERS.certManager, R.secrets, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: `${name}-tls`,
      namespace: ns,
      annotations: { 'cert-manager.io/alt-names': dnsNames.join(','), 'cert-manager.io/certificate-name': name, 'cert-manager.io/common-name': dnsNames[0] ?? '', 'cert-manager.io/issuer-group': 'cert-manager.io', 'cert-manager.io/issuer-kind': 'Issuer', 'cert-manager.io/issuer-name': 'letsencrypt' },
      labels: { 'controller.cert-manager.io/fao': 'true' },
      ...(opts.ownerRef !== false ? { ownerReferences: [{ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', name, uid: created.metadata.uid, controller: true, blockOwnerDeletion: true }] } : {})
    },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': 'LS0tLS1CRUdJTi…', 'tls.key': 'LS0tLS1CRUdJTi…', 'ca.crt': '' }
  }, { level: 'Metadata' })
  c.advance(50)
  // The issuing controller removes Issuing and records the revision; the readiness controller then sets Ready.
  const notReady = statuses[0].status.conditions.find((x: any) => x.type === 'Ready')
  statuses.push(c.writeStatus(CR_CONTROLLERS.certManager, CR.certificates, ns, name, { conditions: [notReady], revision: 1 }, { verb: 'update' }))
  c.advance(50)
  const notAfter = new Date(c.t + 90 * 86400_000).toISOString().replace(/\.\d+Z$/, 'Z')
  statuses.push(c.writeStatus(CR_CONTROLLERS.certManager, CR.certificates, ns, name, {
    conditions: [cond(c, 'Ready', 'True', 'Ready', 'Certificate is up to date and has not expired', gen)],
    notAfter,
    notBefore: at(c),
    renewalTime: new Date(c.t + 60 * 86400_000).toISOString().replace(/\.\d+Z$/, 'Z'),
    revision: 1
  }, { verb: 'update' }))
  return { created, statuses, secret }
}

export function issuerObject (ns: string, name: string, caSecret: string): any {
  return { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name, namespace: ns }, spec: { ca: { secretName: caSecret } } }
}

/** A CA Issuer create: KeyPairVerified, or ErrGetKeyPair when its Secret is missing. */
export function createIssuer (c: Cluster, user: User, ns: string, name: string, caSecret: string, end: 'succeeded' | 'failed' = 'succeeded'): Progression {
  const created = c.create(user, CR.issuers, issuerObject(ns, name, caSecret))
  const gen: number = created.metadata.generation
  c.advance(150)
  const statuses = [c.writeStatus(CR_CONTROLLERS.certManager, CR.issuers, ns, name, {
    conditions: [end === 'succeeded'
      ? cond(c, 'Ready', 'True', 'KeyPairVerified', 'Signing CA verified', gen)
      : cond(c, 'Ready', 'False', 'ErrGetKeyPair', `Error getting keypair for CA issuer: secrets "${caSecret}" not found`, gen)]
  }, { verb: 'update' })]
  return { created, statuses }
}

// ---- Knative Serving ---------------------------------------------------------------------

export function knativeServiceObject (ns: string, name: string, image: string): any {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { template: { metadata: { creationTimestamp: null }, spec: { containers: [{ image, ports: [{ containerPort: 8080 }] }] } }, traffic: [{ latestRevision: true, percent: 100 }] }
  }
}

/** A Knative Service create: Unknown while the revision deploys, then Ready=True — or RevisionFailed. */
export function knativeService (c: Cluster, user: User, ns: string, name: string, image: string, end: 'succeeded' | 'failed' = 'succeeded'): Progression {
  const created = c.create(user, CR.knativeServices, knativeServiceObject(ns, name, image))
  const gen: number = created.metadata.generation
  const rev = `${name}-00001`
  c.advance(300)
  const statuses = [c.writeStatus(CR_CONTROLLERS.knative, CR.knativeServices, ns, name, {
    conditions: [cond(c, 'ConfigurationsReady', 'Unknown', '', ''), cond(c, 'Ready', 'Unknown', 'RevisionMissing', `Configuration "${name}" is waiting for a Revision to become ready.`), cond(c, 'RoutesReady', 'Unknown', 'RevisionMissing', `Configuration "${name}" is waiting for a Revision to become ready.`)].map(x => x.reason === '' ? { type: x.type, status: x.status, lastTransitionTime: x.lastTransitionTime } : x),
    latestCreatedRevisionName: rev,
    observedGeneration: gen
  }, { verb: 'update' })]
  c.advance(9000)
  statuses.push(c.writeStatus(CR_CONTROLLERS.knative, CR.knativeServices, ns, name, end === 'succeeded'
    ? {
        address: { url: `http://${name}.${ns}.svc.cluster.local` },
        conditions: [cond(c, 'ConfigurationsReady', 'True', '', ''), cond(c, 'Ready', 'True', '', ''), cond(c, 'RoutesReady', 'True', '', '')].map(x => ({ type: x.type, status: x.status, lastTransitionTime: x.lastTransitionTime })),
        latestCreatedRevisionName: rev,
        latestReadyRevisionName: rev,
        observedGeneration: gen,
        traffic: [{ latestRevision: true, percent: 100, revisionName: rev }],
        url: `http://${name}.${ns}.example.com`
      }
    : {
        conditions: [
          cond(c, 'ConfigurationsReady', 'False', 'RevisionFailed', `Revision "${rev}" failed with message: Unable to fetch image "${image}": failed to resolve image to digest: GET https://index.docker.io/v2/: unexpected status code 404 Not Found.`),
          cond(c, 'Ready', 'False', 'RevisionFailed', `Revision "${rev}" failed with message: Unable to fetch image "${image}": failed to resolve image to digest: GET https://index.docker.io/v2/: unexpected status code 404 Not Found.`),
          cond(c, 'RoutesReady', 'False', 'RevisionFailed', `Revision "${rev}" failed with message: Unable to fetch image "${image}".`)
        ],
        latestCreatedRevisionName: rev,
        observedGeneration: gen
      }, { verb: 'update' }))
  return { created, statuses }
}

// ---- a team's own operator ---------------------------------------------------------------

export function widgetObject (ns: string, name: string, size: string): any {
  return { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name, namespace: ns }, spec: { size } }
}

/** A CRD whose operator writes standard conditions (metav1.Condition with observedGeneration, status.observedGeneration). */
export function widget (c: Cluster, user: User, ns: string, name: string, size: string, end: 'succeeded' | 'failed' = 'succeeded'): Progression {
  const { written, result } = applyDesired(c, user, CR.widgets, widgetObject(ns, name, size))
  const gen: number = written.metadata.generation
  const prevObserved = written.status?.observedGeneration
  c.advance(200)
  const statuses = [c.writeStatus(CR_CONTROLLERS.widgets, CR.widgets, ns, name, {
    ...(prevObserved !== undefined ? { observedGeneration: prevObserved } : {}),
    conditions: [cond(c, 'Reconciling', 'True', 'Provisioning', `provisioning a ${size} widget`, gen), cond(c, 'Ready', 'False', 'Provisioning', `provisioning a ${size} widget`, gen)]
  })]
  c.advance(5000)
  statuses.push(c.writeStatus(CR_CONTROLLERS.widgets, CR.widgets, ns, name, end === 'succeeded'
    ? { observedGeneration: gen, conditions: [cond(c, 'Ready', 'True', 'Provisioned', `a ${size} widget is serving`, gen)] }
    : { observedGeneration: gen, conditions: [cond(c, 'Stalled', 'True', 'QuotaExceeded', `no capacity for a ${size} widget`, gen), cond(c, 'Ready', 'False', 'QuotaExceeded', `no capacity for a ${size} widget`, gen)] }))
  return { ...result, statuses }
}

/** A CRD without status: only what the user writes. */
export function gadget (c: Cluster, user: User, ns: string, name: string, color: string): Progression {
  return { ...applyDesired(c, user, CR.gadgets, { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name, namespace: ns }, spec: { color } }).result, statuses: [] }
}

export { CONTROLLERS }
