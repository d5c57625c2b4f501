import { KubeConfig } from '@kubernetes/client-node'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Logger } from 'pino'
import type { App } from '../app.js'
import type { Action, K8sObject, Observation } from '../model.js'
import type { Pipeline } from '../pipeline.js'
import { ownersOf } from './audit.js'
import { isSensitiveKind } from './kinds.js'
import { redactValues } from './redact.js'
import { podLink } from './pod-link.js'
import { DEFAULT_WATCHED_KINDS, type WatchedKind } from './watch-kinds.js'
import { createResilientInformer, type InformerEvent, type ResilientInformer } from './watch/resilient-informer.js'

// The Watch API as a source: one resilient informer per watched kind (and
// namespace), each event turned into the same Observation the audit source
// makes. The first list is the baseline (state, not changes); a re-list
// after a gap yields only what changed meanwhile.

const ACTIONS: Record<InformerEvent['type'], Action> = { ADDED: 'create', MODIFIED: 'update', DELETED: 'delete' }

/** An informer event as an Observation; Events (core and events.k8s.io) become source 'event'. */
export function watchObservation (e: InformerEvent, kind: WatchedKind, at: number): Observation | undefined {
  let obj = e.object
  const meta = obj.metadata
  if (meta?.name === undefined || meta.uid === undefined) return undefined
  if (kind.kind === 'Event') {
    if (e.type === 'DELETED') return undefined
    return {
      source: 'event',
      at,
      ref: { apiGroup: kind.group, version: kind.version, kind: 'Event', resource: kind.resource, namespace: meta.namespace ?? '', name: meta.name, uid: meta.uid },
      action: 'create',
      object: obj,
      owners: [],
      ...(typeof obj.reason === 'string' ? { reason: obj.reason } : {}),
      ...(typeof (obj.message ?? obj.note) === 'string' ? { message: String(obj.message ?? obj.note) } : {})
    }
  }
  if (isSensitiveKind(kind.kind)) obj = redactValues(obj)
  const obs: Observation = {
    source: 'watch',
    at,
    ref: { apiGroup: kind.group, version: kind.version, kind: kind.kind, resource: kind.resource, namespace: meta.namespace ?? '', name: meta.name, uid: meta.uid },
    action: ACTIONS[e.type],
    object: obj,
    owners: ownersOf(obj)
  }
  if (meta.resourceVersion !== undefined) obs.resourceVersion = meta.resourceVersion
  if (typeof meta.generation === 'number') obs.generation = meta.generation
  if (e.relist && !e.baseline) obs.relist = true
  return obs
}

/**
 * What kubechanges keeps of a watched object: never managedFields (often
 * half the object); of a Pod only what the owner chain needs — pods are
 * watched for owner links alone.
 */
export function slim (kind: WatchedKind): (o: K8sObject) => K8sObject {
  if (kind.kind === 'Pod') return podLink
  const dropManaged = (o: K8sObject): K8sObject => {
    if (o.metadata?.managedFields === undefined) return o
    const { managedFields: _m, ...metadata } = o.metadata
    return { ...o, metadata }
  }
  if (kind.kind === 'ReplicaSet') {
    // A ReplicaSet is a link from pods to their Deployment: its pod spec
    // (most of the object) is never read.
    return o => {
      const r = dropManaged(o)
      const tpl = r.spec?.template
      if (tpl?.spec === undefined) return r
      return { ...r, spec: { ...r.spec, template: { metadata: tpl.metadata } } }
    }
  }
  return dropManaged
}

function collectionPath (k: WatchedKind, namespace?: string): string {
  const base = k.group === '' ? `/api/${k.version}` : `/apis/${k.group}/${k.version}`
  return namespace !== undefined && k.namespaced ? `${base}/namespaces/${namespace}/${k.resource}` : `${base}/${k.resource}`
}

export interface WatchSourceOptions {
  kc: KubeConfig
  pipeline: Pipeline
  log: Logger
  registry: Registry
  now: () => number
  kinds?: readonly WatchedKind[]
  namespaces?: string[]
  labelSelector?: string
  backoff?: { initialMs: number, maxMs: number }
  watchdogMs?: number
  random?: () => number
}

export interface WatchSource {
  informers: Array<{ kind: WatchedKind, path: string, informer: ResilientInformer }>
  start: () => void
  /** Resolves when every informer has listed once. */
  synced: () => Promise<void>
  /** undefined when ready; else why not. */
  readiness: () => string | undefined
  stop: () => Promise<void>
}

export function createWatchSource (opts: WatchSourceOptions): WatchSource {
  const kinds = opts.kinds ?? DEFAULT_WATCHED_KINDS
  const namespaces = opts.namespaces !== undefined && opts.namespaces.length > 0 ? opts.namespaces : [undefined]
  const registers = [opts.registry]
  const restarts = new Counter({ name: 'kubechanges_informer_restarts_total', help: 'Watch restarts, by resource and reason', labelNames: ['resource', 'reason'], registers })
  const events = new Counter({ name: 'kubechanges_informer_events_total', help: 'Watch events received, by resource', labelNames: ['resource'], registers })
  const informers: WatchSource['informers'] = []
  for (const kind of kinds) {
    for (const ns of namespaces) {
      const path = collectionPath(kind, ns)
      const resource = kind.group === '' ? kind.resource : `${kind.resource}.${kind.group}`
      // What the first list held: after a restart, known objects it lacks were deleted meanwhile.
      let listed: string[] | undefined = []
      const informer = createResilientInformer({
        kc: opts.kc,
        path,
        // Labels select workloads; Events, Pods and slices are needed whatever their labels.
        ...(opts.labelSelector !== undefined && opts.labelSelector !== '' && !['Event', 'Pod', 'EndpointSlice', 'ReplicaSet'].includes(kind.kind) ? { labelSelector: opts.labelSelector } : {}),
        log: opts.log,
        transform: slim(kind),
        ...(opts.backoff !== undefined ? { backoff: opts.backoff } : {}),
        ...(opts.watchdogMs !== undefined ? { watchdogMs: opts.watchdogMs } : {}),
        ...(opts.random !== undefined ? { random: opts.random } : {}),
        onRestart: r => {
          restarts.inc({ resource, reason: r.reason })
          opts.log.warn({ resource, reason: r.reason, code: r.code, delayMs: r.delayMs, attempt: r.attempt }, `watch of ${resource} restarting: ${r.message ?? r.reason}`)
        },
        onEvent: e => {
          events.inc({ resource })
          const obs = watchObservation(e, kind, opts.now())
          if (obs === undefined) return
          if (e.baseline && obs.ref.uid !== undefined) listed?.push(obs.ref.uid)
          if (e.baseline) opts.pipeline.baseline(obs)
          else opts.pipeline.ingest(obs)
        },
        onSynced: () => {
          const uids = listed ?? []
          listed = undefined
          // A label-selected list does not show everything: its absences prove nothing.
          const selective = opts.labelSelector !== undefined && opts.labelSelector !== '' && !['Event', 'Pod', 'EndpointSlice', 'ReplicaSet'].includes(kind.kind)
          if (kind.kind !== 'Event' && !selective) opts.pipeline.listed({ kind: kind.kind, apiGroup: kind.group, version: kind.version, resource: kind.resource }, ns, uids, opts.now())
        }
      })
      informers.push({ kind, path, informer })
    }
  }
  new Gauge({
    name: 'kubechanges_informer_synced',
    help: 'Whether each informer has listed once (1) or not (0)',
    labelNames: ['path'],
    registers,
    collect () { for (const i of informers) this.set({ path: i.path }, i.informer.synced ? 1 : 0) }
  })
  new Gauge({
    name: 'kubechanges_informer_last_event_age_seconds',
    help: 'Seconds since each informer last received a list, event or bookmark',
    labelNames: ['path'],
    registers,
    collect () {
      for (const i of informers) {
        const last = i.informer.lastEventAt
        if (last !== null) this.set({ path: i.path }, Math.max(0, (Date.now() - last) / 1000))
      }
    }
  })
  let starting: Promise<unknown> | undefined
  return {
    informers,
    start: () => {
      starting = Promise.all(informers.map(async i => await i.informer.start()))
    },
    synced: async () => { await starting },
    readiness: () => {
      const pending = informers.filter(i => !i.informer.synced).map(i => i.path)
      return pending.length === 0 ? undefined : `informers not synced: ${pending.join(', ')}`
    },
    stop: async () => { await Promise.all(informers.map(async i => await i.informer.stop())) }
  }
}

/** Used by serve: load credentials the usual way (KUBECONFIG, ~/.kube/config, in-cluster). */
export async function startWatch (app: App, creds: string): Promise<WatchSource> {
  const kc = new KubeConfig()
  kc.loadFromDefault()
  const kinds = app.config.watch.kinds.length > 0
    ? DEFAULT_WATCHED_KINDS.filter(k => app.config.watch.kinds.includes(k.kind) || app.config.watch.kinds.includes(k.resource))
    : DEFAULT_WATCHED_KINDS
  const source = createWatchSource({
    kc,
    pipeline: app.pipeline,
    log: app.log,
    registry: app.metrics.registry,
    now: Date.now,
    kinds,
    namespaces: app.config.watch.namespaces,
    ...(app.config.watch.labelSelector !== undefined ? { labelSelector: app.config.watch.labelSelector } : {})
  })
  app.readiness.push(source.readiness)
  app.onClose(async () => { await source.stop() })
  source.start()
  app.log.info({ credentials: creds, server: kc.getCurrentCluster()?.server, informers: source.informers.length }, 'watching the cluster')
  return source
}
