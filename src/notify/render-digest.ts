// A digest as people read it: one subject, one list with each change's
// outcome, a link per change. Same rules as render.ts: everything printed
// comes from the Changes, HTML is escaped.

import type { Digest } from './digest.js'
import { digestLines, digestTitle } from './digest.js'
import { changeLink, escapeHtml, escapeSlack, subjectTag, truncate, WEBHOOK_API_VERSION } from './render.js'
import type { SlackPayload } from './render.js'

const LIST_MAX = 200

/** `[prod-eu] alice restarted 20 Deployments in storm: 19 succeeded, 1 failed` */
export function renderDigestSubject (d: Digest): string {
  return truncate(`${subjectTag(d.cluster)} ${digestTitle(d)}`, 250)
}

export function renderDigestText (d: Digest, externalURL?: string): string {
  const out = [digestTitle(d), '', `${d.count} changes from ${d.windowStart} to ${d.windowEnd}${d.cluster !== undefined ? ` in cluster ${d.cluster}` : ''}:`, '']
  const lines = digestLines(d)
  d.changes.slice(0, LIST_MAX).forEach((c, i) => {
    const link = changeLink(externalURL, c.id)
    out.push(`  ${lines[i]}${link ? `  ${link}` : ''}`)
  })
  if (d.changes.length > LIST_MAX) out.push(`  … and ${d.changes.length - LIST_MAX} more`)
  out.push('', `Digest ${d.id}`, '')
  return out.join('\n')
}

export function renderDigestHtml (d: Digest, externalURL?: string): string {
  const lines = digestLines(d)
  const items = d.changes.slice(0, LIST_MAX).map((c, i) => {
    const link = changeLink(externalURL, c.id)
    return `<li>${link ? `<a href="${escapeHtml(link)}">${escapeHtml(lines[i])}</a>` : escapeHtml(lines[i])}</li>`
  })
  if (d.changes.length > LIST_MAX) items.push(`<li>… and ${d.changes.length - LIST_MAX} more</li>`)
  return [
    '<!doctype html><html><head><meta charset="utf-8"></head>',
    '<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#222">',
    `<h2 style="font-size:16px">${escapeHtml(digestTitle(d))}</h2>`,
    `<ul>${items.join('')}</ul>`,
    `<p style="color:#888;font-size:12px">kubechanges · digest ${escapeHtml(d.id)}</p>`,
    '</body></html>'
  ].join('\n')
}

export interface WebhookDigestPayload {
  apiVersion: typeof WEBHOOK_API_VERSION
  kind: 'Digest'
  digest: Digest
}

export function webhookDigestPayload (d: Digest): WebhookDigestPayload {
  return { apiVersion: WEBHOOK_API_VERSION, kind: 'Digest', digest: d }
}

export function slackDigestPayload (d: Digest, externalURL?: string): SlackPayload {
  const title = `${d.cluster !== undefined ? `${subjectTag(d.cluster)} ` : ''}${digestTitle(d)}`
  const lines = digestLines(d)
  const list = d.changes.slice(0, 50).map((c, i) => {
    const link = changeLink(externalURL, c.id)
    return link ? `• <${link}|${escapeSlack(lines[i])}>` : `• ${escapeSlack(lines[i])}`
  })
  if (d.changes.length > 50) list.push(`… and ${d.changes.length - 50} more`)
  return {
    text: title,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: truncate(title, 150), emoji: false } },
      { type: 'section', text: { type: 'mrkdwn', text: truncate(list.join('\n'), 2900) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: escapeSlack(d.id) }] }
    ]
  }
}
