// API discovery: which of the kinds kubechanges wants does this API server
// actually serve, and what are the custom resources named in
// watch.extraKinds? Asked once at start (and again for what was missing), so
// that one kind a cluster lacks never blocks readiness.
//
// Reads the legacy (non-aggregated) documents every apiserver serves:
// `/api` (APIVersions), `/apis` (APIGroupList, with each group's
// preferredVersion) and `/api/v1`, `/apis/GROUP/VERSION` (APIResourceList:
// name, kind, namespaced, verbs). The decisions are pure functions over those
// documents; the I/O is one injected `get`.

import http from 'node:http'
import https from 'node:https'
import type { ClusterAccess } from './cluster-config.js'
import type { WatchedKind } from '../watch-kinds.js'

export interface ApiResource { name: string, singularName?: string, namespaced?: boolean, kind?: string, verbs?: string[], shortNames?: string[] }
export interface ApiGroup { name: string, versions: Array<{ version: string }>, preferredVersion?: { version: string } }

/** An HTTP answer: status code and parsed JSON body (undefined when not JSON). */
export interface Answer { code: number, body: unknown }
export type Get = (path: string) => Promise<Answer>

/** Raised by discover() when the documents cannot be read at all (the caller retries). */
export class DiscoveryError extends Error {
  readonly code: number | undefined
  constructor (message: string, code?: number) {
    super(message)
    this.name = 'DiscoveryError'
    this.code = code
  }
}

/** A kind left out, and why (one log line, one /readyz note). */
export interface Missing { name: string, message: string, kind?: WatchedKind }

export interface Resolution { served: WatchedKind[], missing: Missing[] }

/** kubectl's `resource.group` name of a kind: 'events.events.k8s.io', 'pods' for the core group. */
export function resourceName (k: { resource: string, group: string }): string {
  return k.group === '' ? k.resource : `${k.resource}.${k.group}`
}

/** kubectl-style names: `resource`, `resource.group`, `resource.version.group`. */
export function parseKindName (name: string): { resource: string, group: string, version?: string } {
  const [resource, ...rest] = name.toLowerCase().split('.')
  if (rest.length >= 2 && /^v\d+((alpha|beta)\d+)?$/.test(rest[0])) return { resource, version: rest[0], group: rest.slice(1).join('.') }
  return { resource, group: rest.join('.') }
}

function isObj (v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function groupsOf (body: unknown): ApiGroup[] {
  if (!isObj(body) || !Array.isArray(body.groups)) return []
  return body.groups.filter((g): g is ApiGroup => isObj(g) && typeof g.name === 'string' && Array.isArray(g.versions))
}

function resourcesOf (body: unknown): ApiResource[] {
  if (!isObj(body) || !Array.isArray(body.resources)) return []
  return body.resources.filter((r): r is ApiResource => isObj(r) && typeof r.name === 'string' && !r.name.includes('/'))
}

/** The group's versions, preferred first (what kubectl resolves a bare `resource.group` to). */
function versionsOf (g: ApiGroup): string[] {
  const all = g.versions.map(v => v.version).filter(v => typeof v === 'string')
  const pref = g.preferredVersion?.version
  return pref !== undefined && all.includes(pref) ? [pref, ...all.filter(v => v !== pref)] : all
}

function matches (r: ApiResource, wanted: string): boolean {
  return r.name === wanted || r.singularName === wanted || r.kind?.toLowerCase() === wanted || (r.shortNames ?? []).includes(wanted)
}

function watchable (r: ApiResource, k: WatchedKind): Missing | undefined {
  const verbs = r.verbs ?? []
  const lacking = ['list', 'watch'].filter(v => !verbs.includes(v))
  if (lacking.length === 0) return undefined
  return { name: resourceName(k), message: `${resourceName(k)} cannot be watched: the API server does not allow ${lacking.join(' or ')} on it`, kind: k }
}

/**
 * Resolves the default kinds (checked against the resource lists) and the
 * extraKinds names (resolved to group, preferred version, kind, scope).
 * `resources(group, version)` gives a group version's resources, or null
 * when the server does not serve it.
 */
export async function resolveKinds (
  groups: ApiGroup[],
  coreServed: boolean,
  resources: (group: string, version: string) => Promise<ApiResource[] | null>,
  defaults: readonly WatchedKind[],
  extraNames: readonly string[]
): Promise<Resolution> {
  const served: WatchedKind[] = []
  const missing: Missing[] = []
  const has = (k: WatchedKind): boolean => served.some(s => s.group === k.group && s.resource === k.resource)
  const gvServed = (group: string, version: string): boolean =>
    group === '' ? coreServed && version === 'v1' : groups.some(g => g.name === group && g.versions.some(v => v.version === version))
  for (const k of defaults) {
    const gv = k.group === '' ? k.version : `${k.group}/${k.version}`
    const list = gvServed(k.group, k.version) ? await resources(k.group, k.version) : null
    const r = list?.find(x => x.name === k.resource)
    if (r === undefined) {
      missing.push({ name: resourceName(k), message: `${resourceName(k)} (${gv}) is not served by the API server: not watched`, kind: k })
      continue
    }
    const bad = watchable(r, k)
    if (bad !== undefined) missing.push(bad)
    else served.push(k)
  }
  for (const name of extraNames) {
    const want = parseKindName(name)
    const group = want.group === '' ? undefined : groups.find(g => g.name === want.group)
    const versions = want.group === '' ? (coreServed ? ['v1'] : []) : group === undefined ? [] : versionsOf(group)
    let found: WatchedKind | undefined
    let entry: ApiResource | undefined
    for (const version of want.version !== undefined ? versions.filter(v => v === want.version) : versions) {
      entry = (await resources(want.group, version))?.find(x => matches(x, want.resource))
      if (entry !== undefined) {
        found = { group: want.group, version, resource: entry.name, kind: entry.kind ?? entry.name, namespaced: entry.namespaced !== false }
        break
      }
    }
    if (found === undefined || entry === undefined) {
      const why = want.group !== '' && group === undefined ? `the API server serves no group ${want.group}` : 'discovery does not list it'
      missing.push({ name, message: `watch.extraKinds: ${name} is not known to the API server (${why}; is its CRD installed?): not watched` })
      continue
    }
    if (has(found)) continue
    const bad = watchable(entry, found)
    if (bad !== undefined) missing.push({ ...bad, name })
    else served.push(found)
  }
  return { served, missing }
}

/** Reads the discovery documents through `get` and resolves the kinds. */
export async function discover (get: Get, defaults: readonly WatchedKind[], extraNames: readonly string[]): Promise<Resolution> {
  const [core, apis] = await Promise.all([get('/api'), get('/apis')])
  for (const [path, a] of [['/api', core], ['/apis', apis]] as const) {
    if (a.code !== 200) throw new DiscoveryError(`GET ${path}: HTTP ${a.code}${isObj(a.body) && typeof a.body.message === 'string' ? `: ${a.body.message}` : ''}`, a.code)
    if (!isObj(a.body)) throw new DiscoveryError(`GET ${path}: not a JSON object`)
  }
  const coreServed = isObj(core.body) && Array.isArray(core.body.versions) && core.body.versions.includes('v1')
  const cache = new Map<string, Promise<ApiResource[] | null>>()
  const resources = async (group: string, version: string): Promise<ApiResource[] | null> => {
    const path = group === '' ? `/api/${version}` : `/apis/${group}/${version}`
    let p = cache.get(path)
    if (p === undefined) {
      p = get(path).then(a => {
        // 404: not served. Anything else (an aggregated API whose backend is
        // down answers 503) leaves that group version out until the re-check,
        // rather than holding every other kind back.
        return a.code === 200 ? resourcesOf(a.body) : null
      })
      cache.set(path, p)
    }
    return await p
  }
  return await resolveKinds(groupsOf(apis.body), coreServed, resources, defaults, extraNames)
}

/** A `get` over the kubeconfig's server, TLS and auth (what client-node's KubeConfig applies). */
export function kubeGet (kc: ClusterAccess, timeoutMs = 30_000): Get {
  return async (path: string): Promise<Answer> => {
    const cluster = kc.getCurrentCluster()
    if (cluster === null) throw new DiscoveryError('kubeconfig has no current cluster')
    const url = new URL(cluster.server.replace(/\/+$/, '') + path)
    const opts: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json', 'User-Agent': 'kubechanges' }, timeout: timeoutMs }
    await kc.applyToHTTPSOptions(opts)
    const mod = url.protocol === 'https:' ? https : http
    return await new Promise<Answer>((resolve, reject) => {
      const req = mod.request(url, opts, res => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => { text += c; if (text.length > 16 * 1024 * 1024) req.destroy(new Error('discovery document too large')) })
        res.on('end', () => {
          let body: unknown
          try { body = JSON.parse(text) } catch { body = undefined }
          resolve({ code: res.statusCode ?? 0, body })
        })
        res.on('error', reject)
      })
      req.on('timeout', () => { req.destroy(new Error(`no answer in ${timeoutMs} ms`)) })
      req.on('error', reject)
      req.end()
    })
  }
}
