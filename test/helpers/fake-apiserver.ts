// A fake kube-apiserver for tests: a real HTTP server on 127.0.0.1 that speaks
// the list/watch protocol closely enough for @kubernetes/client-node 1.4
// (KubeConfig with `server: http://127.0.0.1:PORT, skipTLSVerify: true`,
// typed list functions, Watch, makeInformer/ListWatch) and for our own
// resilient informer.
//
// What it models (from the API concepts docs and kube-apiserver's behaviour):
// - one global resourceVersion counter (etcd revision), bumped by every write;
// - LIST: `{kind: XList, apiVersion, metadata: {resourceVersion, continue?,
//   remainingItemCount?}, items}` sorted by namespace/name, items without
//   kind/apiVersion (as the real server sends them); `limit`/`continue` give a
//   consistent snapshot (rebuilt from history) and 410 Expired once the
//   snapshot is compacted; `resourceVersion` + `resourceVersionMatch=Exact`;
//   label selectors (=, ==, !=, in, notin, exists, !exists) and field
//   selectors (=, ==, != on any dotted path);
// - WATCH (`watch=true|1`): newline-delimited `{type, object}` over chunked
//   transfer; `resourceVersion=N` replays the bounded history after N; unset
//   or "0" starts with synthetic ADDED events (and, with sendInitialEvents +
//   allowWatchBookmarks, the `k8s.io/initial-events-end` bookmark); N older
//   than the compaction point gives HTTP 200 + an ERROR event with a 410
//   Expired Status and the end of the stream (mode 'event', what real
//   apiservers do) or a plain HTTP 410 with the Status as body (mode 'http');
//   N newer than the current revision gives ERROR 504 ResourceVersionTooLarge;
//   `timeoutSeconds` ends the stream cleanly; BOOKMARKs only with
//   `allowWatchBookmarks=true`; objects moving in/out of a selector are sent
//   as ADDED/DELETED, as the watch cache does.
//
// - DISCOVERY as kube-apiserver serves it (legacy, non-aggregated JSON):
//   `/api` (APIVersions), `/apis` (APIGroupList with preferredVersion),
//   `/apis/G` (APIGroup), `/api/v1` and `/apis/G/V` (APIResourceList with
//   name, singularName, namespaced, kind, verbs, shortNames, and the
//   `status`/`scale` subresources) for the built-in groups and for custom
//   groups added with addResource(); unserve() takes a group version or a
//   resource away (discovery omits it, its lists and watches answer 404
//   NotFound), forbid() answers 403 Forbidden with the authorizer's message.
//   Paths discovery does not list are still served (tests write to any path).
//
// Memory is bounded: the event history is a ring of `historyLimit` entries
// (dropping the oldest advances the compaction point), the request log keeps
// the last 200 requests.

import http from 'node:http'
import { randomUUID } from 'node:crypto'
import type { Socket } from 'node:net'
import type { K8sObject } from '../../src/model.js'

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'

export interface Status {
  kind: 'Status'
  apiVersion: 'v1'
  metadata: { continue?: string }
  status: 'Failure' | 'Success'
  message: string
  reason: string
  code: number
  details?: { causes?: { reason?: string; message?: string; field?: string }[]; retryAfterSeconds?: number; [k: string]: unknown }
}

export interface FakeApiServerOptions {
  /** Events kept for watch resumption and chunked-list snapshots (default 1000). */
  historyLimit?: number
  /** How a watch from a compacted resourceVersion is refused (default 'event'). */
  expiredMode?: 'event' | 'http'
  /** Send a BOOKMARK to every bookmark-enabled stream this often (default: never). */
  bookmarkIntervalMs?: number
  /** resource → Kind, for resources not in the built-in table. */
  kinds?: Record<string, string>
  /** Custom resources (CRDs) served and listed by discovery. */
  resources?: ApiResourceSpec[]
  /** Group versions ('events.k8s.io/v1') or resources ('events.events.k8s.io') not served. */
  unserved?: string[]
  /**
   * Write a stream's watch events of one tick as one chunk, as the apiserver
   * flushes when no further event is queued (default false: one chunk per
   * event, the slowest case for a client; benches use true).
   */
  flushPerTick?: boolean
}

/** One resource as discovery lists it. */
export interface ApiResourceSpec {
  group: string // '' for the core group
  version: string
  resource: string // plural, lower case
  kind: string
  namespaced?: boolean // default true
  verbs?: string[] // default the full set of a CRD
  shortNames?: string[]
  /** This version is the group's preferred one (default: the first version registered). */
  preferred?: boolean
  /** Also list `RESOURCE/status` (default true, as for CRDs with the status subresource). */
  status?: boolean
}

export interface ForbidSpec {
  /** kubectl-style `resource.group` ('events.events.k8s.io', 'pods' for the core group). */
  resource: string
  /** Which verbs are refused (default both). */
  verb?: 'list' | 'watch'
  /** Only in this namespace (default: every scope). */
  namespace?: string
  /** The user named in the message. */
  user?: string
}

export interface RequestRecord {
  verb: 'list' | 'watch' | 'get'
  path: string
  query: Record<string, string>
}

export interface FailSpec {
  /** Which requests fail (default 'any'). */
  verb?: 'list' | 'watch' | 'any'
  /** HTTP status code, e.g. 500, 503, 429, 403. */
  code: number
  /** How many requests fail (default 1; Infinity until clearFailures()). */
  count?: number
  reason?: string
  message?: string
}

export interface ParsedPath {
  prefix: string // /api/v1 or /apis/GROUP/VERSION
  apiVersion: string // v1 or GROUP/VERSION
  namespace?: string
  resource: string
  name?: string
  /** prefix + '/' + resource: the store key. */
  key: string
}

interface HistoryEntry {
  rv: number
  key: string
  type: 'ADDED' | 'MODIFIED' | 'DELETED'
  object: K8sObject
  /** The object before this event (MODIFIED and DELETED). */
  prev?: K8sObject
}

interface Watcher {
  id: number
  parsed: ParsedPath
  labels: LabelRequirement[]
  fields: FieldRequirement[]
  res: http.ServerResponse
  bookmarks: boolean
  stalled: boolean
  timer?: NodeJS.Timeout
  view: View
  corked?: boolean
}

// ---- metadata-only responses (client-go's metadata informers) ----------------
//
// `Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`
// on a list, `as=PartialObjectMetadata` on a get or watch: the apiserver
// answers with the objects' metadata only (managedFields included), typed
// PartialObjectMetadata (the list PartialObjectMetadataList), so the client
// must know the kind from what it asked for. Media ranges are tried in order
// (a plain application/json after it is the fallback); none acceptable → 406.

type View = 'full' | 'metadata'

function responseView (accept: string | undefined, isList: boolean): View | null {
  if (accept === undefined || accept.trim() === '') return 'full'
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';').map(s => s.trim())
    if (type !== 'application/json' && type !== '*/*' && type !== 'application/*') continue
    const p = Object.fromEntries(params.map(kv => kv.split('=').map(s => s.trim())))
    if (p.as === undefined) return 'full'
    if (p.g === 'meta.k8s.io' && p.v === 'v1' && p.as === (isList ? 'PartialObjectMetadataList' : 'PartialObjectMetadata')) return 'metadata'
  }
  return null
}

function asPartialObjectMetadata (o: K8sObject): K8sObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata }
}

const BUILTIN_KINDS: Record<string, string> = {
  deployments: 'Deployment',
  replicasets: 'ReplicaSet',
  statefulsets: 'StatefulSet',
  daemonsets: 'DaemonSet',
  jobs: 'Job',
  cronjobs: 'CronJob',
  services: 'Service',
  endpoints: 'Endpoints',
  endpointslices: 'EndpointSlice',
  events: 'Event',
  pods: 'Pod',
  configmaps: 'ConfigMap',
  secrets: 'Secret',
  namespaces: 'Namespace',
  nodes: 'Node',
  leases: 'Lease',
  serviceaccounts: 'ServiceAccount',
  ingresses: 'Ingress',
  horizontalpodautoscalers: 'HorizontalPodAutoscaler',
  persistentvolumeclaims: 'PersistentVolumeClaim',
  persistentvolumes: 'PersistentVolume'
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']

// What a v1.31 kube-apiserver lists for these groups (subset: the resources tests use).
const BUILTIN_RESOURCES: ApiResourceSpec[] = [
  { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', shortNames: ['cm'], status: false },
  { group: '', version: 'v1', resource: 'endpoints', kind: 'Endpoints', shortNames: ['ep'], status: false },
  { group: '', version: 'v1', resource: 'events', kind: 'Event', shortNames: ['ev'], status: false },
  { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false, shortNames: ['ns'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
  { group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false, shortNames: ['no'] },
  { group: '', version: 'v1', resource: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', shortNames: ['pvc'] },
  { group: '', version: 'v1', resource: 'persistentvolumes', kind: 'PersistentVolume', namespaced: false, shortNames: ['pv'] },
  { group: '', version: 'v1', resource: 'pods', kind: 'Pod', shortNames: ['po'] },
  { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', status: false },
  { group: '', version: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount', shortNames: ['sa'], status: false },
  { group: '', version: 'v1', resource: 'services', kind: 'Service', shortNames: ['svc'], verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] },
  { group: 'apps', version: 'v1', resource: 'daemonsets', kind: 'DaemonSet', shortNames: ['ds'] },
  { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', shortNames: ['deploy'] },
  { group: 'apps', version: 'v1', resource: 'replicasets', kind: 'ReplicaSet', shortNames: ['rs'] },
  { group: 'apps', version: 'v1', resource: 'statefulsets', kind: 'StatefulSet', shortNames: ['sts'] },
  { group: 'events.k8s.io', version: 'v1', resource: 'events', kind: 'Event', shortNames: ['ev'], status: false },
  { group: 'autoscaling', version: 'v2', resource: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler', shortNames: ['hpa'] },
  { group: 'batch', version: 'v1', resource: 'cronjobs', kind: 'CronJob', shortNames: ['cj'] },
  { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job' },
  { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', kind: 'Ingress', shortNames: ['ing'] },
  { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease', status: false },
  { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', kind: 'EndpointSlice', status: false }
]

function groupVersionOf (r: { group: string, version: string }): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`
}

/** An APIResourceList entry and its subresources, as kube-apiserver writes them. */
function discoveryEntries (r: ApiResourceSpec): Record<string, unknown>[] {
  const namespaced = r.namespaced ?? true
  const main: Record<string, unknown> = { name: r.resource, singularName: r.kind.toLowerCase(), namespaced, kind: r.kind, verbs: r.verbs ?? ALL_VERBS }
  if (r.shortNames !== undefined) main.shortNames = r.shortNames
  main.storageVersionHash = Buffer.from(`${groupVersionOf(r)}/${r.kind}`).toString('base64').slice(0, 11)
  const out = [main]
  if (r.status ?? true) out.push({ name: `${r.resource}/status`, singularName: '', namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] })
  if (['deployments', 'replicasets', 'statefulsets'].includes(r.resource) && r.group === 'apps') {
    out.push({ name: `${r.resource}/scale`, singularName: '', namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] })
  }
  return out
}

const PATH_RE = /^(\/api\/v1|\/apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?\/?$/

/** Parses an API path: /api/v1/[namespaces/NS/]RESOURCE[/NAME] or /apis/G/V/[namespaces/NS/]RESOURCE[/NAME]. */
export function parseApiPath (path: string): ParsedPath | null {
  const m = PATH_RE.exec(path)
  if (m === null) return null
  const prefix = m[1]
  const apiVersion = m[2] !== undefined ? `${m[2]}/${m[3]}` : 'v1'
  const parsed: ParsedPath = { prefix, apiVersion, resource: m[5], key: `${prefix}/${m[5]}` }
  if (m[4] !== undefined) parsed.namespace = decodeURIComponent(m[4])
  if (m[6] !== undefined) parsed.name = decodeURIComponent(m[6])
  return parsed
}

// ---- selectors -------------------------------------------------------------

export interface LabelRequirement { key: string; op: 'eq' | 'neq' | 'in' | 'notin' | 'exists' | 'notexists'; values: string[] }
export interface FieldRequirement { path: string; op: 'eq' | 'neq'; value: string }

function splitTopLevel (s: string): string[] {
  const out: string[] = []
  let depth = 0
  let cur = ''
  for (const ch of s) {
    if (ch === '(') depth++
    if (ch === ')') depth--
    if (ch === ',' && depth === 0) { out.push(cur); cur = '' } else cur += ch
  }
  out.push(cur)
  return out.map(x => x.trim()).filter(x => x !== '')
}

export function parseLabelSelector (s: string | undefined): LabelRequirement[] {
  if (s === undefined || s.trim() === '') return []
  return splitTopLevel(s).map(term => {
    let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term)
    if (m !== null) return { key: m[1], op: m[2] as 'in' | 'notin', values: m[3].split(',').map(v => v.trim()).filter(v => v !== '') }
    m = /^!\s*([^=!\s]+)$/.exec(term)
    if (m !== null) return { key: m[1], op: 'notexists', values: [] }
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term)
    if (m !== null) return { key: m[1], op: m[2] === '!=' ? 'neq' : 'eq', values: [m[3]] }
    m = /^([^=!\s()]+)$/.exec(term)
    if (m !== null) return { key: m[1], op: 'exists', values: [] }
    throw new Error(`unable to parse requirement: ${term}`)
  })
}

export function parseFieldSelector (s: string | undefined): FieldRequirement[] {
  if (s === undefined || s.trim() === '') return []
  return splitTopLevel(s).map(term => {
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term)
    if (m === null) throw new Error(`invalid field selector: ${term}`)
    return { path: m[1], op: m[2] === '!=' ? 'neq' : 'eq', value: m[3] }
  })
}

function matchLabels (reqs: LabelRequirement[], obj: K8sObject): boolean {
  const labels = obj.metadata?.labels ?? {}
  return reqs.every(r => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key)
    const v = labels[r.key]
    switch (r.op) {
      case 'eq': return has && v === r.values[0]
      case 'neq': return !has || v !== r.values[0]
      case 'in': return has && r.values.includes(v)
      case 'notin': return !has || !r.values.includes(v)
      case 'exists': return has
      case 'notexists': return !has
    }
    return false
  })
}

function fieldValue (obj: K8sObject, path: string): string {
  let cur: unknown = obj
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return ''
    cur = (cur as Record<string, unknown>)[part]
  }
  return cur === undefined || cur === null ? '' : String(cur)
}

function matchFields (reqs: FieldRequirement[], obj: K8sObject): boolean {
  return reqs.every(r => (fieldValue(obj, r.path) === r.value) === (r.op === 'eq'))
}

// ---- helpers -----------------------------------------------------------------

function clone<T> (v: T): T {
  return structuredClone(v)
}

/** The index of the first key after `start` in sorted `keys` ('' = from the start). */
function firstAfter (keys: string[], start: string): number {
  if (start === '') return 0
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (keys[mid] > start) hi = mid
    else lo = mid + 1
  }
  return lo
}

function objKey (obj: K8sObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`
}

export function statusOf (code: number, reason: string, message: string, extra?: Partial<Status>): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...extra }
}

function encodeContinue (rv: number, after: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: after })).toString('base64')
}

function decodeContinue (token: string): { rv: number; start: string } | null {
  try {
    const d = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { rv?: unknown; start?: unknown }
    if (typeof d.rv !== 'number' || typeof d.start !== 'string') return null
    return { rv: d.rv, start: d.start }
  } catch {
    return null
  }
}

// ---- the server ----------------------------------------------------------------

export class FakeApiServer {
  /** Current global resourceVersion (the last write's revision). */
  rv = 1000
  /** Watches from a resourceVersion at or below this are refused with 410. */
  compactedRV = 1000
  expiredMode: 'event' | 'http'
  /** Test hook, called for every API request before it is answered (it may write, compact, ...). */
  onRequest: ((r: RequestRecord) => void) | null = null

  private readonly historyLimit: number
  private readonly bookmarkIntervalMs: number
  private readonly kinds: Record<string, string>
  private readonly resources: ApiResourceSpec[] = [...BUILTIN_RESOURCES]
  private readonly unserved = new Set<string>()
  private forbidden: ForbidSpec[] = []
  /** Discovery requests answered (they are not in counts() or requests()). */
  discoveryRequests = 0
  private readonly store = new Map<string, Map<string, K8sObject>>()
  /**
   * Stored objects are never mutated (every write stores a new one), so what
   * a list sends of each is serialised once: lists of a large cluster are
   * then served at the speed of string joins, and a bench measures its client.
   */
  private readonly listText = new WeakMap<K8sObject, string>()
  private readonly metadataText = new WeakMap<K8sObject, string>()
  /** The sorted keys of each collection (list order), dropped when a key comes or goes. */
  private readonly sortedKeys = new Map<string, string[]>()
  private readonly flushPerTick: boolean
  private history: HistoryEntry[] = []
  private readonly watchers = new Set<Watcher>()
  private readonly sockets = new Set<Socket>()
  private readonly hung = new Set<http.ServerResponse>()
  private readonly counters = new Map<string, { list: number; watch: number; get: number }>()
  private readonly log: RequestRecord[] = []
  private failures: Required<Omit<FailSpec, 'reason' | 'message'>> & Pick<FailSpec, 'reason' | 'message'> | null = null
  private hangNew = false
  private nextWatcherId = 1
  private server: http.Server
  private bookmarkTimer?: NodeJS.Timeout
  private listening = false
  private closed = false
  port = 0

  private constructor (opts: FakeApiServerOptions) {
    this.historyLimit = Math.max(1, opts.historyLimit ?? 1000)
    this.expiredMode = opts.expiredMode ?? 'event'
    this.bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 0
    this.flushPerTick = opts.flushPerTick === true
    this.kinds = { ...BUILTIN_KINDS, ...opts.kinds }
    for (const r of opts.resources ?? []) this.addResource(r)
    for (const u of opts.unserved ?? []) this.unserve(u)
    this.server = this.makeServer()
  }

  /** Creates and starts a server on 127.0.0.1, on a free port. */
  static async create (opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const s = new FakeApiServer(opts)
    await s.start()
    return s
  }

  get url (): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** The options for `kc.loadFromOptions(...)`. */
  kubeConfigOptions (): { clusters: { name: string; server: string; skipTLSVerify: boolean }[]; users: { name: string }[]; contexts: { name: string; cluster: string; user: string }[]; currentContext: string } {
    return {
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
      currentContext: 'c'
    }
  }

  // ---- lifecycle -------------------------------------------------------------

  /** Starts listening (again, on the same port after stop()). */
  async start (): Promise<void> {
    if (this.closed) throw new Error('fake apiserver closed')
    if (this.listening) return
    if (!this.server.listening && this.port !== 0) this.server = this.makeServer()
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => { reject(err) }
      this.server.once('error', onError)
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', onError)
        resolve()
      })
    })
    const addr = this.server.address()
    if (addr !== null && typeof addr === 'object') this.port = addr.port
    this.listening = true
    if (this.bookmarkIntervalMs > 0) {
      this.bookmarkTimer = setInterval(() => { this.sendBookmark() }, this.bookmarkIntervalMs)
      this.bookmarkTimer.unref()
    }
  }

  /** The API server goes away: stops listening (connection refused) and kills every connection. State is kept. */
  async stop (): Promise<void> {
    if (!this.listening) return
    this.listening = false
    if (this.bookmarkTimer !== undefined) clearInterval(this.bookmarkTimer)
    this.bookmarkTimer = undefined
    const closed = new Promise<void>(resolve => { this.server.close(() => { resolve() }) })
    this.destroyAll()
    await closed
  }

  /** Stops for good. */
  async close (): Promise<void> {
    await this.stop()
    this.closed = true
    this.store.clear()
    this.sortedKeys.clear()
    this.history = []
  }

  // ---- controls ----------------------------------------------------------------

  /** Destroys every socket abruptly (open watches see a reset / premature close). Keeps listening. */
  dropConnections (): void {
    this.destroyAll()
  }

  /** Ends every open, non-stalled watch stream cleanly (as timeoutSeconds would). */
  endWatches (): void {
    for (const w of this.watchers) {
      if (!w.stalled) this.endWatcher(w)
    }
  }

  /** Forgets the whole history: any watch from a resourceVersion below the current one gets 410. */
  compact (): void {
    this.history = []
    this.compactedRV = this.rv
  }

  /**
   * Sends an ERROR event carrying `status` to every open (non-stalled) stream;
   * by default the stream then ends, as kube-apiserver does.
   */
  sendError (status: Partial<Status> & { code: number }, opts: { close?: boolean } = {}): void {
    const st = statusOf(status.code, status.reason ?? 'InternalError', status.message ?? `injected error ${status.code}`, status)
    for (const w of this.watchers) {
      if (w.stalled) continue
      this.writeEvent(w, 'ERROR', st)
      if (opts.close !== false) this.endWatcher(w)
    }
  }

  /** Writes raw text to every open, non-stalled stream (malformed lines, partial events...). */
  sendRaw (text: string): void {
    for (const w of this.watchers) {
      if (!w.stalled && !w.res.destroyed && !w.res.writableEnded) w.res.write(text)
    }
  }

  /** Sends a BOOKMARK at the current resourceVersion to every bookmark-enabled, non-stalled stream. */
  sendBookmark (): void {
    for (const w of this.watchers) {
      if (w.bookmarks && !w.stalled) this.writeEvent(w, 'BOOKMARK', this.bookmarkObject(w.parsed))
    }
  }

  /**
   * Open streams stay open but receive nothing more (a half-dead connection).
   * With `newRequests: true`, later list/watch requests are also left hanging
   * without response headers until unstall().
   */
  stall (opts: { newRequests?: boolean } = {}): void {
    for (const w of this.watchers) w.stalled = true
    if (opts.newRequests === true) this.hangNew = true
  }

  /** New requests are answered again (hung and stalled ones stay dead until the client gives up). */
  unstall (): void {
    this.hangNew = false
  }

  /** The next `count` matching requests are answered with HTTP `code` and a Status body. */
  failRequests (spec: FailSpec): void {
    this.failures = { verb: spec.verb ?? 'any', code: spec.code, count: spec.count ?? 1, reason: spec.reason, message: spec.message }
  }

  clearFailures (): void {
    this.failures = null
  }

  /** Serves a resource (a CRD being installed): discovery lists it from now on. */
  addResource (spec: ApiResourceSpec): void {
    const i = this.resources.findIndex(r => r.group === spec.group && r.version === spec.version && r.resource === spec.resource)
    if (i >= 0) this.resources.splice(i, 1)
    if (spec.preferred === true) this.resources.unshift(spec)
    else this.resources.push(spec)
    this.kinds[spec.resource] ??= spec.kind
    this.unserved.delete(groupVersionOf(spec))
    this.unserved.delete(spec.group === '' ? spec.resource : `${spec.resource}.${spec.group}`)
  }

  /** Stops serving a group version ('events.k8s.io/v1', 'v1') or a resource ('events.events.k8s.io'). */
  unserve (groupVersionOrResource: string): void {
    this.unserved.add(groupVersionOrResource)
  }

  /** Serves again what unserve() took away. */
  serve (groupVersionOrResource: string): void {
    this.unserved.delete(groupVersionOrResource)
  }

  /** Lists and/or watches of a resource answer 403 Forbidden until allow(). */
  forbid (spec: ForbidSpec): void {
    this.forbidden.push(spec)
  }

  allow (): void {
    this.forbidden = []
  }

  /** Requests received for an exact request path (e.g. '/apis/apps/v1/deployments'), or in total. */
  counts (path?: string): { list: number; watch: number; get: number } {
    if (path !== undefined) return { ...(this.counters.get(path) ?? { list: 0, watch: 0, get: 0 }) }
    const total = { list: 0, watch: 0, get: 0 }
    for (const c of this.counters.values()) { total.list += c.list; total.watch += c.watch; total.get += c.get }
    return total
  }

  /** Requests received for a resource over every path (all namespaces, each namespace, single objects). */
  resourceCounts (resourcePath: string): { list: number; watch: number; get: number } {
    const key = this.collection(resourcePath).key
    const total = { list: 0, watch: 0, get: 0 }
    for (const [path, c] of this.counters) {
      if (parseApiPath(path)?.key !== key) continue
      total.list += c.list; total.watch += c.watch; total.get += c.get
    }
    return total
  }

  /** The last 200 requests, oldest first. */
  requests (): RequestRecord[] {
    return this.log.map(r => ({ ...r, query: { ...r.query } }))
  }

  /** Number of open watch streams (optionally for one request path). */
  openWatches (path?: string): number {
    let n = 0
    for (const w of this.watchers) {
      if (path === undefined || this.requestPath(w.parsed) === path) n++
    }
    return n
  }

  // ---- writes ------------------------------------------------------------------

  /**
   * Creates an object. `resourcePath` is a collection path: '/apis/apps/v1/namespaces/shop/deployments'
   * (namespace from the path) or '/apis/apps/v1/deployments' (namespace from the object, '' = cluster-scoped).
   */
  create (resourcePath: string, obj: K8sObject): K8sObject {
    const p = this.collection(resourcePath)
    const o = clone(obj)
    o.metadata = { ...o.metadata }
    if (p.namespace !== undefined) o.metadata.namespace = p.namespace
    if (o.metadata.name === undefined || o.metadata.name === '') throw new Error('create: metadata.name is required')
    if (o.metadata.namespace === '') delete o.metadata.namespace
    const objects = this.objects(p.key)
    const k = objKey(o)
    if (objects.has(k)) throw new Error(`create: ${p.resource} ${k} already exists`)
    o.apiVersion = p.apiVersion
    o.kind = this.kindOf(p.resource)
    o.metadata.uid = randomUUID()
    o.metadata.resourceVersion = String(++this.rv)
    o.metadata.generation = 1
    o.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
    objects.set(k, o)
    this.sortedKeys.delete(p.key)
    this.record({ rv: this.rv, key: p.key, type: 'ADDED', object: o })
    return clone(o)
  }

  /**
   * Replaces an existing object (matched by namespace/name). uid and creationTimestamp are kept,
   * generation is bumped when spec changes, a no-op update changes nothing (as the real server).
   */
  update (resourcePath: string, obj: K8sObject): K8sObject {
    const p = this.collection(resourcePath)
    const o = clone(obj)
    o.metadata = { ...o.metadata }
    if (p.namespace !== undefined) o.metadata.namespace = p.namespace
    if (o.metadata.namespace === '') delete o.metadata.namespace
    const objects = this.objects(p.key)
    const k = objKey(o)
    const prev = objects.get(k)
    if (prev === undefined) throw new Error(`update: ${p.resource} ${k} not found`)
    o.apiVersion = p.apiVersion
    o.kind = prev.kind
    o.metadata.uid = prev.metadata?.uid
    o.metadata.creationTimestamp = prev.metadata?.creationTimestamp
    o.metadata.generation = prev.metadata?.generation ?? 1
    o.metadata.resourceVersion = prev.metadata?.resourceVersion
    if (JSON.stringify(o) === JSON.stringify(prev)) return clone(prev)
    if (JSON.stringify(o.spec) !== JSON.stringify(prev.spec)) o.metadata.generation = (prev.metadata?.generation ?? 1) + 1
    o.metadata.resourceVersion = String(++this.rv)
    objects.set(k, o)
    this.record({ rv: this.rv, key: p.key, type: 'MODIFIED', object: o, prev })
    return clone(o)
  }

  /** Applies `mutate` to a copy of the stored object and stores it with update(). */
  patch (resourcePath: string, name: string, mutate: (o: K8sObject) => void, namespace?: string): K8sObject {
    const cur = this.get(resourcePath, name, namespace)
    if (cur === undefined) throw new Error(`patch: ${name} not found`)
    mutate(cur)
    return this.update(resourcePath, cur)
  }

  /** Deletes an object (by name, or by the object's namespace/name); the DELETED event carries the deletion revision. */
  delete (resourcePath: string, objOrName: K8sObject | string, namespace?: string): K8sObject {
    const p = this.collection(resourcePath)
    const name = typeof objOrName === 'string' ? objOrName : objOrName.metadata?.name
    const ns = p.namespace ?? namespace ?? (typeof objOrName === 'string' ? undefined : objOrName.metadata?.namespace) ?? ''
    const objects = this.objects(p.key)
    const k = `${ns}/${name ?? ''}`
    const prev = objects.get(k)
    if (prev === undefined) throw new Error(`delete: ${p.resource} ${k} not found`)
    objects.delete(k)
    this.sortedKeys.delete(p.key)
    const o = clone(prev)
    o.metadata = { ...o.metadata, resourceVersion: String(++this.rv) }
    this.record({ rv: this.rv, key: p.key, type: 'DELETED', object: o, prev })
    return clone(o)
  }

  /**
   * Stores a write made elsewhere (the audit simulator in test/helpers/cluster.ts)
   * exactly as it was made — same uid, same resourceVersion — so the watch and
   * the audit stream describe the same writes.
   */
  mirror (resourcePath: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: K8sObject): void {
    const p = this.collection(resourcePath)
    const o = clone(obj)
    const objects = this.objects(p.key)
    const k = objKey(o)
    const prev = objects.get(k)
    const rv = Number(o.metadata?.resourceVersion)
    if (!Number.isInteger(rv)) throw new Error('mirror: the object needs a numeric resourceVersion')
    if (rv > this.rv) this.rv = rv
    if (type === 'DELETED') objects.delete(k)
    else objects.set(k, o)
    if (prev === undefined || type === 'DELETED') this.sortedKeys.delete(p.key)
    this.record({ rv, key: p.key, type, object: o, ...(prev !== undefined ? { prev } : {}) })
  }

  get (resourcePath: string, name: string, namespace?: string): K8sObject | undefined {
    const p = this.collection(resourcePath)
    const o = this.store.get(p.key)?.get(`${p.namespace ?? namespace ?? ''}/${name}`)
    return o === undefined ? undefined : clone(o)
  }

  /** Current objects of a collection path (all namespaces or one). */
  list (resourcePath: string): K8sObject[] {
    const p = this.collection(resourcePath)
    return [...(this.store.get(p.key)?.values() ?? [])]
      .filter(o => p.namespace === undefined || (o.metadata?.namespace ?? '') === p.namespace)
      .map(clone)
  }

  // ---- internals: state ------------------------------------------------------------

  private collection (resourcePath: string): ParsedPath {
    const p = parseApiPath(resourcePath)
    if (p === null || p.name !== undefined) throw new Error(`not a collection path: ${resourcePath}`)
    return p
  }

  private objects (key: string): Map<string, K8sObject> {
    let m = this.store.get(key)
    if (m === undefined) { m = new Map(); this.store.set(key, m) }
    return m
  }

  private kindOf (resource: string): string {
    const k = this.kinds[resource]
    if (k !== undefined) return k
    const singular = resource.endsWith('ies') ? resource.slice(0, -3) + 'y' : resource.endsWith('s') ? resource.slice(0, -1) : resource
    return singular.charAt(0).toUpperCase() + singular.slice(1)
  }

  private record (e: HistoryEntry): void {
    this.history.push(e)
    while (this.history.length > this.historyLimit) {
      const dropped = this.history.shift()
      if (dropped !== undefined) this.compactedRV = dropped.rv
    }
    for (const w of this.watchers) {
      if (w.stalled || w.parsed.key !== e.key) continue
      const ev = this.eventFor(w, e)
      if (ev !== null) this.writeEvent(w, ev.type, ev.object)
    }
  }

  /** The collection `key` as it was at revision `rv` (rv >= compactedRV), rebuilt from history. */
  private stateAt (key: string, rv: number): Map<string, K8sObject> {
    const state = new Map(this.store.get(key) ?? [])
    for (let i = this.history.length - 1; i >= 0 && this.history[i].rv > rv; i--) {
      const e = this.history[i]
      if (e.key !== key) continue
      if (e.type === 'ADDED') state.delete(objKey(e.object))
      else if (e.prev !== undefined) state.set(objKey(e.prev), e.prev)
    }
    return state
  }

  private matches (w: Pick<Watcher, 'parsed' | 'labels' | 'fields'>, o: K8sObject | undefined): boolean {
    if (o === undefined) return false
    if (w.parsed.namespace !== undefined && (o.metadata?.namespace ?? '') !== w.parsed.namespace) return false
    if (w.parsed.name !== undefined && o.metadata?.name !== w.parsed.name) return false
    return matchLabels(w.labels, o) && matchFields(w.fields, o)
  }

  /** What a watcher sees of a history entry (the watch cache's selector semantics). */
  private eventFor (w: Watcher, e: HistoryEntry): { type: WatchEventType; object: K8sObject } | null {
    const cur = this.matches(w, e.object)
    if (e.type === 'ADDED') return cur ? { type: 'ADDED', object: e.object } : null
    const old = this.matches(w, e.prev)
    if (e.type === 'DELETED') return old ? { type: 'DELETED', object: e.object } : null
    if (old && cur) return { type: 'MODIFIED', object: e.object }
    if (cur) return { type: 'ADDED', object: e.object }
    if (old) return { type: 'DELETED', object: e.object }
    return null
  }

  private bookmarkObject (p: ParsedPath, annotations?: Record<string, string>): K8sObject {
    const metadata: NonNullable<K8sObject['metadata']> = { resourceVersion: String(this.rv) }
    if (annotations !== undefined) metadata.annotations = annotations
    return { kind: this.kindOf(p.resource), apiVersion: p.apiVersion, metadata }
  }

  private requestPath (p: ParsedPath): string {
    return `${p.prefix}${p.namespace !== undefined ? `/namespaces/${p.namespace}` : ''}/${p.resource}`
  }

  // ---- internals: discovery ---------------------------------------------------------------

  private isServed (r: { group: string, version: string, resource: string }): boolean {
    return !this.unserved.has(groupVersionOf(r)) && !this.unserved.has(r.group === '' ? r.resource : `${r.resource}.${r.group}`)
  }

  private servedResources (): ApiResourceSpec[] {
    return this.resources.filter(r => this.isServed(r))
  }

  /** The groups as /apis lists them: versions in registration order, the preferred one first. */
  private apiGroups (): Array<{ name: string, versions: Array<{ groupVersion: string, version: string }>, preferredVersion: { groupVersion: string, version: string } }> {
    const groups = new Map<string, string[]>()
    for (const r of this.servedResources()) {
      if (r.group === '') continue
      const vs = groups.get(r.group) ?? []
      if (!vs.includes(r.version)) vs.push(r.version)
      groups.set(r.group, vs)
    }
    return [...groups].map(([name, versions]) => {
      const gvs = versions.map(version => ({ groupVersion: `${name}/${version}`, version }))
      return { name, versions: gvs, preferredVersion: gvs[0] }
    })
  }

  /** Answers a discovery path; false when the path is not one. */
  private handleDiscovery (res: http.ServerResponse, path: string): boolean {
    const p = path.replace(/\/+$/, '')
    let m: RegExpExecArray | null
    if (p === '/api') {
      this.sendJson(res, { kind: 'APIVersions', versions: this.servedResources().some(r => r.group === '') ? ['v1'] : [], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${this.port}` }] })
    } else if (p === '/apis') {
      this.sendJson(res, { kind: 'APIGroupList', apiVersion: 'v1', groups: this.apiGroups() })
    } else if ((m = /^\/apis\/([^/]+)$/.exec(p)) !== null) {
      const g = this.apiGroups().find(x => x.name === m?.[1])
      if (g === undefined) this.sendStatus(res, statusOf(404, 'NotFound', 'the server could not find the requested resource', { details: {} }))
      else this.sendJson(res, { kind: 'APIGroup', apiVersion: 'v1', ...g })
    } else if ((m = /^\/api\/(v1)$|^\/apis\/([^/]+)\/([^/]+)$/.exec(p)) !== null) {
      const group = m[2] ?? ''
      const version = m[1] ?? m[3]
      const rs = this.servedResources().filter(r => r.group === group && r.version === version)
      if (rs.length === 0) this.sendStatus(res, statusOf(404, 'NotFound', 'the server could not find the requested resource', { details: {} }))
      else this.sendJson(res, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersionOf({ group, version }), resources: rs.flatMap(discoveryEntries) })
    } else {
      return false
    }
    this.discoveryRequests++
    return true
  }

  /** 404 for what is not served, 403 for what is forbidden: the bodies kube-apiserver sends. */
  private refusal (p: ParsedPath, verb: 'list' | 'watch' | 'get'): Status | null {
    const [group, version] = p.apiVersion.includes('/') ? p.apiVersion.split('/') : ['', p.apiVersion]
    if (!this.isServed({ group, version, resource: p.resource })) return statusOf(404, 'NotFound', 'the server could not find the requested resource', { details: {} })
    const name = group === '' ? p.resource : `${p.resource}.${group}`
    const f = this.forbidden.find(x => x.resource === name && (x.verb === undefined || x.verb === verb) && (x.namespace === undefined || x.namespace === p.namespace))
    if (f === undefined) return null
    const user = f.user ?? 'system:serviceaccount:kubechanges:kubechanges'
    const scope = p.namespace !== undefined ? `in the namespace "${p.namespace}"` : 'at the cluster scope'
    return statusOf(403, 'Forbidden', `${name} is forbidden: User "${user}" cannot ${verb} resource "${p.resource}" in API group "${group}" ${scope}`, { details: { group, kind: p.resource } })
  }

  // ---- internals: HTTP -----------------------------------------------------------------

  private makeServer (): http.Server {
    const server = http.createServer((req, res) => { this.handle(req, res) })
    server.on('connection', (s: Socket) => {
      this.sockets.add(s)
      s.on('close', () => { this.sockets.delete(s) })
    })
    // Keep-alive sockets must not hold stop() for 5 s.
    server.keepAliveTimeout = 1000
    return server
  }

  private destroyAll (): void {
    for (const w of this.watchers) this.forgetWatcher(w)
    for (const r of this.hung) r.destroy()
    this.hung.clear()
    for (const s of this.sockets) s.destroy()
    this.sockets.clear()
  }

  private forgetWatcher (w: Watcher): void {
    if (w.timer !== undefined) clearTimeout(w.timer)
    this.watchers.delete(w)
  }

  private endWatcher (w: Watcher): void {
    this.forgetWatcher(w)
    w.res.end()
  }

  private writeEvent (w: Watcher, type: WatchEventType, object: K8sObject | Status): void {
    if (w.res.destroyed || w.res.writableEnded) return
    // Objects (not Status, not bookmarks: their kind is the resource's) are converted for a metadata-only watch.
    const o = w.view === 'metadata' && (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') ? asPartialObjectMetadata(object as K8sObject) : object
    if (this.flushPerTick && w.corked !== true) {
      w.corked = true
      w.res.cork()
      process.nextTick(() => { w.corked = false; w.res.uncork() })
    }
    w.res.write(JSON.stringify({ type, object: o }) + '\n')
  }

  private count (path: string, verb: 'list' | 'watch' | 'get', query: Record<string, string>): void {
    let c = this.counters.get(path)
    if (c === undefined) { c = { list: 0, watch: 0, get: 0 }; this.counters.set(path, c) }
    c[verb]++
    this.log.push({ verb, path, query })
    if (this.log.length > 200) this.log.shift()
  }

  private sendStatus (res: http.ServerResponse, st: Status): void {
    const body = JSON.stringify(st)
    res.writeHead(st.code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
    res.end(body)
  }

  private sendJson (res: http.ServerResponse, body: unknown): void {
    const s = JSON.stringify(body)
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(s) })
    res.end(s)
  }

  private handle (req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const query = Object.fromEntries(url.searchParams.entries())
    const parsed = parseApiPath(url.pathname)
    if (req.method !== 'GET') {
      this.sendStatus(res, statusOf(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${req.method ?? ''})`))
      return
    }
    if (parsed === null && this.handleDiscovery(res, url.pathname)) return
    if (parsed === null) {
      this.sendStatus(res, statusOf(404, 'NotFound', 'the server could not find the requested resource'))
      return
    }
    const isWatch = query.watch === 'true' || query.watch === '1'
    const verb = isWatch ? 'watch' : parsed.name !== undefined ? 'get' : 'list'
    this.count(url.pathname, verb, query)
    this.onRequest?.({ verb, path: url.pathname, query: { ...query } })

    if (this.hangNew) {
      this.hung.add(res)
      res.on('close', () => { this.hung.delete(res) })
      return
    }
    const f = this.failures
    if (f !== null && (f.verb === 'any' || f.verb === verb)) {
      if (--f.count <= 0) this.failures = null
      this.sendStatus(res, statusOf(f.code, f.reason ?? (f.code === 429 ? 'TooManyRequests' : f.code === 503 ? 'ServiceUnavailable' : 'InternalError'), f.message ?? `injected failure ${f.code}`))
      return
    }

    const refused = this.refusal(parsed, verb)
    if (refused !== null) {
      this.sendStatus(res, refused)
      return
    }
    let labels: LabelRequirement[]
    let fields: FieldRequirement[]
    try {
      labels = parseLabelSelector(query.labelSelector)
      fields = parseFieldSelector(query.fieldSelector)
    } catch (err) {
      this.sendStatus(res, statusOf(400, 'BadRequest', (err as Error).message))
      return
    }
    const view = responseView(req.headers.accept, verb === 'list')
    if (view === null) {
      this.sendStatus(res, statusOf(406, 'NotAcceptable', 'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf'))
      return
    }
    if (verb === 'watch') this.handleWatch(res, parsed, query, labels, fields, view)
    else if (verb === 'get') this.handleGet(res, parsed, view)
    else this.handleList(res, parsed, query, labels, fields, view)
  }

  private handleGet (res: http.ServerResponse, p: ParsedPath, view: View = 'full'): void {
    const o = this.store.get(p.key)?.get(`${p.namespace ?? ''}/${p.name ?? ''}`)
    if (o === undefined) {
      this.sendStatus(res, statusOf(404, 'NotFound', `${p.resource} "${p.name ?? ''}" not found`, { details: { name: p.name, kind: p.resource } }))
      return
    }
    this.sendJson(res, view === 'metadata' ? asPartialObjectMetadata(o) : o)
  }

  private handleList (res: http.ServerResponse, p: ParsedPath, query: Record<string, string>, labels: LabelRequirement[], fields: FieldRequirement[], view: View = 'full'): void {
    let rv = this.rv
    let start = ''
    if (query.continue !== undefined && query.continue !== '') {
      const c = decodeContinue(query.continue)
      if (c === null) {
        this.sendStatus(res, statusOf(400, 'BadRequest', 'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)'))
        return
      }
      if (c.rv < this.compactedRV) {
        this.sendStatus(res, statusOf(410, 'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
          { metadata: { continue: encodeContinue(this.rv, c.start) } }))
        return
      }
      rv = c.rv
      start = c.start
    } else if (query.resourceVersion !== undefined && query.resourceVersionMatch === 'Exact') {
      const want = Number(query.resourceVersion)
      if (!Number.isInteger(want)) {
        this.sendStatus(res, statusOf(400, 'BadRequest', `invalid resource version: ${query.resourceVersion}`))
        return
      }
      if (want < this.compactedRV) {
        this.sendStatus(res, statusOf(410, 'Expired', `too old resource version: ${want} (${this.compactedRV + 1})`))
        return
      }
      rv = Math.min(want, this.rv)
    }
    const current = rv === this.rv
    const state = current ? (this.store.get(p.key) ?? new Map<string, K8sObject>()) : this.stateAt(p.key, rv)
    const all = current ? this.sortedKeysOf(p.key, state) : [...state.keys()].sort()
    const keys = all.slice(firstAfter(all, start))
    const w = { parsed: p, labels, fields }
    const limit = query.limit !== undefined ? Number(query.limit) : 0
    const items: string[] = []
    let cont: string | undefined
    let remaining = 0
    for (let i = 0; i < keys.length; i++) {
      const o = state.get(keys[i]) as K8sObject
      if (!this.matches(w, o)) continue
      if (limit > 0 && items.length >= limit) {
        cont = encodeContinue(rv, keys[i - 1])
        remaining = keys.slice(i).filter(k => this.matches(w, state.get(k))).length
        break
      }
      items.push(this.itemText(o, view))
    }
    const metadata: Record<string, unknown> = { resourceVersion: String(rv) }
    if (cont !== undefined) {
      metadata.continue = cont
      if (labels.length === 0 && fields.length === 0) metadata.remainingItemCount = remaining
    }
    // The same bytes as JSON.stringify({kind, apiVersion, metadata, items}), from the items' cached text.
    const [kind, apiVersion] = view === 'metadata' ? ['PartialObjectMetadataList', 'meta.k8s.io/v1'] : [`${this.kindOf(p.resource)}List`, p.apiVersion]
    const body = `{"kind":${JSON.stringify(kind)},"apiVersion":${JSON.stringify(apiVersion)},"metadata":${JSON.stringify(metadata)},"items":[${items.join(',')}]}`
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
    res.end(body)
  }

  private sortedKeysOf (key: string, state: Map<string, K8sObject>): string[] {
    let keys = this.sortedKeys.get(key)
    if (keys === undefined || keys.length !== state.size) {
      keys = [...state.keys()].sort()
      this.sortedKeys.set(key, keys)
    }
    return keys
  }

  /** A list item's JSON: metadata only, or the object without kind/apiVersion (as the real server sends list items). */
  private itemText (o: K8sObject, view: View): string {
    const cache = view === 'metadata' ? this.metadataText : this.listText
    let text = cache.get(o)
    if (text === undefined) {
      if (view === 'metadata') {
        text = JSON.stringify(asPartialObjectMetadata(o))
      } else {
        const { kind: _k, apiVersion: _a, ...rest } = o
        text = JSON.stringify(rest)
      }
      cache.set(o, text)
    }
    return text
  }

  private handleWatch (res: http.ServerResponse, p: ParsedPath, query: Record<string, string>, labels: LabelRequirement[], fields: FieldRequirement[], view: View = 'full'): void {
    const rvParam = query.resourceVersion ?? ''
    const from = rvParam === '' || rvParam === '0' ? null : Number(rvParam)
    if (from !== null && !Number.isInteger(from)) {
      this.sendStatus(res, statusOf(400, 'BadRequest', `invalid resource version: ${rvParam}`))
      return
    }
    const expired = from !== null && from < this.compactedRV
    if (expired && this.expiredMode === 'http') {
      this.sendStatus(res, statusOf(410, 'Expired', `too old resource version: ${from} (${this.compactedRV + 1})`))
      return
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' })
    res.flushHeaders()
    const w: Watcher = {
      id: this.nextWatcherId++,
      parsed: p,
      labels,
      fields,
      res,
      bookmarks: query.allowWatchBookmarks === 'true' || query.allowWatchBookmarks === '1',
      stalled: false,
      view
    }
    if (expired) {
      this.writeEvent(w, 'ERROR', statusOf(410, 'Expired', `too old resource version: ${from} (${this.compactedRV + 1})`))
      res.end()
      return
    }
    if (from !== null && from > this.rv) {
      this.writeEvent(w, 'ERROR', statusOf(504, 'Timeout', `Too large resource version: ${from}, current: ${this.rv}`,
        { details: { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 } }))
      res.end()
      return
    }
    if (from === null) {
      // "Get State and Start at Most Recent": synthetic ADDED events first.
      const state = this.store.get(p.key) ?? new Map<string, K8sObject>()
      for (const k of [...state.keys()].sort()) {
        const o = state.get(k) as K8sObject
        if (this.matches(w, o)) this.writeEvent(w, 'ADDED', o)
      }
      const sendInitial = query.sendInitialEvents === 'true' || query.sendInitialEvents === '1'
      if (sendInitial && w.bookmarks) this.writeEvent(w, 'BOOKMARK', this.bookmarkObject(p, { 'k8s.io/initial-events-end': 'true' }))
    } else {
      for (const e of this.history) {
        if (e.rv <= from || e.key !== p.key) continue
        const ev = this.eventFor(w, e)
        if (ev !== null) this.writeEvent(w, ev.type, ev.object)
      }
    }
    this.watchers.add(w)
    const timeout = Number(query.timeoutSeconds ?? 0)
    if (timeout > 0) {
      w.timer = setTimeout(() => { if (!w.stalled) this.endWatcher(w) }, timeout * 1000)
      w.timer.unref()
    }
    res.on('close', () => { this.forgetWatcher(w) })
  }
}
