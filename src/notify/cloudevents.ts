// CloudEvents sink: one CloudEvents 1.0 event per change over HTTP, made and
// encoded by the official SDK (`cloudevents`), binary mode (ce-* headers,
// the Change as the JSON body) by default or structured mode. The event id is
// the change id, so a retry or a restart re-sends the same event and a
// consumer can drop duplicates. `format: cdevents` maps workload changes to
// CDEvents (spec v0.4) for CD tooling; other changes stay kubechanges events.

import type { CloudEvent } from 'cloudevents'
import { lazy } from '../lazy.js'
import type { Change } from '../model.js'
import type { Digest } from './digest.js'
import { post, sinkUrl, DEFAULT_TIMEOUT_MS } from './http-post.js'
import { parseImage } from './render.js'
import type { Sink } from './sink.js'

export type CloudEventsMode = 'binary' | 'structured'
export type CloudEventsFormat = 'kubechanges' | 'cdevents'

export interface CloudEventsSinkOptions {
  name: string
  url: string
  mode?: CloudEventsMode
  format?: CloudEventsFormat
  headers?: Record<string, string>
  timeoutMs?: number
}

export const CHANGE_EVENT_TYPE_PREFIX = 'io.kubechanges.change.'
export const DIGEST_EVENT_TYPE_PREFIX = 'io.kubechanges.digest.'

/** `/kubechanges/<cluster>`, or `/kubechanges` when the cluster is not named. */
export function eventSource (cluster: string | undefined): string {
  return cluster === undefined ? '/kubechanges' : `/kubechanges/${encodeURIComponent(cluster)}`
}

/** `<Kind>/<namespace>/<name>`, or `<Kind>/<name>` for a cluster-scoped object. */
export function eventSubject (change: Pick<Change, 'object'>): string {
  const { kind, namespace, name } = change.object
  return namespace ? `${kind}/${namespace}/${name}` : `${kind}/${name}`
}

// Extension attribute names: lowercase letters and digits only (CloudEvents 1.0).
function extensions (outcome: string, cluster: string | undefined): Record<string, string> {
  return { outcome, ...(cluster !== undefined ? { cluster } : {}) }
}

const sdk = lazy<typeof import('cloudevents')>('cloudevents')

/** The kubechanges event of one change: type io.kubechanges.change.<type>, data = the Change. */
export function changeEvent (change: Change): CloudEvent<Change> {
  return new (sdk().CloudEvent)<Change>({
    specversion: '1.0',
    id: change.id,
    type: `${CHANGE_EVENT_TYPE_PREFIX}${change.type}`,
    source: eventSource(change.cluster),
    subject: eventSubject(change),
    time: change.endedAt,
    datacontenttype: 'application/json',
    data: change,
    ...extensions(change.outcome, change.cluster)
  })
}

/** A digest: type io.kubechanges.digest.<type>, subject the actor, data = the Digest. */
export function digestEvent (d: Digest): CloudEvent<Digest> {
  const failed = (d.outcomes.failed ?? 0) + (d.outcomes['timed-out'] ?? 0)
  return new (sdk().CloudEvent)<Digest>({
    specversion: '1.0',
    id: d.id,
    type: `${DIGEST_EVENT_TYPE_PREFIX}${d.type}`,
    source: eventSource(d.cluster),
    subject: d.actor || 'unknown',
    time: d.windowEnd,
    datacontenttype: 'application/json',
    data: d,
    ...extensions(failed > 0 ? 'failed' : 'succeeded', d.cluster)
  })
}

// ---------------------------------------------------------------- CDEvents

export const CDEVENTS_SPEC_VERSION = '0.4.1'
export const CDEVENT_TYPES = {
  deployed: 'dev.cdevents.service.deployed.0.2.0',
  upgraded: 'dev.cdevents.service.upgraded.0.2.0',
  removed: 'dev.cdevents.service.removed.0.2.0'
} as const

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Rollout'])

/** `registry.example.com/shop/web:1.5.0@sha256:…` → `pkg:oci/web@sha256%3A…?repository_url=registry.example.com/shop/web&tag=1.5.0` */
export function imagePurl (ref: string): string {
  const { repo, tag, digest } = parseImage(ref)
  const name = repo.slice(repo.lastIndexOf('/') + 1).toLowerCase()
  const q = [`repository_url=${repo}`]
  if (tag !== undefined) q.push(`tag=${encodeURIComponent(tag)}`)
  return `pkg:oci/${encodeURIComponent(name)}${digest !== undefined ? `@${encodeURIComponent(digest)}` : ''}?${q.join('&')}`
}

/** The CDEvent a workload change maps to, or undefined (not a workload, not finished well, no image known). */
export function cdevent (change: Change): { type: string; body: Record<string, unknown> } | undefined {
  if (!WORKLOAD_KINDS.has(change.object.kind)) return undefined
  const ok = change.outcome === 'succeeded' || change.outcome === 'applied'
  const image = change.details.images?.find(i => i.to !== null)?.to ?? undefined
  let predicate: keyof typeof CDEVENT_TYPES
  if (change.type === 'delete') predicate = 'removed'
  else if (change.type === 'create' && ok && image !== undefined) predicate = 'deployed'
  else if ((change.type === 'rollout' || change.type === 'restart') && ok && image !== undefined) predicate = 'upgraded'
  else return undefined
  const source = eventSource(change.cluster)
  const namespace = change.object.namespace
  const environment = { id: change.cluster !== undefined ? `${change.cluster}/${namespace}` : namespace, source }
  const content: Record<string, unknown> = { environment }
  if (predicate !== 'removed' && image !== undefined) content.artifactId = imagePurl(image)
  return {
    type: CDEVENT_TYPES[predicate],
    body: {
      context: { version: CDEVENTS_SPEC_VERSION, id: change.id, source, type: CDEVENT_TYPES[predicate], timestamp: change.endedAt },
      subject: { id: eventSubject(change), source, type: 'service', content },
      customData: { kubechanges: { changeId: change.id, type: change.type, outcome: change.outcome, actor: change.actor?.username ?? null } },
      customDataContentType: 'application/json'
    }
  }
}

function cdeventEvent (change: Change): CloudEvent<unknown> | undefined {
  const cd = cdevent(change)
  if (cd === undefined) return undefined
  return new (sdk().CloudEvent)<unknown>({
    specversion: '1.0',
    id: change.id,
    type: cd.type,
    source: eventSource(change.cluster),
    subject: eventSubject(change),
    time: change.endedAt,
    datacontenttype: 'application/json',
    data: cd.body,
    ...extensions(change.outcome, change.cluster)
  })
}

// ---------------------------------------------------------------- the sink

export function createCloudEventsSink (opts: CloudEventsSinkOptions): Sink {
  const url = sinkUrl('cloudevents', opts.name, opts.url)
  const encode = opts.mode === 'structured' ? sdk().HTTP.structured : sdk().HTTP.binary
  const send = async (event: CloudEvent<unknown>): Promise<void> => {
    const message = encode(event)
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(message.headers)) if (v !== undefined) headers[k] = String(v)
    await post({
      label: `cloudevents sink "${opts.name}"`,
      url,
      timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      body: typeof message.body === 'string' ? message.body : JSON.stringify(message.body),
      headers: { ...headers, ...(opts.headers ?? {}) }
    })
  }
  return {
    name: opts.name,
    type: 'cloudevents',
    async deliver (change: Change): Promise<void> {
      await send((opts.format === 'cdevents' ? cdeventEvent(change) : undefined) ?? changeEvent(change))
    },
    async deliverDigest (digest: Digest): Promise<void> {
      await send(digestEvent(digest))
    },
    async close (): Promise<void> {}
  }
}
