// One HTTP POST for the HTTP sinks (webhook, Teams, CloudEvents). The URL (a
// Slack or Teams webhook URL is itself a secret) and header values (tokens)
// never appear in errors: only the sink's name and the HTTP status or the
// network error code.

import { errors } from '../errors.js'

export const DEFAULT_TIMEOUT_MS = 10_000

interface ErrorWithCause { name?: unknown; message?: unknown; code?: unknown; cause?: unknown }

function networkReason (err: unknown): string {
  const e = (err ?? {}) as ErrorWithCause
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timed out'
  const cause = (e.cause ?? {}) as ErrorWithCause
  const code = typeof cause.code === 'string' ? cause.code : typeof e.code === 'string' ? e.code : undefined
  if (code) return `request failed (${code})`
  return 'request failed'
}

/** Parses and checks a sink's URL at start (BAD_CONFIG naming the sink, never the URL). */
export function sinkUrl (kind: string, name: string, raw: string): URL {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw errors.BAD_CONFIG(`${kind} sink "${name}": url is not a valid URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw errors.BAD_CONFIG(`${kind} sink "${name}": url must be http: or https:`)
  }
  return url
}

export interface PostOptions {
  /** `webhook sink "hook"`: how errors name the sink. */
  label: string
  url: URL
  headers: Record<string, string>
  body: string
  timeoutMs: number
}

/** One attempt; resolves on a 2xx, rejects with errors.DELIVERY_FAILED. Redirects are not followed. */
export async function post (opts: PostOptions): Promise<void> {
  let res: Response
  try {
    res = await fetch(opts.url, {
      method: 'POST',
      headers: { 'user-agent': 'kubechanges', ...opts.headers },
      body: opts.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs)
    })
  } catch (err) {
    throw errors.DELIVERY_FAILED(`${opts.label}: ${networkReason(err)}`)
  }
  // Drain the body so the connection can be reused; its content is not reported.
  try { await res.arrayBuffer() } catch { /* ignored */ }
  if (res.status < 200 || res.status > 299) {
    throw errors.DELIVERY_FAILED(`${opts.label}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`)
  }
}

export interface JsonSinkTarget {
  label: string
  url: URL
  timeoutMs?: number
  headers?: Record<string, string>
}

/** POSTs a JSON document; `id` (a change or digest id) goes in x-kubechanges-change-id. */
export async function postJson (target: JsonSinkTarget, id: string, payload: unknown, extra: Record<string, string> = {}): Promise<void> {
  await post({
    label: target.label,
    url: target.url,
    timeoutMs: target.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    body: JSON.stringify(payload),
    headers: { 'content-type': 'application/json; charset=utf-8', 'x-kubechanges-change-id': id, ...extra, ...(target.headers ?? {}) }
  })
}
