// Webhook sink: POSTs the versioned Change document (or a Slack-compatible
// message) with the configured headers. Header values (tokens) and the URL
// (Slack webhook URLs are secrets) never appear in errors: only the sink's
// name and the HTTP status or network error code.

import { errors } from '../errors.js'
import type { Change } from '../model.js'
import { changeLink, slackPayload, webhookPayload } from './render.js'
import type { Sink } from './sink.js'

export type WebhookFormat = 'json' | 'slack'

export interface WebhookSinkOptions {
  name: string
  url: string
  format?: WebhookFormat
  headers?: Record<string, string>
  timeoutMs?: number
  externalURL?: string
}

const DEFAULT_TIMEOUT_MS = 10_000

interface ErrorWithCause { name?: unknown; message?: unknown; code?: unknown; cause?: unknown }

function networkReason (err: unknown): string {
  const e = (err ?? {}) as ErrorWithCause
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timed out'
  const cause = (e.cause ?? {}) as ErrorWithCause
  const code = typeof cause.code === 'string' ? cause.code : typeof e.code === 'string' ? e.code : undefined
  if (code) return `request failed (${code})`
  return 'request failed'
}

export function createWebhookSink (opts: WebhookSinkOptions): Sink {
  let url: URL
  try {
    url = new URL(opts.url)
  } catch {
    throw errors.BAD_CONFIG(`webhook sink "${opts.name}": url is not a valid URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw errors.BAD_CONFIG(`webhook sink "${opts.name}": url must be http: or https:`)
  }
  const format: WebhookFormat = opts.format ?? 'json'
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const extraHeaders = { ...(opts.headers ?? {}) }

  return {
    name: opts.name,
    type: 'webhook',
    async deliver (change: Change): Promise<void> {
      const link = changeLink(opts.externalURL, change.id)
      const body = JSON.stringify(format === 'slack' ? slackPayload(change, link) : webhookPayload(change))
      let res: Response
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: {
            'user-agent': 'kubechanges',
            'content-type': 'application/json; charset=utf-8',
            'idempotency-key': change.id,
            'x-kubechanges-change-id': change.id,
            ...extraHeaders
          },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs)
        })
      } catch (err) {
        throw errors.DELIVERY_FAILED(`webhook sink "${opts.name}": ${networkReason(err)}`)
      }
      // Drain the body so the connection can be reused; its content is not reported.
      try { await res.arrayBuffer() } catch { /* ignored */ }
      if (res.status < 200 || res.status > 299) {
        throw errors.DELIVERY_FAILED(`webhook sink "${opts.name}": HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`)
      }
    },
    async close (): Promise<void> {}
  }
}
