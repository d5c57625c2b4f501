// The kinds kubechanges watches by default. The RBAC manifest must grant
// get/list/watch on exactly these (a test checks it).

export interface WatchedKind {
  group: string // '' for the core group
  version: string
  resource: string
  kind: string
  namespaced: boolean
}

export const DEFAULT_WATCHED_KINDS: readonly WatchedKind[] = [
  { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true },
  { group: 'apps', version: 'v1', resource: 'replicasets', kind: 'ReplicaSet', namespaced: true },
  { group: 'apps', version: 'v1', resource: 'statefulsets', kind: 'StatefulSet', namespaced: true },
  { group: 'apps', version: 'v1', resource: 'daemonsets', kind: 'DaemonSet', namespaced: true },
  { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true },
  { group: '', version: 'v1', resource: 'services', kind: 'Service', namespaced: true },
  { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', kind: 'EndpointSlice', namespaced: true },
  { group: '', version: 'v1', resource: 'events', kind: 'Event', namespaced: true },
  { group: 'events.k8s.io', version: 'v1', resource: 'events', kind: 'Event', namespaced: true },
  // Pods only for owner chains (targetRef of an endpoint): watched with a
  // field selector and kept as owner links, never turned into changes.
  { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true }
]
