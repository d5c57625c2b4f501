import type { K8sObject } from '../model.js'
import { NOT_MINE, type Detector } from './detector.js'

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

/** A Job run: opened by its create (or by the first list while it runs), closed by its condition. */
export const jobDetector: Detector = {
  name: 'job',
  // (By kind alone, as before the detectors were modules: custom kinds are routed before this.)
  owns: kind => kind === 'Job',
  baseline (ctx, obs, root) {
    if (jobOutcome(obs.object).state === 'running') ctx.open(obs, root, 'job', 'job', undefined)
  },
  onWrite (ctx, obs, root, _before, existing) {
    if (obs.action === 'status') {
      if (existing === undefined) return undefined
      ctx.evidence(existing, obs, true)
      this.progress?.(ctx, existing)
      return existing.key
    }
    if (obs.action === 'create') {
      if (existing !== undefined) ctx.close(existing, existing.pending ?? 'open')
      const open = ctx.open(obs, root, 'job', 'job', undefined)
      this.progress?.(ctx, open)
      return open.key
    }
    if (existing?.type !== 'job') return NOT_MINE
    ctx.evidence(existing, obs, true)
    this.progress?.(ctx, existing)
    return existing.key
  },
  progress (ctx, open) {
    if (open.type !== 'job' || open.latest === undefined) return
    const st = jobOutcome(open.latest)
    if (st.state === 'running' || open.pending !== null) return
    open.pending = st.state
    if (st.reason !== undefined) open.reason = st.reason
    if (st.message !== undefined) open.message = st.message
    ctx.settleLater(open)
  },
  span (open) {
    const latest = open.latest
    if (open.type !== 'job' || latest === undefined) return undefined
    const st = jobOutcome(latest)
    const jobStart = Date.parse(latest.status?.startTime ?? '')
    if (st.state === 'running' || st.durationMs === undefined || Number.isNaN(jobStart)) return undefined
    return { startedAt: jobStart, endedAt: jobStart + st.durationMs }
  }
}
