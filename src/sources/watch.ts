import type { ClusterAccess } from './watch/cluster-config.js'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Logger } from 'pino'
import type { App } from '../app.js'
import type { Action, K8sObject, Observation } from '../model.js'
import type { Pipeline } from '../pipeline.js'
import { ownersOf } from './audit.js'
import { isSensitiveKind } from './kinds.js'
import { redactValues } from './redact.js'
import { DEFAULT_WATCHED_KINDS, type WatchedKind } from './watch-kinds.js'
import { discover, DiscoveryError, kubeGet, resourceName, type Missing, type Resolution } from './watch/discovery.js'
import { createResilientInformer, type InformerEvent, type ResilientInformer, type RestartInfo } from './watch/resilient-informer.js'
import { Interner, METADATA_ONLY_KINDS, slimmerFor } from './watch/slim.js'

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

/** What kubechanges keeps of a watched object: see watch/slim.ts. */
export function slim (kind: WatchedKind, pool = new Interner()): (o: K8sObject) => K8sObject {
  return slimmerFor(kind.kind, pool)
}

function collectionPath (k: WatchedKind, namespace?: string): string {
  const base = k.group === '' ? `/api/${k.version}` : `/apis/${k.group}/${k.version}`
  return namespace !== undefined && k.namespaced ? `${base}/namespaces/${namespace}/${k.resource}` : `${base}/${k.resource}`
}

export interface WatchSourceOptions {
  kc: ClusterAccess
  pipeline: Pipeline
  log: Logger
  registry: Registry
  now: () => number
  kinds?: readonly WatchedKind[]
  /** kubectl-style `resource.group` names, resolved through discovery and watched too. */
  extraKinds?: readonly string[]
  namespaces?: string[]
  labelSelector?: string
  backoff?: { initialMs: number, maxMs: number }
  watchdogMs?: number
  random?: () => number
  /** How often a kind left out (not served, forbidden, unknown) is tried again; default 5 min. */
  recheckMs?: number
}

export interface WatchSource {
  /** The informers running now (a kind left out has none until a re-check finds it). */
  informers: Array<{ kind: WatchedKind, path: string, informer: ResilientInformer }>
  start: () => void
  /** Resolves once discovery is done and every informer has listed once or been left out. */
  synced: () => Promise<void>
  /** undefined when ready; else why not. Only served, permitted kinds count. */
  readiness: () => string | undefined
  /** What is left out and why (kinds not served, RBAC gaps, unknown extraKinds): shown by /readyz. */
  notes: () => string[]
  stop: () => Promise<void>
}

/** One watched collection: a kind in a namespace (or all). */
interface Slot {
  kind: WatchedKind
  ns: string | undefined
  path: string
  resource: string
  informer: ResilientInformer | null
  /** Why it is left out (null while it is watched); kept during a re-check so readiness does not flap. */
  note: string | null
  timer: NodeJS.Timeout | null
}

/** A 403 or 404 on a list or watch: the kind is left out rather than retried for ever. */
function refusalNote (slot: Slot, r: RestartInfo): string {
  if (r.code === 404) return `${slot.resource} is not served by the API server (${r.phase} ${slot.path}: 404): not watched`
  const scope = slot.ns !== undefined && slot.kind.namespaced ? `in namespace ${slot.ns}` : 'at cluster scope'
  return `RBAC: cannot ${r.phase} ${slot.resource} ${scope}`
}

export function createWatchSource (opts: WatchSourceOptions): WatchSource {
  const wanted = opts.kinds ?? DEFAULT_WATCHED_KINDS
  const namespaces = opts.namespaces !== undefined && opts.namespaces.length > 0 ? opts.namespaces : [undefined]
  const recheckMs = opts.recheckMs ?? 300_000
  const random = opts.random ?? Math.random
  const get = kubeGet(opts.kc)
  const registers = [opts.registry]
  const restarts = new Counter({ name: 'kubechanges_informer_restarts_total', help: 'Watch restarts, by resource and reason', labelNames: ['resource', 'reason'], registers })
  const events = new Counter({ name: 'kubechanges_informer_events_total', help: 'Watch events received, by resource', labelNames: ['resource'], registers })
  const informers: WatchSource['informers'] = []
  const slots: Slot[] = []
  // One pool for every informer: namespaces, label keys and owner uids repeat across kinds.
  const pool = new Interner()
  /** Left out by discovery: re-resolved every recheckMs. */
  let missing: Missing[] = []
  let discovering: string | null = 'API discovery pending'
  let stopped = false
  let missingTimer: NodeJS.Timeout | null = null
  let wakeDiscovery: (() => void) | null = null

  const every = `re-checked every ${recheckMs % 60_000 === 0 ? `${recheckMs / 60_000} min` : recheckMs % 1000 === 0 ? `${recheckMs / 1000} s` : `${recheckMs} ms`}`
  const later = (ms: number, f: () => void): NodeJS.Timeout => {
    const t = setTimeout(f, ms)
    t.unref()
    return t
  }

  function note (level: 'warn' | 'info', text: string, fields: Record<string, unknown> = {}): void {
    opts.log[level](fields, text)
  }

  function activate (slot: Slot): Promise<void> {
    const { kind, resource } = slot
    // What the first list held: after a restart, known objects it lacks were deleted meanwhile.
    let listed: string[] | undefined = []
    const informer = createResilientInformer({
      kc: opts.kc,
      path: slot.path,
      // Labels select workloads; Events, Pods and slices are needed whatever their labels.
      ...(opts.labelSelector !== undefined && opts.labelSelector !== '' && !['Event', 'Pod', 'EndpointSlice', 'ReplicaSet'].includes(kind.kind) ? { labelSelector: opts.labelSelector } : {}),
      log: opts.log,
      transform: slim(kind, pool),
      // slim() drops them from every kind: list pages skip them unparsed.
      dropMetadata: ['managedFields'],
      // A list page (or a chunk of watch lines) is one transaction and one journal row.
      group: deliver => { opts.pipeline.batch(deliver) },
      metadataOnly: METADATA_ONLY_KINDS.has(kind.kind),
      kind: kind.kind,
      apiVersion: kind.group === '' ? kind.version : `${kind.group}/${kind.version}`,
      ...(opts.backoff !== undefined ? { backoff: opts.backoff } : {}),
      ...(opts.watchdogMs !== undefined ? { watchdogMs: opts.watchdogMs } : {}),
      ...(opts.random !== undefined ? { random: opts.random } : {}),
      onSynced: () => {
        const uids = listed ?? []
        listed = undefined
        // A label-selected list does not show everything: its absences prove nothing.
        const selective = opts.labelSelector !== undefined && opts.labelSelector !== '' && !['Event', 'Pod', 'EndpointSlice', 'ReplicaSet'].includes(kind.kind)
        if (kind.kind !== 'Event' && !selective) opts.pipeline.listed({ kind: kind.kind, apiGroup: kind.group, version: kind.version, resource: kind.resource }, slot.ns, uids, opts.now())
        if (slot.note !== null) note('info', `now watching ${resource}: it was left out (${slot.note})`, { resource })
        slot.note = null
      },
      onRestart: r => {
        restarts.inc({ resource, reason: r.reason })
        if (r.code === 403 || r.code === 404) { refuse(slot, informer, r); return }
        opts.log.warn({ resource, reason: r.reason, code: r.code, delayMs: r.delayMs, attempt: r.attempt }, `watch of ${resource} restarting: ${r.message ?? r.reason}`)
      },
      onEvent: e => {
        events.inc({ resource })
        const obs = watchObservation(e, kind, opts.now())
        if (obs === undefined) return
        if (e.baseline && obs.ref.uid !== undefined) listed?.push(obs.ref.uid)
        if (e.baseline) opts.pipeline.baseline(obs)
        else opts.pipeline.ingest(obs)
      }
    })
    slot.informer = informer
    informers.push({ kind, path: slot.path, informer })
    return informer.start()
  }

  function refuse (slot: Slot, informer: ResilientInformer, r: RestartInfo): void {
    if (slot.informer !== informer) return
    slot.informer = null
    const i = informers.findIndex(x => x.informer === informer)
    if (i >= 0) informers.splice(i, 1)
    void informer.stop()
    const text = refusalNote(slot, r)
    // One warning per state: a re-check that finds the same gap says nothing new.
    if (text !== slot.note) note('warn', `${text}; the rest is watched, ${every}`, { resource: slot.resource, path: slot.path, code: r.code, ...(r.message !== undefined ? { apiserver: r.message } : {}) })
    slot.note = text
    if (!stopped) slot.timer = later(recheckMs, () => { slot.timer = null; if (!stopped) void activate(slot) })
  }

  function addKind (kind: WatchedKind): Array<Promise<void>> {
    const started: Array<Promise<void>> = []
    for (const ns of namespaces) {
      const slot: Slot = { kind, ns, path: collectionPath(kind, ns), resource: resourceName(kind), informer: null, note: null, timer: null }
      slots.push(slot)
      started.push(activate(slot))
    }
    return started
  }

  /** Discovery until it answers: the kinds to watch, and what is left out. */
  async function resolve (defaults: readonly WatchedKind[], names: readonly string[], quiet: boolean): Promise<Resolution | null> {
    for (let attempt = 0; !stopped; attempt++) {
      try {
        return await discover(get, defaults, names)
      } catch (err) {
        const code = err instanceof DiscoveryError ? err.code : undefined
        const message = err instanceof Error ? err.message : String(err)
        if (code === 401 || code === 403) {
          // Discovery is open to every authenticated user by default; without it,
          // watch what was asked for and let the lists tell what is missing.
          note('warn', `API discovery refused (${message}): watching the default kinds without it; extraKinds cannot be resolved`)
          return { served: [...defaults], missing: names.map(name => ({ name, message: `watch.extraKinds: ${name} cannot be resolved: API discovery refused (HTTP ${code})` })) }
        }
        if (quiet) return null
        if (attempt === 0) note('warn', `API discovery failed, retrying: ${message}`)
        discovering = `API discovery pending: ${message}`
        const base = opts.backoff ?? { initialMs: 500, maxMs: 30_000 }
        const delay = Math.floor(random() * Math.min(base.maxMs, base.initialMs * 2 ** Math.min(attempt, 30)))
        await new Promise<void>(resolve => {
          const t = later(delay, () => { wakeDiscovery = null; resolve() })
          wakeDiscovery = () => { clearTimeout(t); wakeDiscovery = null; resolve() }
        })
      }
    }
    return null
  }

  function leaveOut (found: Missing[], before: Missing[]): void {
    for (const m of found) {
      if (!before.some(b => b.name === m.name && b.message === m.message)) note('warn', `${m.message}; the rest is watched, ${every}`, { resource: m.name })
    }
    missing = found
    if (missing.length > 0 && !stopped) missingTimer = later(recheckMs, () => { missingTimer = null; void recheckMissing() })
  }

  async function recheckMissing (): Promise<void> {
    const before = missing
    const r = await resolve(before.flatMap(m => m.kind !== undefined ? [m.kind] : []), before.filter(m => m.kind === undefined).map(m => m.name), true)
    if (stopped) return
    if (r === null) { leaveOut(before, before); return }
    for (const k of r.served) {
      if (slots.some(s => s.kind.group === k.group && s.kind.resource === k.resource)) continue
      note('info', `now watching ${resourceName(k)}: the API server serves it`, { resource: resourceName(k) })
      addKind(k)
    }
    leaveOut(r.missing, before)
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
  new Gauge({
    name: 'kubechanges_watch_left_out',
    help: 'Kinds left out of the watch (not served, forbidden, unknown), re-checked periodically',
    registers,
    collect () { this.set(missing.length + slots.filter(s => s.note !== null).length) }
  })
  let starting: Promise<unknown> | undefined
  return {
    informers,
    start: () => {
      starting = (async () => {
        const r = await resolve(wanted, opts.extraKinds ?? [], false)
        if (r === null || stopped) return
        discovering = null
        leaveOut(r.missing, [])
        await Promise.all(r.served.flatMap(addKind))
      })()
    },
    synced: async () => { await starting },
    readiness: () => {
      if (discovering !== null) return discovering
      const pending = slots.filter(s => s.note === null && s.informer !== null && !s.informer.synced).map(s => s.path)
      return pending.length === 0 ? undefined : `informers not synced: ${pending.join(', ')}`
    },
    notes: () => [...missing.map(m => m.message), ...slots.flatMap(s => s.note !== null ? [s.note] : [])],
    stop: async () => {
      stopped = true
      wakeDiscovery?.()
      if (missingTimer !== null) clearTimeout(missingTimer)
      for (const s of slots) if (s.timer !== null) clearTimeout(s.timer)
      await Promise.all(slots.map(async s => await s.informer?.stop()))
      // A start that failed was reported by synced(); stopping must still succeed.
      await starting?.catch(() => {})
    }
  }
}

/** Used by serve, with the credentials loadKubeConfig() found usable. */
export async function startWatch (app: App, kc: ClusterAccess, creds: string): Promise<WatchSource> {
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
    extraKinds: app.config.watch.extraKinds,
    namespaces: app.config.watch.namespaces,
    ...(app.config.watch.labelSelector !== undefined ? { labelSelector: app.config.watch.labelSelector } : {})
  })
  app.readiness.push(source.readiness)
  app.readinessNotes.push(source.notes)
  app.onClose(async () => { await source.stop() })
  source.start()
  app.log.info({ credentials: creds, server: kc.getCurrentCluster()?.server, kinds: kinds.length, extraKinds: app.config.watch.extraKinds }, 'watching the cluster')
  return source
}
