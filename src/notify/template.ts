// Sink templates in Liquid (liquidjs: no code execution, no file access).
// Everything that can be checked is checked when the config is read: syntax,
// unknown filters (strictFilters) and every variable path against the shape
// of a Change, so `{{ chnage.id }}` or `{{ change.nmae }}` fails at start with
// the sink and the line, never at delivery. At delivery a missing optional
// field (no actor, no images) renders as empty.

import type { Liquid } from 'liquidjs'
import { lazy } from '../lazy.js'
import type { Template } from 'liquidjs'
import { errors } from '../errors.js'
import type { Change } from '../model.js'

export interface TemplateConfig {
  subject?: string
  text?: string
  html?: string
}

export type TemplatePart = keyof TemplateConfig
export const TEMPLATE_PARTS: readonly TemplatePart[] = ['subject', 'text', 'html']

/** What a template sees. */
export interface TemplateScope {
  change: Change
  /** The cluster's name, or '' when unset. */
  cluster: string
  /** The change's page (externalURL/changes/id), or ''. */
  link: string
}

export type CompiledTemplates = Partial<Record<TemplatePart, (scope: TemplateScope) => string>>

// The known shape of the scope: `true` = anything below is accepted (maps,
// lists whose items are checked loosely), a nested object = its keys only.
type Shape = true | { [k: string]: Shape }
const ANY: Shape = true
const CHANGE_SHAPE: Shape = {
  id: ANY,
  cluster: ANY,
  type: ANY,
  outcome: ANY,
  object: { kind: ANY, namespace: ANY, name: ANY, uid: ANY },
  actor: { username: ANY, groups: ANY },
  summary: ANY,
  startedAt: ANY,
  endedAt: ANY,
  durationMs: ANY,
  details: {
    diff: ANY, revision: ANY, images: ANY, replicas: ANY, endpoints: ANY, superseded: ANY,
    reason: ANY, message: ANY, keys: ANY, events: ANY
  },
  counts: ANY,
  auditIDs: ANY,
  timeline: ANY
}
const SCOPE_SHAPE: { [k: string]: Shape } = { change: CHANGE_SHAPE, cluster: ANY, link: ANY }
// Liquid's own names on lists and strings.
const BUILTIN_PROPS = new Set(['size', 'first', 'last'])

function checkPath (segments: Array<string | number | unknown>): string | undefined {
  let shape: Shape = SCOPE_SHAPE
  const seen: string[] = []
  for (const seg of segments) {
    if (shape === true) return undefined
    if (typeof seg !== 'string') return undefined // an index or a computed key: not checkable
    if (BUILTIN_PROPS.has(seg) && seen.length > 0) return undefined
    const next: Shape | undefined = Object.hasOwn(shape, seg) ? shape[seg] : undefined
    if (next === undefined) {
      const where = seen.length === 0 ? 'variable' : `field of ${seen.join('.')}`
      return `unknown ${where} "${seg}" (known: ${Object.keys(shape).join(', ')})`
    }
    seen.push(seg)
    shape = next
  }
  return undefined
}

// Made on the first template: a configuration without templates never loads liquidjs.
const liquid = lazy<typeof import('liquidjs')>('liquidjs')
let engines: { plain: Liquid, escaping: Liquid } | undefined
function engine (part: string): Liquid {
  if (engines === undefined) {
    const { Liquid } = liquid()
    engines = {
      plain: new Liquid({ strictFilters: true, ownPropertyOnly: true, jsTruthy: false }),
      escaping: new Liquid({ strictFilters: true, ownPropertyOnly: true, outputEscape: 'escape' })
    }
  }
  return part === 'html' ? engines.escaping : engines.plain
}

function lineOf (err: unknown): string {
  const m = /line:(\d+)/.exec(String((err as Error)?.message ?? ''))
  return m ? `line ${m[1]}` : 'line ?'
}

/**
 * Parses and checks a sink's templates. `path` names the config key
 * (`notify.sinks[0].template`); errors are BAD_CONFIG naming the sink, the part and the line.
 */
export function compileTemplates (sink: string, path: string, config: TemplateConfig): CompiledTemplates {
  const out: CompiledTemplates = {}
  for (const part of TEMPLATE_PARTS) {
    const src = config[part]
    if (src === undefined) continue
    // HTML output escapes every value (use `| raw` to opt out); subject and text are plain.
    const liq = engine(part)
    const where = `${path}.${part} (sink "${sink}")`
    let tpl: Template[]
    try {
      tpl = liq.parse(src)
    } catch (err) {
      const msg = String((err as Error).message).split('\n')[0].replace(/, line:\d+, col:\d+$/, '')
      throw errors.BAD_CONFIG(`${where}: ${lineOf(err)}: ${msg}`)
    }
    let globals: Record<string, Array<{ segments: unknown[], location?: { row: number } }>> = {}
    try {
      globals = liq.analyzeSync(tpl).globals as unknown as typeof globals
    } catch { /* analysis is a help, not a gate */ }
    for (const uses of Object.values(globals)) {
      for (const v of uses) {
        const problem = checkPath(v.segments)
        if (problem !== undefined) throw errors.BAD_CONFIG(`${where}: line ${v.location?.row ?? '?'}: ${problem}`)
      }
    }
    out[part] = (scope: TemplateScope): string => {
      const s = liq.renderSync(tpl, scope) as string
      return part === 'subject' ? s.replace(/\s+/g, ' ').trim() : s
    }
  }
  return out
}

/** Renders one part, or undefined when the sink has no template for it. */
export function renderPart (templates: CompiledTemplates | undefined, part: TemplatePart, scope: TemplateScope): string | undefined {
  const f = templates?.[part]
  return f === undefined ? undefined : f(scope)
}
