// Microsoft Teams sink: posts to a Teams "Workflows" webhook (the Office 365
// connectors are being retired) a message with one Adaptive Card 1.4 naming
// the object, type, outcome, actor, cluster, the key details and a link. A
// `text` template replaces the card's title.

import type { Change } from '../model.js'
import type { Digest } from './digest.js'
import { digestLines, digestTitle, outcomesPhrase } from './digest.js'
import { postJson, sinkUrl } from './http-post.js'
import { changeLink, endpointLines, formatDuration, imageLines, objectLabel, oneLine, OUTCOME_WORDS, renderTitle, subjectTag, truncate } from './render.js'
import type { Sink } from './sink.js'
import { renderPart, type CompiledTemplates } from './template.js'

export interface TeamsSinkOptions {
  name: string
  url: string
  headers?: Record<string, string>
  timeoutMs?: number
  externalURL?: string
  templates?: CompiledTemplates
}

export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive'
const SCHEMA = 'http://adaptivecards.io/schemas/adaptive-card.json'
const FACTS_MAX = 50

type Block = Record<string, unknown>

export interface TeamsPayload {
  type: 'message'
  attachments: Array<{ contentType: typeof ADAPTIVE_CARD_CONTENT_TYPE; contentUrl: null; content: Block }>
}

function color (outcome: string): string {
  if (outcome === 'failed' || outcome === 'timed-out') return 'Attention'
  if (outcome === 'succeeded') return 'Good'
  return 'Default'
}

function card (body: Block[], link: string | undefined, linkTitle: string): TeamsPayload {
  const content: Block = { $schema: SCHEMA, type: 'AdaptiveCard', version: '1.4', body, msteams: { width: 'Full' } }
  if (link !== undefined) content.actions = [{ type: 'Action.OpenUrl', title: linkTitle, url: link }]
  return { type: 'message', attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, contentUrl: null, content }] }
}

const fact = (title: string, value: string): Block => ({ title, value: truncate(oneLine(value), 500) })

/** The Workflows message for one change. `title` (a template's output) replaces the built-in title. */
export function teamsPayload (change: Change, link?: string, title?: string): TeamsPayload {
  const facts: Block[] = []
  if (change.cluster !== undefined) facts.push(fact('Cluster', change.cluster))
  facts.push(
    fact('Object', `${change.object.kind} ${objectLabel(change)}`),
    fact('Change', change.type),
    fact('Outcome', OUTCOME_WORDS[change.outcome] ?? change.outcome),
    fact('Actor', change.actor?.username ?? 'unknown'),
    fact('Duration', formatDuration(change.durationMs))
  )
  if (change.details.revision !== undefined) facts.push(fact('Revision', String(change.details.revision)))
  if (change.details.reason) facts.push(fact('Reason', change.details.reason))
  for (const l of [...imageLines(change), ...endpointLines(change)].slice(0, 10)) facts.push(fact('Detail', l))
  const heading = title ?? `${change.cluster !== undefined ? `${subjectTag(change.cluster)} ` : ''}${renderTitle(change)}`
  const body: Block[] = [
    { type: 'TextBlock', text: truncate(oneLine(heading), 300), weight: 'Bolder', size: 'Medium', wrap: true, color: color(change.outcome) }
  ]
  if (change.summary) body.push({ type: 'TextBlock', text: truncate(oneLine(change.summary), 2000), wrap: true })
  body.push({ type: 'FactSet', facts })
  body.push({ type: 'TextBlock', text: `Change ${change.id}`, isSubtle: true, size: 'Small', wrap: true })
  return card(body, link, 'View change')
}

/** The Workflows message for a digest: the headline, then one fact per change. */
export function teamsDigestPayload (d: Digest, externalURL?: string): TeamsPayload {
  const lines = digestLines(d)
  const facts = d.changes.slice(0, FACTS_MAX).map((c, i) => fact(objectLabel(c), lines[i].slice(lines[i].indexOf(': ') + 2)))
  const body: Block[] = [
    { type: 'TextBlock', text: truncate(`${d.cluster !== undefined ? `${subjectTag(d.cluster)} ` : ''}${digestTitle(d)}`, 300), weight: 'Bolder', size: 'Medium', wrap: true, color: (d.outcomes.failed ?? 0) + (d.outcomes['timed-out'] ?? 0) > 0 ? 'Attention' : 'Good' },
    { type: 'TextBlock', text: `${d.count} changes: ${outcomesPhrase(d)}`, wrap: true },
    { type: 'FactSet', facts }
  ]
  if (d.changes.length > FACTS_MAX) body.push({ type: 'TextBlock', text: `… and ${d.changes.length - FACTS_MAX} more`, wrap: true })
  body.push({ type: 'TextBlock', text: `Digest ${d.id}`, isSubtle: true, size: 'Small', wrap: true })
  const link = externalURL !== undefined ? `${externalURL.replace(/\/+$/, '')}/changes?type=${encodeURIComponent(d.type)}${d.actor ? `&user=${encodeURIComponent(d.actor)}` : ''}&since=${encodeURIComponent(d.windowStart)}` : undefined
  return card(body, link, 'View changes')
}

export function createTeamsSink (opts: TeamsSinkOptions): Sink {
  const url = sinkUrl('teams', opts.name, opts.url)
  const target = { label: `teams sink "${opts.name}"`, url, timeoutMs: opts.timeoutMs, headers: opts.headers }
  const send = (id: string, payload: TeamsPayload): Promise<void> => postJson(target, id, payload)
  return {
    name: opts.name,
    type: 'teams',
    async deliver (change: Change): Promise<void> {
      const link = changeLink(opts.externalURL, change.id)
      const title = renderPart(opts.templates, 'text', { change, cluster: change.cluster ?? '', link: link ?? '' })
      await send(change.id, teamsPayload(change, link, title))
    },
    async deliverDigest (digest: Digest): Promise<void> {
      await send(digest.id, teamsDigestPayload(digest, opts.externalURL))
    },
    async close (): Promise<void> {}
  }
}
