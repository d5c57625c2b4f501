import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

// One registry per app instance: tests run several apps in one process, and a
// global registry would make their figures bleed into each other.

export interface PipelineMetrics {
  registry: Registry
  received: Counter<'source'>
  dropped: Counter<'reason'>
  opened: Counter<'type'>
  closed: Counter<'type' | 'outcome'>
  evictions: Counter<'reason'>
  netZero: Counter
  windowSize: Gauge
  ingestSeconds: Histogram<'source'>
  rejected: Counter<'route' | 'code'>
}

export function createMetrics (opts: { defaults?: boolean } = {}): PipelineMetrics {
  const registry = new Registry()
  if (opts.defaults ?? true) collectDefaultMetrics({ register: registry, prefix: 'kubechanges_' })
  const registers = [registry]
  return {
    registry,
    received: new Counter({ name: 'kubechanges_events_received_total', help: 'Input events received, by source', labelNames: ['source'], registers }),
    dropped: new Counter({ name: 'kubechanges_events_dropped_total', help: 'Input events that produced no observation, by reason (duplicate, merged, read, failed, dry-run, malformed, stage, noise)', labelNames: ['reason'], registers }),
    opened: new Counter({ name: 'kubechanges_changes_opened_total', help: 'Logical changes opened, by type', labelNames: ['type'], registers }),
    closed: new Counter({ name: 'kubechanges_changes_closed_total', help: 'Logical changes closed, by type and outcome', labelNames: ['type', 'outcome'], registers }),
    evictions: new Counter({ name: 'kubechanges_window_evictions_total', help: 'Open changes pushed out of the correlation window (closed as timed-out), by reason', labelNames: ['reason'], registers }),
    netZero: new Counter({ name: 'kubechanges_changes_net_zero_total', help: 'Changes that cancelled out within their quiet period and were not reported', registers }),
    windowSize: new Gauge({ name: 'kubechanges_window_open_changes', help: 'Open changes in the correlation window', registers }),
    ingestSeconds: new Histogram({ name: 'kubechanges_ingest_duration_seconds', help: 'Time to process one input batch', labelNames: ['source'], buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers }),
    rejected: new Counter({ name: 'kubechanges_http_rejected_total', help: 'HTTP requests rejected, by route and status code', labelNames: ['route', 'code'], registers })
  }
}
