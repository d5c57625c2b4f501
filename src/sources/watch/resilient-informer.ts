// A list/watch informer that survives what real apiservers do.
//
// Why not client-node 1.4's makeInformer/ListWatch (read in
// node_modules/@kubernetes/client-node/dist/cache.js, informer.js, watch.js):
// - ListWatch stops for good on any error except an HTTP 410: a reset
//   connection, a refused connection, a 500 on the watch request or a failed
//   list all end in its 'error' callbacks and nothing restarts it;
// - it keys its cache by namespace/name, not uid, so a delete + re-create
//   with the same name during a disconnection becomes an 'update', and its
//   re-list reports everything through the same add/update/delete callbacks
//   as live events (no way to tell a baseline or a re-list from a change);
// - ERROR watch events other than 410 are ignored (the stream may stay open);
// - no watchdog: Watch overwrites its own 30 s AbortSignal.timeout with the
//   plain controller signal, and the controller is only returned after the
//   response headers, so a request that never gets headers cannot be
//   aborted at all; a silent stream hangs forever;
// - stop() aborts the request, which fires the 'error' callbacks with an
//   AbortError after the stop;
// - no `limit`/`continue` paging, no fieldSelector through makeInformer,
//   malformed watch lines are silently dropped.
// Using client-node's Watch class underneath our own loop would still leave
// the "cannot abort before headers" hole and lose the Status body of a non-200
// answer (it only keeps statusCode). So this module does the list and the
// watch over node:http(s) itself and takes from client-node exactly what
// matters there: KubeConfig.applyToHTTPSOptions, i.e. the server URL, TLS
// (CA, client certs, skipTLSVerify, tlsServerName), proxy agents and every
// auth method (tokens, exec/OIDC/cloud providers, impersonation).
//
// Semantics:
// - the first LIST is the baseline: every item is emitted as
//   {type: 'ADDED', relist: true, baseline: true}, then onSynced() is called
//   once and start() resolves;
// - watch events are emitted with relist: false, deduplicated on
//   uid + resourceVersion, typed from what the consumer has already seen
//   (a known uid is MODIFIED, a new one ADDED; a DELETED for a uid never
//   seen is dropped); BOOKMARKs only move the resourceVersion;
// - every later LIST (after a 410/Expired, an ERROR event, ...) is DIFFED by
//   uid against the known objects: ADDED for new uids, MODIFIED for a changed
//   resourceVersion, DELETED (with the last known object) for vanished ones,
//   all with relist: true; unchanged objects produce nothing. So a re-list
//   never re-reports anything and never loses a change (intermediate states
//   between two lists are, by nature, not visible);
// - restarts: an ERROR event (any code) or an HTTP 410 re-lists; a transport
//   failure (refused, reset, premature close), a clean end of the stream, a
//   non-410 HTTP status, a malformed line or the watchdog resume the watch
//   from the last resourceVersion (falling back to a re-list if the server
//   answers 410). Every restart waits an exponential backoff with full jitter
//   (random() * min(maxMs, initialMs * 2^attempt)); a successful sync — a
//   watch stream that delivered an event (bookmarks included) or stayed up
//   for maxMs — resets it. A bare successful LIST does not: a server that
//   lists fine but fails every watch would otherwise be re-listed every
//   initialMs;
// - the watchdog aborts any request (list or watch) that received no bytes
//   for watchdogMs — connected-but-silent, headers never sent, or a stream
//   gone quiet (bookmarks count as activity: ask for them, we do);
// - timers are unref'd; stop() aborts the request in flight, cancels the
//   backoff, and resolves when the loop has ended. Nothing is emitted after
//   stop() has been called.

import http from 'node:http'
import https from 'node:https'
import type { ClusterAccess } from './cluster-config.js'
import type { Logger } from 'pino'
import type { K8sObject } from '../../model.js'
import { errors } from '../../errors.js'
import { parseListItems } from './list-items.js'

export type InformerEventType = 'ADDED' | 'MODIFIED' | 'DELETED'

export interface InformerEvent {
  type: InformerEventType
  object: K8sObject
  /** Synthesized from a LIST (baseline or re-list diff), not a watch event: the time of the change is unknown. */
  relist: boolean
  /** Part of the first LIST: existing state, not a change. */
  baseline: boolean
}

/**
 * 'starting': listing, or connecting a watch after a backoff; 'synced': the
 * cache is consistent and a watch is open (or being opened right after a
 * LIST); 'backoff': waiting before the next attempt; 'stopped'. Use `synced`
 * (sticky) for readiness: the state moves on every restart.
 */
export type InformerState = 'starting' | 'synced' | 'backoff' | 'stopped'

export type RestartReason =
  | 'expired' // 410: HTTP status or ERROR event
  | 'error-event' // ERROR event with another code
  | 'http-error' // non-200, non-410 answer
  | 'connection' // refused, reset, premature close, TLS, DNS, ...
  | 'stream-end' // the server ended the watch cleanly
  | 'watchdog' // no bytes for watchdogMs
  | 'bad-response' // malformed JSON, oversized line/body

export interface RestartInfo {
  reason: RestartReason
  phase: 'list' | 'watch'
  /** Backoff before the next attempt. */
  delayMs: number
  /** Consecutive failed attempts, this one included. */
  attempt: number
  /** The next attempt starts with a LIST. */
  relist: boolean
  /** HTTP status or Status.code, when there was one. */
  code?: number
  message?: string
}

export interface ResilientInformerOptions {
  kc: ClusterAccess
  /** Collection path: '/apis/apps/v1/deployments', '/api/v1/namespaces/shop/pods', ... */
  path: string
  labelSelector?: string
  fieldSelector?: string
  onEvent: (e: InformerEvent) => void
  /**
   * Runs `deliver`, which emits a group of events: one list page, or the
   * lines of one chunk of the watch stream. The consumer makes it one unit
   * of work (one store transaction instead of one per object: most of a
   * first sync's CPU otherwise). Default: just runs it.
   */
  group?: (deliver: () => void) => void
  onSynced?: () => void
  /** Called for every restart, before the backoff (for metrics). */
  onRestart?: (r: RestartInfo) => void
  log?: Logger
  /** Default { initialMs: 500, maxMs: 30000 }. */
  backoff?: { initialMs: number; maxMs: number }
  /** Abort a request silent for longer than this (default 300000; 0 disables). */
  watchdogMs?: number
  /** LIST page size (`limit`); default 500, 0 = no paging. */
  pageSize?: number
  /**
   * Applied to every object as soon as its list page or watch line is parsed,
   * before it is delivered: what the consumer keeps of it is what it returns
   * (dropping what nobody reads — managedFields, a Pod's spec — is most of
   * the memory). The informer itself keeps only each object's identity.
   */
  transform?: (o: K8sObject) => K8sObject
  /**
   * Members of each list item's metadata that `transform` drops anyway
   * (managedFields): left out of list pages before they are parsed.
   */
  dropMetadata?: readonly string[]
  /**
   * Ask for metadata only (PartialObjectMetadataList / PartialObjectMetadata,
   * as client-go's metadata informers do): for kinds only ever used as owner
   * links, the apiserver then never serialises their spec and status.
   * Items come back as kind PartialObjectMetadata: `kind` and `apiVersion`
   * name them again.
   */
  metadataOnly?: boolean
  /** The kind and apiVersion of the items (default: from the list's kind, `XList` → `X`). */
  kind?: string
  apiVersion?: string
  /** For tests: the jitter source, default Math.random. */
  random?: () => number
}

export interface ResilientInformer {
  /** Starts the loop; resolves after the first LIST (or on stop()). Retries forever meanwhile. */
  start: () => Promise<void>
  /** Stops everything; resolves when no request or timer is left. */
  stop: () => Promise<void>
  /** True once the first LIST has been delivered (stays true until stop). */
  readonly synced: boolean
  readonly state: InformerState
  /** Number of restarts (failures) since start. */
  readonly restarts: number
  /** Epoch ms of the last LIST or watch event (bookmarks included). */
  readonly lastEventAt: number | null
  /** The resourceVersion the next watch resumes from ('' before the first LIST). */
  readonly resourceVersion: string
  /**
   * The current objects' identities (kind, apiVersion, uid, namespace, name,
   * resourceVersion): the informer keeps no more than what a re-list diff
   * needs — the consumer keeps what it reads.
   */
  list: () => K8sObject[]
}

const MAX_LIST_BYTES = 256 * 1024 * 1024
const MAX_LINE_CHARS = 32 * 1024 * 1024
const MAX_ERROR_BODY = 64 * 1024

interface Status { kind?: string; code?: number; reason?: string; message?: string; metadata?: { continue?: string } }

class WatchdogError extends Error {
  constructor (ms: number) {
    super(`no data from the apiserver for ${ms} ms`)
    this.name = 'WatchdogError'
  }
}

class StoppedError extends Error {
  constructor () {
    super('informer stopped')
    this.name = 'StoppedError'
  }
}

class HttpStatusError extends Error {
  readonly code: number
  readonly status: Status | null
  constructor (code: number, status: Status | null) {
    super(status?.message ?? `HTTP ${code}`)
    this.name = 'HttpStatusError'
    this.code = code
    this.status = status
  }
}

class BadResponseError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'BadResponseError'
  }
}

/** One HTTP GET with a silence watchdog and an abort that works at any stage. */
class Call {
  private req: http.ClientRequest | null = null
  private res: http.IncomingMessage | null = null
  private agent: http.Agent | null = null
  private timer: NodeJS.Timeout | null = null
  private last = Date.now()
  private abortErr: Error | null = null
  private rejectOpen: ((err: Error) => void) | null = null
  /** Notified once when the call is aborted (watchdog or stop) after the response began. */
  onAbort: ((err: Error) => void) | null = null

  constructor (private readonly watchdogMs: number) {
    if (watchdogMs > 0) this.arm(watchdogMs)
  }

  get aborted (): Error | null {
    return this.abortErr
  }

  touch (): void {
    this.last = Date.now()
  }

  private arm (ms: number): void {
    this.timer = setTimeout(() => {
      const idle = Date.now() - this.last
      if (idle >= this.watchdogMs) this.abort(new WatchdogError(idle))
      else this.arm(this.watchdogMs - idle)
    }, ms)
    this.timer.unref()
  }

  async open (kc: ClusterAccess, url: URL, accept = 'application/json'): Promise<http.IncomingMessage> {
    const opts: https.RequestOptions = { method: 'GET', headers: { Accept: accept, 'User-Agent': 'kubechanges' } }
    await kc.applyToHTTPSOptions(opts)
    if (opts.agent instanceof http.Agent) this.agent = opts.agent
    if (this.abortErr !== null) throw this.abortErr
    const mod = url.protocol === 'https:' ? https : http
    return await new Promise<http.IncomingMessage>((resolve, reject) => {
      this.rejectOpen = reject
      const req = mod.request(url, opts, res => {
        this.rejectOpen = null
        this.res = res
        this.touch()
        resolve(res)
      })
      this.req = req
      req.on('error', err => { this.rejectOpen?.(err) })
      req.end()
    })
  }

  /** Reads a whole (bounded) body. */
  /**
   * Reads a whole (bounded) body. Kept as bytes until the end and decoded
   * once: a list page built as a string of 64 KiB pieces would be copied by
   * every young-generation GC while it arrives, then once more to flatten it.
   */
  async readAll (res: http.IncomingMessage, max: number): Promise<string> {
    return await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = []
      let bytes = 0
      let ended = false
      this.onAbort = reject
      res.on('data', (chunk: Buffer) => {
        this.touch()
        chunks.push(chunk)
        bytes += chunk.length
        if (bytes > max) this.abort(new BadResponseError(`response body larger than ${max} bytes`))
      })
      res.on('end', () => {
        ended = true
        const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, bytes)).toString('utf8')
        chunks.length = 0
        resolve(text)
      })
      res.on('error', reject)
      res.on('close', () => { if (!ended) reject(this.abortErr ?? new Error('connection closed before the end of the response')) })
    })
  }

  abort (err: Error): void {
    if (this.abortErr !== null) return
    this.abortErr = err
    const rejectOpen = this.rejectOpen
    this.rejectOpen = null
    rejectOpen?.(err)
    const onAbort = this.onAbort
    this.onAbort = null
    onAbort?.(err)
    this.close()
  }

  close (): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.res?.destroy()
    this.req?.destroy()
    this.agent?.destroy()
  }
}

function isObject (v: unknown): v is Record<string, any> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function parseStatus (text: string): Status | null {
  try {
    const v = JSON.parse(text) as unknown
    return isObject(v) ? v as Status : null
  } catch {
    return null
  }
}

function idOf (o: K8sObject): string {
  const uid = o.metadata?.uid
  return typeof uid === 'string' && uid !== '' ? uid : `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`
}

function rvOf (o: K8sObject | undefined): string | undefined {
  return o?.metadata?.resourceVersion
}

/**
 * What the informer keeps of an object: a re-list diff needs the
 * resourceVersion, a vanished object's DELETED its name. (The strings are the
 * parsed object's own, shared with what the consumer keeps.)
 */
interface Known { namespace: string | undefined; name: string | undefined; rv: string | undefined }

function knownOf (o: K8sObject): Known {
  return { namespace: o.metadata?.namespace, name: o.metadata?.name, rv: o.metadata?.resourceVersion }
}

// client-go's metadata informers ask for the same, with JSON as the fallback
// for servers (or aggregated APIs) that cannot convert.
const ACCEPT_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json'
const ACCEPT_METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json'
const PARTIAL = 'PartialObjectMetadata'

export function createResilientInformer (opts: ResilientInformerOptions): ResilientInformer {
  if (!/^\/apis?\//.test(opts.path)) throw errors.BAD_ARGUMENT(`watch path must start with /api/ or /apis/: ${opts.path}`)
  const kc = opts.kc
  const log = opts.log ?? null
  const initialMs = Math.max(1, opts.backoff?.initialMs ?? 500)
  const maxMs = Math.max(initialMs, opts.backoff?.maxMs ?? 30000)
  const watchdogMs = Math.max(0, opts.watchdogMs ?? 300000)
  const pageSize = Math.max(0, opts.pageSize ?? 500)
  const random = opts.random ?? Math.random

  let known = new Map<string, Known>()
  const transform = opts.transform ?? ((o: K8sObject) => o)
  const dropMetadata = opts.dropMetadata !== undefined && opts.dropMetadata.length > 0 ? new Set(opts.dropMetadata) : undefined
  const metadataOnly = opts.metadataOnly === true
  let itemKind = opts.kind
  let itemApiVersion = opts.apiVersion

  /** Names the object's kind (a metadata-only answer says PartialObjectMetadata), then slims it. */
  function prepare (o: K8sObject): K8sObject {
    if (o.kind === undefined || o.kind === PARTIAL) {
      if (itemKind !== undefined) o.kind = itemKind
      if (itemApiVersion !== undefined) o.apiVersion = itemApiVersion
    }
    if (o.apiVersion === undefined && itemApiVersion !== undefined) o.apiVersion = itemApiVersion
    return transform(o)
  }

  function stub (id: string, k: Known): K8sObject {
    const metadata: NonNullable<K8sObject['metadata']> = { uid: id.includes('/') ? undefined : id, name: k.name, namespace: k.namespace, resourceVersion: k.rv }
    if (metadata.uid === undefined) delete metadata.uid
    if (metadata.namespace === undefined) delete metadata.namespace
    return { apiVersion: itemApiVersion, kind: itemKind, metadata }
  }
  let resourceVersion = ''
  let needList = true
  let synced = false
  let state: InformerState = 'starting'
  let restarts = 0
  let attempt = 0
  let lastEventAt: number | null = null
  let stopped = false
  let current: Call | null = null
  let wake: (() => void) | null = null
  let loop: Promise<void> | null = null
  let started: Promise<void> | null = null
  let resolveStarted: (() => void) | null = null

  function emit (e: InformerEvent): void {
    if (stopped) return
    try {
      opts.onEvent(e)
    } catch (err) {
      log?.error({ err, path: opts.path }, 'watch: onEvent threw')
    }
  }

  /** One group of emits; a consumer failure on the group as a whole (its commit) costs the group, not the loop. */
  function inGroup (deliver: () => void): void {
    if (opts.group === undefined) { deliver(); return }
    try {
      opts.group(deliver)
    } catch (err) {
      log?.error({ err, path: opts.path }, 'watch: delivering a group of events failed')
    }
  }

  function url (params: Record<string, string | undefined>): URL {
    const cluster = kc.getCurrentCluster()
    if (cluster === null) throw errors.BAD_CONFIG('kubeconfig has no current cluster')
    const u = new URL(cluster.server.replace(/\/+$/, '') + opts.path)
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined) u.searchParams.set(k, v)
    }
    return u
  }

  async function get (u: URL, max: number): Promise<{ code: number; text: string }> {
    if (stopped) throw new StoppedError()
    const call = new Call(watchdogMs)
    current = call
    try {
      const res = await call.open(kc, u, metadataOnly ? ACCEPT_METADATA_LIST : 'application/json')
      const text = await call.readAll(res, max)
      return { code: res.statusCode ?? 0, text }
    } finally {
      call.close()
      if (current === call) current = null
    }
  }

  /** A full LIST (paged), then baseline or diff. */
  async function relist (): Promise<void> {
    state = 'starting'
    // Slimmed as each page arrives: only one page of full objects is ever alive.
    // The first list is delivered page by page too (nothing to diff against,
    // and holding a whole cluster's objects until its last page is most of a
    // sync's peak); a re-list is diffed once complete, deletes first, as
    // before (a name deleted and re-created must be reported in that order).
    const streaming = !synced
    const seen = new Set<string>()
    const items: K8sObject[] = []
    let listRV = ''
    let cont: string | undefined
    let limit = pageSize > 0 ? pageSize : undefined
    for (;;) {
      const { code, text } = await get(url({
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        limit: limit !== undefined ? String(limit) : undefined,
        continue: cont
      }), MAX_LIST_BYTES)
      if (code === 410 && cont !== undefined) {
        // The continue token expired mid-list: start over in one page (a consistent snapshot).
        log?.info({ path: opts.path }, 'watch: list continue token expired, listing again without paging')
        items.length = 0
        seen.clear()
        cont = undefined
        limit = undefined
        continue
      }
      if (code !== 200) throw new HttpStatusError(code, parseStatus(text))
      // Each item is parsed, named and slimmed on its own (parseListItems):
      // the page's full objects are never all alive at once. The first list
      // delivers them as they come, as one group per page.
      const nameItems = (head: Readonly<Record<string, unknown>>): void => {
        // List items come without kind/apiVersion from the real apiserver; the list names them.
        if (typeof head.kind === 'string' && head.kind.endsWith('List') && head.kind !== `${PARTIAL}List`) {
          itemKind ??= head.kind.slice(0, -4)
          if (typeof head.apiVersion === 'string') itemApiVersion ??= head.apiVersion
        }
      }
      /** Items that came before the list's kind (not the apiserver's order): taken at the end. */
      let early: K8sObject[] | undefined
      const onItem = (it: unknown, head: Readonly<Record<string, unknown>>): void => {
        if (!isObject(it)) return
        if (early !== undefined || typeof head.kind !== 'string') { (early ??= []).push(it as K8sObject); return }
        nameItems(head)
        if (streaming) baselineItem(prepare(it as K8sObject), seen)
        else items.push(prepare(it as K8sObject))
      }
      let body: Record<string, unknown> | undefined
      const parse = (): void => {
        try {
          body = parseListItems(text, onItem, dropMetadata)
        } catch (err) {
          if (err instanceof SyntaxError) throw new BadResponseError('list response is not JSON')
          throw err
        }
      }
      if (streaming) {
        let failed: unknown
        // A malformed page ends the group with what came before it (a later list sees them again).
        inGroup(() => { try { parse() } catch (err) { failed = err } })
        if (failed !== undefined) throw failed
      } else {
        parse()
      }
      if (body === undefined || (body.items !== null && body.items !== undefined && body.items !== true)) {
        throw new BadResponseError('list response has no items array')
      }
      if (early !== undefined) {
        nameItems(body)
        const rest = early
        early = undefined
        const take = (): void => {
          for (let i = 0; i < rest.length; i++) {
            const it = rest[i]
            rest[i] = undefined as unknown as K8sObject
            if (streaming) baselineItem(prepare(it), seen)
            else items.push(prepare(it))
          }
        }
        if (streaming) inGroup(take)
        else take()
      }
      const meta = isObject(body.metadata) ? body.metadata : {}
      listRV = typeof meta.resourceVersion === 'string' ? meta.resourceVersion : listRV
      cont = typeof meta.continue === 'string' && meta.continue !== '' ? meta.continue : undefined
      if (cont === undefined) break
    }
    if (stopped) throw new StoppedError()
    if (streaming) inGroup(() => { endBaseline(seen) })
    else inGroup(() => { applyList(items) })
    resourceVersion = listRV
    needList = false
    lastEventAt = Date.now()
    state = 'synced'
    if (!synced) {
      synced = true
      try {
        opts.onSynced?.()
      } catch (err) {
        log?.error({ err, path: opts.path }, 'watch: onSynced threw')
      }
      resolveStarted?.()
      resolveStarted = null
    }
  }

  /**
   * One item of the first list: ADDED as baseline when first seen. (Seen
   * already: the list restarted after an expired continue token, and what
   * changed meanwhile is a change.)
   */
  function baselineItem (o: K8sObject, seen: Set<string>): void {
    const id = idOf(o)
    const p = known.get(id)
    known.set(id, knownOf(o))
    seen.add(id)
    if (p === undefined) emit({ type: 'ADDED', object: o, relist: true, baseline: true })
    else if (p.rv !== rvOf(o)) emit({ type: 'MODIFIED', object: o, relist: true, baseline: false })
  }

  /** The first list is complete: what an earlier, interrupted attempt showed and this one did not is gone. */
  function endBaseline (seen: Set<string>): void {
    for (const [id, k] of known) {
      if (seen.has(id)) continue
      known.delete(id)
      emit({ type: 'DELETED', object: stub(id, k), relist: true, baseline: false })
    }
    log?.debug({ path: opts.path, count: known.size }, 'watch: baseline listed')
  }

  function applyList (items: K8sObject[]): void {
    const fresh = new Map<string, Known>()
    const objects = new Map<string, K8sObject>()
    for (let i = 0; i < items.length; i++) {
      const it = items[i]
      const id = idOf(it)
      fresh.set(id, knownOf(it))
      objects.set(id, it)
      // Delivered objects belong to the consumer from here on: nothing here holds them.
      items[i] = undefined as unknown as K8sObject
    }
    items.length = 0
    const old = known
    known = fresh
    let added = 0
    let modified = 0
    let deleted = 0
    for (const [id, k] of old) {
      if (!fresh.has(id)) { deleted++; emit({ type: 'DELETED', object: stub(id, k), relist: true, baseline: false }) }
    }
    for (const [id, o] of objects) {
      const p = old.get(id)
      if (p === undefined) { added++; emit({ type: 'ADDED', object: o, relist: true, baseline: false }) } else if (p.rv !== rvOf(o)) { modified++; emit({ type: 'MODIFIED', object: o, relist: true, baseline: false }) }
    }
    log?.info({ path: opts.path, count: fresh.size, added, modified, deleted }, 'watch: re-listed')
  }

  type Outcome = { reason: RestartReason; relist: boolean; healthy: boolean; code?: number; message?: string }

  /** Applies one watch line; returns an Outcome when the stream must end. */
  function onLine (line: string): Outcome | 'event' | null {
    let ev: unknown
    try {
      ev = JSON.parse(line)
    } catch {
      return { reason: 'bad-response', relist: false, healthy: false, message: 'malformed watch event' }
    }
    if (!isObject(ev) || typeof ev.type !== 'string') return { reason: 'bad-response', relist: false, healthy: false, message: 'watch event without type' }
    const obj = ev.object
    switch (ev.type) {
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED': {
        if (!isObject(obj) || !isObject(obj.metadata)) return { reason: 'bad-response', relist: false, healthy: false, message: 'watch event without object' }
        applyWatchEvent(ev.type, obj as K8sObject)
        return 'event'
      }
      case 'BOOKMARK': {
        const rv = isObject(obj) && isObject(obj.metadata) ? obj.metadata.resourceVersion : undefined
        if (typeof rv === 'string' && rv !== '') resourceVersion = rv
        lastEventAt = Date.now()
        return 'event'
      }
      case 'ERROR': {
        const st = isObject(obj) ? obj as Status : null
        const code = typeof st?.code === 'number' ? st.code : undefined
        return { reason: code === 410 ? 'expired' : 'error-event', relist: true, healthy: false, code, message: st?.message }
      }
      default:
        log?.warn({ path: opts.path, type: ev.type }, 'watch: unknown event type ignored')
        return null
    }
  }

  function applyWatchEvent (type: InformerEventType, raw: K8sObject): void {
    const obj = prepare(raw)
    const rv = rvOf(obj)
    if (typeof rv === 'string' && rv !== '') resourceVersion = rv
    lastEventAt = Date.now()
    const id = idOf(obj)
    const prev = known.get(id)
    if (type === 'DELETED') {
      if (prev === undefined) return // never seen, or already reported gone by a re-list
      known.delete(id)
      emit({ type: 'DELETED', object: obj, relist: false, baseline: false })
      return
    }
    if (prev !== undefined && prev.rv === rv) return // duplicate
    known.set(id, knownOf(obj))
    emit({ type: prev === undefined ? 'ADDED' : 'MODIFIED', object: obj, relist: false, baseline: false })
  }

  async function watchOnce (): Promise<Outcome> {
    if (stopped) throw new StoppedError()
    // Like client-go: ask the server to end the stream after 5-10 minutes, so a
    // stream half-closed somewhere in between cannot live for ever.
    const u = url({
      watch: 'true',
      resourceVersion,
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(300 + Math.floor(random() * 300)),
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector
    })
    if (state === 'backoff') state = 'starting'
    const call = new Call(watchdogMs)
    current = call
    const openedAt = Date.now()
    let events = 0
    const healthy = (): boolean => events > 0 || Date.now() - openedAt >= maxMs
    try {
      const res = await call.open(kc, u, metadataOnly ? ACCEPT_METADATA : 'application/json')
      const code = res.statusCode ?? 0
      if (code !== 200) {
        const st = parseStatus(await call.readAll(res, MAX_ERROR_BODY).catch(() => ''))
        return { reason: code === 410 ? 'expired' : 'http-error', relist: code === 410, healthy: false, code, message: st?.message }
      }
      state = 'synced'
      return await new Promise<Outcome>(resolve => {
        let buf = ''
        let done = false
        const finish = (o: Outcome): void => {
          if (done) return
          done = true
          resolve(o)
          call.close()
        }
        call.onAbort = err => {
          finish(err instanceof WatchdogError
            ? { reason: 'watchdog', relist: false, healthy: events > 0, message: err.message }
            : { reason: 'bad-response', relist: false, healthy: false, message: err.message })
        }
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          if (done) return
          call.touch()
          buf += chunk
          // Every complete line of the chunk, as one group.
          if (buf.includes('\n')) {
            inGroup(() => {
              let i: number
              let from = 0
              try {
                while (!done && !stopped && (i = buf.indexOf('\n', from)) >= 0) {
                  const line = buf.slice(from, i)
                  from = i + 1
                  if (line.trim() === '') continue
                  const r = onLine(line)
                  if (r === 'event') {
                    events++
                  } else if (r !== null) {
                    finish({ ...r, healthy: r.healthy || events > 0 })
                  }
                }
              } finally {
                buf = buf.slice(from)
              }
            })
          }
          if (!done && buf.length > MAX_LINE_CHARS) call.abort(new BadResponseError(`watch event larger than ${MAX_LINE_CHARS} characters`))
        })
        res.on('end', () => { finish({ reason: 'stream-end', relist: false, healthy: healthy() }) })
        res.on('error', err => { finish({ reason: 'connection', relist: false, healthy: healthy(), message: err.message }) })
        res.on('close', () => { finish({ reason: 'connection', relist: false, healthy: healthy(), message: 'connection closed' }) })
      })
    } finally {
      call.close()
      if (current === call) current = null
    }
  }

  function outcomeOf (err: unknown): Outcome {
    if (err instanceof WatchdogError) return { reason: 'watchdog', relist: needList, healthy: false, message: err.message }
    if (err instanceof HttpStatusError) return { reason: 'http-error', relist: needList, healthy: false, code: err.code, message: err.message }
    if (err instanceof BadResponseError) return { reason: 'bad-response', relist: needList, healthy: false, message: err.message }
    const e = err as { code?: unknown; message?: unknown }
    return { reason: 'connection', relist: needList, healthy: false, message: `${typeof e?.code === 'string' ? e.code + ': ' : ''}${String(e?.message ?? err)}` }
  }

  async function sleep (ms: number): Promise<void> {
    if (stopped) return
    await new Promise<void>(resolve => {
      const t = setTimeout(() => { wake = null; resolve() }, ms)
      t.unref()
      wake = () => { clearTimeout(t); wake = null; resolve() }
    })
  }

  async function run (): Promise<void> {
    while (!stopped) {
      let phase: 'list' | 'watch' = needList ? 'list' : 'watch'
      let out: Outcome
      try {
        if (needList) await relist()
        phase = 'watch'
        out = await watchOnce()
      } catch (err) {
        if (stopped) break
        if (err instanceof Error && err.name === 'KubechangesError') log?.error({ err, path: opts.path }, 'watch: cannot connect')
        out = outcomeOf(err)
      }
      if (stopped) break
      if (out.relist) needList = true
      if (out.healthy) attempt = 0
      const cap = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30))
      const delayMs = Math.floor(Math.min(1, Math.max(0, random())) * cap)
      attempt++
      restarts++
      state = 'backoff'
      const info: RestartInfo = { reason: out.reason, phase, delayMs, attempt, relist: needList }
      if (out.code !== undefined) info.code = out.code
      if (out.message !== undefined) info.message = out.message
      // 403/404: the owner (watch.ts) says what is missing, once, in words.
      const level = out.code === 403 || out.code === 404 ? 'debug' : out.reason === 'stream-end' || (out.reason === 'expired' && out.healthy) ? 'info' : 'warn'
      log?.[level]({ path: opts.path, ...info, resourceVersion }, 'watch: restarting')
      try {
        opts.onRestart?.(info)
      } catch (err) {
        log?.error({ err, path: opts.path }, 'watch: onRestart threw')
      }
      await sleep(delayMs)
    }
    state = 'stopped'
  }

  return {
    async start (): Promise<void> {
      if (stopped) throw errors.BAD_ARGUMENT('informer stopped: create a new one')
      if (started !== null) return await started
      if (kc.getCurrentCluster() === null) throw errors.BAD_CONFIG('kubeconfig has no current cluster')
      started = new Promise<void>(resolve => { resolveStarted = resolve })
      state = 'starting'
      loop = run().catch(err => {
        log?.error({ err, path: opts.path }, 'watch: informer loop crashed')
        state = 'stopped'
      })
      await started
    },
    async stop (): Promise<void> {
      stopped = true
      state = 'stopped'
      current?.abort(new StoppedError())
      wake?.()
      resolveStarted?.()
      resolveStarted = null
      if (loop !== null) await loop
    },
    get synced () { return synced },
    get state () { return state },
    get restarts () { return restarts },
    get lastEventAt () { return lastEventAt },
    get resourceVersion () { return resourceVersion },
    list (): K8sObject[] {
      return [...known].map(([id, k]) => stub(id, k))
    }
  }
}
