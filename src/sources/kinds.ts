// Audit events name resources (plural, lower case); the rest of the pipeline
// speaks in kinds. The table covers what the detectors and noise rules need;
// anything else falls back to the kind the request/response body declares.

const KINDS: Record<string, string> = {
  deployments: 'Deployment',
  replicasets: 'ReplicaSet',
  statefulsets: 'StatefulSet',
  daemonsets: 'DaemonSet',
  controllerrevisions: 'ControllerRevision',
  jobs: 'Job',
  cronjobs: 'CronJob',
  pods: 'Pod',
  services: 'Service',
  endpoints: 'Endpoints',
  endpointslices: 'EndpointSlice',
  configmaps: 'ConfigMap',
  secrets: 'Secret',
  namespaces: 'Namespace',
  nodes: 'Node',
  events: 'Event',
  leases: 'Lease',
  serviceaccounts: 'ServiceAccount',
  persistentvolumeclaims: 'PersistentVolumeClaim',
  persistentvolumes: 'PersistentVolume',
  ingresses: 'Ingress',
  networkpolicies: 'NetworkPolicy',
  horizontalpodautoscalers: 'HorizontalPodAutoscaler',
  poddisruptionbudgets: 'PodDisruptionBudget',
  roles: 'Role',
  rolebindings: 'RoleBinding',
  clusterroles: 'ClusterRole',
  clusterrolebindings: 'ClusterRoleBinding',
  customresourcedefinitions: 'CustomResourceDefinition',
  tokenreviews: 'TokenReview',
  subjectaccessreviews: 'SubjectAccessReview',
  selfsubjectaccessreviews: 'SelfSubjectAccessReview',
  selfsubjectrulesreviews: 'SelfSubjectRulesReview',
  localsubjectaccessreviews: 'LocalSubjectAccessReview',
  selfsubjectreviews: 'SelfSubjectReview'
}

export function kindForResource (resource: string, declared?: unknown): string {
  const known = KINDS[resource]
  if (known !== undefined) return known
  if (typeof declared === 'string' && declared !== '' && declared !== 'Status' && !declared.endsWith('List')) return declared
  // Unknown resource and no body: keep the resource name so the change is
  // still identifiable rather than guessing a singular form.
  return resource
}

/** Kinds whose writes are never a logical change (DESIGN.md: noise kinds). */
export function isNoiseResource (group: string, resource: string): boolean {
  if (resource === 'events' || resource === 'leases') return true
  if (resource.endsWith('reviews')) return true
  if (group === 'coordination.k8s.io') return true
  if (resource === 'controllerrevisions') return true
  return false
}

/** Subresources that carry no desired-state change of the object itself. */
const INERT_SUBRESOURCES = new Set(['exec', 'attach', 'portforward', 'proxy', 'log', 'token'])
export function isInertSubresource (sub: string | undefined): boolean {
  return sub !== undefined && INERT_SUBRESOURCES.has(sub)
}

/** Kinds whose values must never leave the normalizer. */
export function isSensitiveKind (kind: string): boolean {
  return kind === 'Secret' || kind === 'ConfigMap'
}
