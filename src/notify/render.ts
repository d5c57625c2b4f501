// Pure rendering of a Change into what a person reads: a subject to triage
// from, a plain-text and an HTML body, a Slack message, a webhook document.
// Everything printed comes from the Change itself; the Change never carries
// Secret or ConfigMap values (only key names), so neither does any message.

import type { Change, ChangeType, FieldDiff, ImageChange, Outcome } from '../model.js'
import { formatDuration } from '../detectors/summary.js'

export const WEBHOOK_API_VERSION = 'kubechanges.io/v1'

const SUBJECT_MAX = 250
const VALUE_MAX_TEXT = 120
const VALUE_MAX_HTML = 500
const DIFF_MAX_ROWS = 100
const TIMELINE_MAX_ROWS = 50

// ---------------------------------------------------------------- helpers

/** `${externalURL}/changes/${id}`, or undefined when no external URL is configured. */
export function changeLink (externalURL: string | undefined, changeId: string): string | undefined {
  if (externalURL === undefined || externalURL.trim() === '') return undefined
  return `${externalURL.trim().replace(/\/+$/, '')}/changes/${encodeURIComponent(changeId)}`
}

export function escapeHtml (s: string): string {
  return s.replace(/[&<>"']/g, c => {
    switch (c) {
      case '&': return '&amp;'
      case '<': return '&lt;'
      case '>': return '&gt;'
      case '"': return '&quot;'
      default: return '&#39;'
    }
  })
}

export function escapeSlack (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

export function oneLine (s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').replace(/ {2,}/g, ' ').trim()
}

export function truncate (s: string, max: number): string {
  if (s.length <= max) return s
  return s.slice(0, Math.max(0, max - 1)) + '…'
}

export function objectLabel (change: Pick<Change, 'object'>): string {
  const { namespace, name } = change.object
  return namespace ? `${namespace}/${name}` : name
}

function actorName (change: Change): string {
  return change.actor?.username ?? 'unknown'
}

export const OUTCOME_WORDS: Record<Outcome, string> = {
  applied: 'applied',
  succeeded: 'succeeded',
  failed: 'failed',
  'timed-out': 'timed out',
  open: 'in progress'
}

// One duration format everywhere: the summary line, the subject and the body agree.
export { formatDuration }

export interface ImageRef { repo: string; tag?: string; digest?: string }

/** `registry/path/name:tag@digest` split into its parts. */
export function parseImage (ref: string): ImageRef {
  let rest = ref
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) { digest = rest.slice(at + 1); rest = rest.slice(0, at) }
  let tag: string | undefined
  const slash = rest.lastIndexOf('/')
  const colon = rest.lastIndexOf(':')
  if (colon > slash) { tag = rest.slice(colon + 1); rest = rest.slice(0, colon) }
  return { repo: rest, tag, digest }
}

function shortDigest (d: string): string {
  const i = d.indexOf(':')
  return i >= 0 ? `${d.slice(0, i + 1)}${d.slice(i + 1, i + 13)}` : d.slice(0, 12)
}

function shortVersion (p: ImageRef): string {
  if (p.tag) return p.tag
  if (p.digest) return `@${shortDigest(p.digest)}`
  return 'latest'
}

function baseName (repo: string): string {
  const i = repo.lastIndexOf('/')
  return i >= 0 ? repo.slice(i + 1) : repo
}

/** `web 1.4.0 → 1.5.0` (short tags; repository names only when the tags alone would not differ). */
export function imagePhrase (img: ImageChange): string {
  const from = img.from === null ? null : parseImage(img.from)
  const to = img.to === null ? null : parseImage(img.to)
  if (from && to) {
    let f = shortVersion(from)
    let t = shortVersion(to)
    if (f === t) {
      f = `${baseName(from.repo)}:${f}`
      t = `${baseName(to.repo)}:${t}`
      if (f === t) { f = img.from as string; t = img.to as string }
    }
    return `${img.container} ${f} → ${t}`
  }
  if (to) return `+${img.container} ${shortVersion(to)}`
  if (from) return `−${img.container} ${shortVersion(from)}`
  return img.container
}

function imagesPhrase (images: ImageChange[] | undefined): string {
  if (!images || images.length === 0) return ''
  if (images.length > 3) return `${images.length} images changed`
  return images.map(imagePhrase).join(', ')
}

function endpointsPhrase (change: Change): string {
  const eps = change.details.endpoints ?? []
  const added = eps.flatMap(e => e.added)
  const removed = eps.flatMap(e => e.removed)
  if (added.length + removed.length === 0) return ''
  if (added.length + removed.length <= 4) {
    return [...added.map(a => `+${a}`), ...removed.map(r => `−${r}`)].join(' ')
  }
  return `+${added.length} −${removed.length} addresses`
}

function formatValue (v: unknown): string {
  if (v === undefined) return '(unset)'
  if (typeof v === 'string') {
    // eslint-disable-next-line no-control-regex
    return /[\u0000-\u001f\u007f]/.test(v) ? JSON.stringify(v) : v
  }
  try {
    const s = JSON.stringify(v)
    return s === undefined ? String(v) : s
  } catch {
    return String(v)
  }
}

function isShortScalar (v: unknown): boolean {
  return v === undefined || v === null || typeof v === 'number' || typeof v === 'boolean' ||
    (typeof v === 'string' && v.length <= 40)
}

function diffPhrase (diff: FieldDiff[] | undefined): string {
  if (!diff || diff.length === 0) return ''
  if (diff.length === 1 && isShortScalar(diff[0].from) && isShortScalar(diff[0].to)) {
    const d = diff[0]
    return `${d.path} ${formatValue(d.from)} → ${formatValue(d.to)}`
  }
  if (diff.length <= 3) return diff.map(d => d.path).join(', ')
  return `${diff.length} fields`
}

function keysPhrase (change: Change): string {
  const k = change.details.keys
  if (!k) return ''
  const parts = [...k.added.map(x => `+${x}`), ...k.changed.map(x => `~${x}`), ...k.removed.map(x => `−${x}`)]
  if (parts.length === 0) return ''
  if (parts.length > 4) return `${parts.length} keys changed`
  return `keys ${parts.join(' ')}`
}

function replicasPhrase (change: Change): string {
  const r = change.details.replicas
  if (!r) return ''
  if (r.from !== undefined && r.to !== undefined) return `${r.from} → ${r.to} replicas`
  if (r.to !== undefined) return `${r.to} replicas`
  if (r.desired !== undefined) return `${r.desired} replicas`
  return ''
}

function failureNote (change: Change): string {
  if ((change.outcome === 'failed' || change.outcome === 'timed-out') && change.details.reason) {
    return ` (${change.details.reason})`
  }
  return ''
}

const GENERIC_VERBS: Partial<Record<ChangeType, string>> = { create: 'created', update: 'updated', delete: 'deleted' }

/** The head and the detail of the subject, without the `[kubechanges]` tag and the actor. */
function headline (change: Change): { head: string; detail: string } {
  const obj = objectLabel(change)
  const ow = OUTCOME_WORDS[change.outcome] ?? String(change.outcome)
  const t = change.type
  switch (t) {
    case 'rollout':
    case 'restart': {
      let detail = imagesPhrase(change.details.images)
      if (!detail && change.details.revision !== undefined) detail = `revision ${change.details.revision}`
      return { head: `${obj} ${t} ${ow}`, detail: detail + failureNote(change) }
    }
    case 'scale':
      return { head: `${obj} scale ${ow}`, detail: replicasPhrase(change) + failureNote(change) }
    case 'job': {
      let detail = change.details.reason ?? ''
      if ((change.outcome === 'succeeded' || change.outcome === 'failed') && change.durationMs > 0) {
        detail = `${detail}${detail ? ' ' : ''}after ${formatDuration(change.durationMs)}`
      }
      return { head: `${obj} job ${ow}`, detail }
    }
    case 'endpoints': {
      const suffix = change.outcome === 'applied' || change.outcome === 'succeeded' ? '' : ` (${ow})`
      return { head: `${obj} endpoints changed${suffix}`, detail: endpointsPhrase(change) }
    }
    default: {
      const verb = GENERIC_VERBS[t] ?? String(t)
      const suffix = change.outcome === 'applied' || change.outcome === 'succeeded' ? '' : ` (${ow})`
      const detail = t === 'update' ? (keysPhrase(change) || diffPhrase(change.details.diff)) : ''
      return { head: `${obj} ${change.object.kind} ${verb}${suffix}`, detail }
    }
  }
}

/** A one-line title without the `[kubechanges]` tag: `shop/web rollout succeeded: web 1.4.0 → 1.5.0 by alice`. */
export function renderTitle (change: Change): string {
  const { head, detail } = headline(change)
  return truncate(oneLine(`${head}${detail ? `: ${detail}` : ''} by ${actorName(change)}`), SUBJECT_MAX - 14)
}

/** `[kubechanges]`, or `[<cluster>]` when the cluster is named: the tag every subject starts with. */
export function subjectTag (cluster: string | undefined): string {
  return `[${cluster ?? 'kubechanges'}]`
}

/** `[kubechanges] shop/web rollout succeeded: web 1.4.0 → 1.5.0 by alice` (`[prod-eu] …` with a cluster) */
export function renderSubject (change: Change): string {
  return `${subjectTag(change.cluster)} ${renderTitle(change)}`
}

/** Deterministic Message-ID: `<kubechanges.{change.id}@{domain}>` (characters a msg-id can't hold are =HH-encoded). */
export function messageIdFor (change: Pick<Change, 'id'>, domain: string): string {
  const id = Array.from(Buffer.from(change.id, 'utf8'))
    .map(b => /[A-Za-z0-9_-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`)
    .join('')
  const dom = domain.replace(/[^A-Za-z0-9.-]/g, '') || 'kubechanges.local'
  return `<kubechanges.${id}@${dom}>`
}

// ---------------------------------------------------------------- sections

interface Row { label: string; value: string }

function factRows (change: Change): Row[] {
  const rows: Row[] = []
  if (change.cluster !== undefined) rows.push({ label: 'Cluster', value: change.cluster })
  rows.push(
    { label: 'Object', value: `${change.object.kind} ${objectLabel(change)}` },
    { label: 'Change', value: `${change.type}, ${OUTCOME_WORDS[change.outcome] ?? change.outcome}` }
  )
  const actor = change.actor
  rows.push({
    label: 'Actor',
    value: actor ? `${actor.username}${actor.groups.length ? ` (groups: ${actor.groups.join(', ')})` : ''}` : 'unknown'
  })
  rows.push({ label: 'Started', value: change.startedAt })
  rows.push({ label: 'Ended', value: change.endedAt })
  rows.push({ label: 'Duration', value: formatDuration(change.durationMs) })
  const d = change.details
  if (d.revision !== undefined) rows.push({ label: 'Revision', value: String(d.revision) })
  if (d.reason) rows.push({ label: 'Reason', value: d.reason })
  if (d.message) rows.push({ label: 'Message', value: d.message })
  const r = d.replicas
  if (r) {
    const parts: string[] = []
    if (r.from !== undefined || r.to !== undefined) parts.push(`${r.from ?? '?'} → ${r.to ?? '?'}`)
    for (const k of ['desired', 'ready', 'available', 'updated'] as const) {
      if (r[k] !== undefined) parts.push(`${k} ${r[k]}`)
    }
    if (parts.length) rows.push({ label: 'Replicas', value: parts.join(', ') })
  }
  const counts = Object.entries(change.counts).filter(([, n]) => (n ?? 0) > 0).map(([s, n]) => `${s} ${n}`)
  if (counts.length) rows.push({ label: 'Observations', value: counts.join(', ') })
  rows.push({ label: 'Change ID', value: change.id })
  return rows
}

export function imageLines (change: Pick<Change, 'details'>): string[] {
  return (change.details.images ?? []).map(i => `${i.container}: ${i.from ?? '(none)'} → ${i.to ?? '(removed)'}`)
}

export function endpointLines (change: Pick<Change, 'details'>): string[] {
  return (change.details.endpoints ?? []).map(e => {
    const parts = [...e.added.map(a => `+${a}`), ...e.removed.map(r => `−${r}`)]
    return `${e.service}: ${parts.join(' ') || 'no net change'}`
  })
}

function keyLines (change: Change): string[] {
  const k = change.details.keys
  if (!k) return []
  const out: string[] = []
  if (k.added.length) out.push(`added: ${k.added.join(', ')}`)
  if (k.changed.length) out.push(`changed: ${k.changed.join(', ')}`)
  if (k.removed.length) out.push(`removed: ${k.removed.join(', ')}`)
  return out
}

function supersededLines (change: Change): string[] {
  return (change.details.superseded ?? []).map(s => {
    const parts: string[] = []
    if (s.revision !== undefined) parts.push(`revision ${s.revision}`)
    const imgs = imagesPhrase(s.images)
    if (imgs) parts.push(imgs)
    parts.push(`by ${s.actor ?? 'unknown'}`)
    return parts.join(' ')
  })
}

function eventLines (change: Change): string[] {
  return (change.details.events ?? []).map(e => `${e.reason}${e.count > 1 ? ` (×${e.count})` : ''}: ${e.message}`)
}

function timelineCells (change: Change): string[][] {
  return change.timeline.slice(0, TIMELINE_MAX_ROWS).map(e => [
    e.at,
    e.source,
    e.action,
    `${e.kind} ${e.name}${e.subresource ? `/${e.subresource}` : ''}`,
    e.user ?? '',
    e.note ?? ''
  ])
}

function diffCells (change: Change, max: number): string[][] {
  return (change.details.diff ?? []).slice(0, DIFF_MAX_ROWS).map(d => [
    d.path,
    truncate(formatValue(d.from), max),
    truncate(formatValue(d.to), max)
  ])
}

function textTable (header: string[], rows: string[][]): string[] {
  const all = [header, ...rows].map(r => r.map(c => oneLine(c)))
  const widths = header.map((_, i) => Math.min(60, Math.max(...all.map(r => r[i].length))))
  return all.map(r => '  ' + r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i])).join('  ').trimEnd())
}

// ---------------------------------------------------------------- bodies

/** The plain-text body. `link` is the full URL of the change (see changeLink). */
export function renderText (change: Change, link?: string): string {
  const out: string[] = []
  out.push(renderTitle(change))
  out.push('')
  out.push(oneLine(change.summary))
  out.push('')
  const facts = factRows(change)
  const w = Math.max(...facts.map(f => f.label.length)) + 1
  for (const f of facts) out.push(`${(f.label + ':').padEnd(w + 1)}${oneLine(f.value)}`)

  const section = (title: string, lines: string[]): void => {
    if (lines.length === 0) return
    out.push('', title)
    for (const l of lines) out.push(l.startsWith('  ') ? l : `  ${oneLine(l)}`)
  }
  section('Images', imageLines(change))
  section('Endpoints', endpointLines(change))
  section('Keys (names only)', keyLines(change))
  const diff = change.details.diff ?? []
  if (diff.length) {
    const lines = textTable(['FIELD', 'FROM', 'TO'], diffCells(change, VALUE_MAX_TEXT))
    if (diff.length > DIFF_MAX_ROWS) lines.push(`  … and ${diff.length - DIFF_MAX_ROWS} more`)
    section('Changes', lines)
  }
  section('Superseded', supersededLines(change))
  section('Events', eventLines(change))
  if (change.timeline.length) {
    const lines = textTable(['AT', 'SOURCE', 'ACTION', 'OBJECT', 'USER', 'NOTE'], timelineCells(change))
    if (change.timeline.length > TIMELINE_MAX_ROWS) lines.push(`  … and ${change.timeline.length - TIMELINE_MAX_ROWS} more`)
    section('Timeline', lines)
  }
  if (link) out.push('', `View this change: ${link}`)
  out.push('')
  return out.join('\n')
}

const CELL = 'style="padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top"'
const MONO = 'font-family:ui-monospace,Menlo,Consolas,monospace'

function htmlTable (header: string[], rows: string[][], mono: boolean[] = []): string {
  const th = header.map(h => `<th ${CELL}>${escapeHtml(h)}</th>`).join('')
  const body = rows.map(r => '<tr>' + r.map((c, i) =>
    `<td ${CELL}>${mono[i] ? `<code style="${MONO}">${escapeHtml(c)}</code>` : escapeHtml(c)}</td>`).join('') + '</tr>').join('\n')
  return `<table style="border-collapse:collapse;font-size:13px"><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`
}

function htmlList (items: string[]): string {
  return `<ul>${items.map(i => `<li>${escapeHtml(i)}</li>`).join('')}</ul>`
}

/** The HTML body; every value from the Change is HTML-escaped. */
export function renderHtml (change: Change, link?: string): string {
  const parts: string[] = []
  parts.push('<!doctype html><html><head><meta charset="utf-8"></head>')
  parts.push('<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#222">')
  parts.push(`<h2 style="font-size:16px">${escapeHtml(renderTitle(change))}</h2>`)
  parts.push(`<p>${escapeHtml(change.summary)}</p>`)
  const facts = factRows(change)
  parts.push('<table style="border-collapse:collapse;font-size:13px">' + facts.map(f =>
    `<tr><th ${CELL}>${escapeHtml(f.label)}</th><td ${CELL}>${escapeHtml(f.value)}</td></tr>`).join('') + '</table>')

  const section = (title: string, html: string): void => {
    parts.push(`<h3 style="font-size:14px">${escapeHtml(title)}</h3>`, html)
  }
  const images = change.details.images ?? []
  if (images.length) {
    section('Images', htmlTable(['Container', 'From', 'To'],
      images.map(i => [i.container, i.from ?? '(none)', i.to ?? '(removed)']), [false, true, true]))
  }
  const eps = change.details.endpoints ?? []
  if (eps.length) {
    section('Endpoints', htmlTable(['Service', 'Added', 'Removed'],
      eps.map(e => [e.service, e.added.join(', '), e.removed.join(', ')]), [false, true, true]))
  }
  const keys = keyLines(change)
  if (keys.length) section('Keys (names only)', htmlList(keys))
  const diff = change.details.diff ?? []
  if (diff.length) {
    let html = htmlTable(['Field', 'From', 'To'], diffCells(change, VALUE_MAX_HTML), [true, true, true])
    if (diff.length > DIFF_MAX_ROWS) html += `<p>… and ${diff.length - DIFF_MAX_ROWS} more</p>`
    section('Changes', html)
  }
  const sup = supersededLines(change)
  if (sup.length) section('Superseded', htmlList(sup))
  const events = eventLines(change)
  if (events.length) section('Events', htmlList(events))
  if (change.timeline.length) {
    let html = htmlTable(['At', 'Source', 'Action', 'Object', 'User', 'Note'], timelineCells(change))
    if (change.timeline.length > TIMELINE_MAX_ROWS) html += `<p>… and ${change.timeline.length - TIMELINE_MAX_ROWS} more</p>`
    section('Timeline', html)
  }
  if (link) parts.push(`<p><a href="${escapeHtml(link)}">View this change</a></p>`)
  parts.push(`<p style="color:#888;font-size:12px">kubechanges · change ${escapeHtml(change.id)}</p>`)
  parts.push('</body></html>')
  return parts.join('\n')
}

// ---------------------------------------------------------------- machine formats

export interface WebhookPayload {
  apiVersion: typeof WEBHOOK_API_VERSION
  kind: 'Change'
  change: Change
}

/** The documented, versioned webhook document. */
export function webhookPayload (change: Change): WebhookPayload {
  return { apiVersion: WEBHOOK_API_VERSION, kind: 'Change', change }
}

export interface SlackPayload {
  text: string
  blocks: Array<Record<string, unknown>>
}

/**
 * A Slack-compatible message (incoming webhooks): `text` as the fallback and `blocks` for the layout.
 * `text` (a sink template's output) replaces the title.
 */
export function slackPayload (change: Change, link?: string, text?: string): SlackPayload {
  const title = text ?? (change.cluster !== undefined ? `${subjectTag(change.cluster)} ${renderTitle(change)}` : renderTitle(change))
  const blocks: Array<Record<string, unknown>> = []
  blocks.push({ type: 'header', text: { type: 'plain_text', text: truncate(title, 150), emoji: false } })
  if (change.summary) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(escapeSlack(oneLine(change.summary)), 2900) } })
  }
  const field = (label: string, value: string): Record<string, unknown> =>
    ({ type: 'mrkdwn', text: truncate(`*${label}*\n${escapeSlack(oneLine(value))}`, 1900) })
  const fields = [
    ...(change.cluster !== undefined ? [field('Cluster', change.cluster)] : []),
    field('Object', `${change.object.kind} ${objectLabel(change)}`),
    field('Outcome', `${change.type} ${OUTCOME_WORDS[change.outcome] ?? change.outcome}`),
    field('Actor', actorName(change)),
    field('Duration', formatDuration(change.durationMs))
  ]
  blocks.push({ type: 'section', fields })
  const detailLines = [...imageLines(change), ...endpointLines(change), ...keyLines(change)]
  const diff = change.details.diff ?? []
  if (diff.length) detailLines.push(...textTable(['FIELD', 'FROM', 'TO'], diffCells(change, 60)).map(l => l.slice(2)))
  if (detailLines.length) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: '```' + truncate(escapeSlack(detailLines.join('\n')), 2800) + '```' } })
  }
  const ctx = link ? `<${link}|View change> · ${escapeSlack(change.id)}` : escapeSlack(change.id)
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: ctx }] })
  return { text: title, blocks }
}
