import type { K8sObject } from '../model.js'

// Jobs: one change per run, closed by the Complete or Failed condition.

export type JobOutcome = { state: 'running' } | { state: 'succeeded' | 'failed', reason?: string, message?: string, durationMs?: number }

export function jobOutcome (job: K8sObject): JobOutcome {
  const conds: any[] = Array.isArray(job.status?.conditions) ? job.status.conditions : []
  const done = conds.find(c => (c?.type === 'Complete' || c?.type === 'Failed') && c?.status === 'True')
  if (done === undefined) return { state: 'running' }
  const start = Date.parse(job.status?.startTime ?? '')
  const end = Date.parse(job.status?.completionTime ?? done.lastTransitionTime ?? '')
  const out: JobOutcome = { state: done.type === 'Complete' ? 'succeeded' : 'failed' }
  if (typeof done.reason === 'string') out.reason = done.reason
  if (typeof done.message === 'string') out.message = done.message
  if (!Number.isNaN(start) && !Number.isNaN(end)) out.durationMs = end - start
  return out
}
