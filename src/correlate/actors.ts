import type { Actor } from '../model.js'

/** Controllers, the scheduler, kubelets and the API server itself. */
export function isSystemActor (actor: Actor | undefined): boolean {
  if (actor === undefined) return true
  const u = actor.username
  return u.startsWith('system:serviceaccount:kube-system:') || u.startsWith('system:node:') ||
    u === 'system:kube-controller-manager' || u === 'system:kube-scheduler' || u === 'system:apiserver'
}
