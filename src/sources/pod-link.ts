import type { K8sObject } from '../model.js'

/** A Pod as kubechanges keeps it: only a link in an owner chain (identity, labels, owners). */
export function podLink (o: K8sObject): K8sObject {
  const m = o.metadata ?? {}
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      ...(m.labels !== undefined ? { labels: m.labels } : {}),
      ...(m.ownerReferences !== undefined ? { ownerReferences: m.ownerReferences } : {})
    }
  }
}
