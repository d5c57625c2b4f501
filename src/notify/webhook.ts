// Webhook sink: POSTs the versioned Change document (or a Slack-compatible
// message) with the configured headers. A `text` template sets the message
// text (Slack's text and header; a `text` field in the JSON document).

import type { Change } from '../model.js'
import type { Digest } from './digest.js'
import { postJson, sinkUrl } from './http-post.js'
import { changeLink, slackPayload, webhookPayload } from './render.js'
import { slackDigestPayload, webhookDigestPayload } from './render-digest.js'
import type { Sink } from './sink.js'
import { renderPart, type CompiledTemplates } from './template.js'

export type WebhookFormat = 'json' | 'slack'

export interface WebhookSinkOptions {
  name: string
  url: string
  format?: WebhookFormat
  headers?: Record<string, string>
  timeoutMs?: number
  externalURL?: string
  templates?: CompiledTemplates
}

export function createWebhookSink (opts: WebhookSinkOptions): Sink {
  const url = sinkUrl('webhook', opts.name, opts.url)
  const format: WebhookFormat = opts.format ?? 'json'
  const target = { label: `webhook sink "${opts.name}"`, url, timeoutMs: opts.timeoutMs, headers: opts.headers }
  const send = (id: string, payload: unknown): Promise<void> => postJson(target, id, payload, { 'idempotency-key': id })

  return {
    name: opts.name,
    type: 'webhook',
    async deliver (change: Change): Promise<void> {
      const link = changeLink(opts.externalURL, change.id)
      const text = renderPart(opts.templates, 'text', { change, cluster: change.cluster ?? '', link: link ?? '' })
      if (format === 'slack') {
        await send(change.id, slackPayload(change, link, text))
      } else {
        await send(change.id, text === undefined ? webhookPayload(change) : { ...webhookPayload(change), text })
      }
    },
    async deliverDigest (digest: Digest): Promise<void> {
      await send(digest.id, format === 'slack' ? slackDigestPayload(digest, opts.externalURL) : webhookDigestPayload(digest))
    },
    async close (): Promise<void> {}
  }
}
