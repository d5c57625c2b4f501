// The `notify` section of the config file (YAML or JSON, already parsed) plus
// the environment, validated at start. Every error names the key path
// (`notify.routes[1].sinks[0]: unknown sink "mail"`) and is errors.BAD_CONFIG;
// no error ever quotes a URL, a password or a header value.
//
// notify:
//   externalURL: https://kubechanges.example.com
//   sinks:
//     - { name: ops-mail, type: email, url: 'smtp://${SMTP_USER}:${SMTP_PASS}@mail:587', from: kc@example.com, to: [ops@example.com] }
//     - { name: chat, type: webhook, url: '${SLACK_WEBHOOK_URL}', format: slack }
//   routes:
//     - match: { namespace: ['shop-*'], type: [rollout, restart] }
//       sinks: [ops-mail, chat]
//   defaultSinks: [ops-mail]
//   delivery: { maxAttempts: 16, initialBackoffMs: 2000, maxBackoffMs: 600000, concurrency: 4, pollMs: 1000 }

import { errors } from '../errors.js'
import { CHANGE_TYPES, OUTCOMES } from '../model.js'
import type { ChangeType, Outcome } from '../model.js'
import { createCloudEventsSink } from './cloudevents.js'
import type { CloudEventsFormat, CloudEventsMode } from './cloudevents.js'
import type { DigestConfig } from './digest.js'
import { createEmailSink, type EmailSinkOptions } from './email.js'
import { createLogSink } from './log.js'
import type { Sink, SinkType } from './sink.js'
import { SINK_TYPES } from './sink.js'
import { createTeamsSink } from './teams.js'
import { compileTemplates, TEMPLATE_PARTS } from './template.js'
import type { TemplateConfig, TemplatePart } from './template.js'
import { createWebhookSink } from './webhook.js'
import type { WebhookFormat } from './webhook.js'

/** What every sink may have: Liquid templates and a digest. */
interface SinkCommon {
  template?: TemplateConfig
  digest?: DigestConfig
}

/** The e-mail sink's own options, as the config file gives them (externalURL is notify-wide). */
export type EmailSinkConfig = Omit<EmailSinkOptions, 'externalURL' | 'templates'> & SinkCommon & { type: 'email' }

interface HttpSinkConfig extends SinkCommon {
  name: string
  url: string
  headers?: Record<string, string>
  timeoutMs?: number
}

export interface WebhookSinkConfig extends HttpSinkConfig {
  type: 'webhook'
  format: WebhookFormat
}

export interface TeamsSinkConfig extends HttpSinkConfig {
  type: 'teams'
}

export interface CloudEventsSinkConfig extends HttpSinkConfig {
  type: 'cloudevents'
  mode: CloudEventsMode
  format: CloudEventsFormat
}

export interface LogSinkConfig extends SinkCommon {
  name: string
  type: 'log'
}

export type SinkConfig = EmailSinkConfig | WebhookSinkConfig | TeamsSinkConfig | CloudEventsSinkConfig | LogSinkConfig

export interface RouteMatch {
  /** Globs (`*`, `?`); a leading `!` excludes. Cluster-scoped objects have namespace ''. */
  namespace?: string[]
  /** Globs on the object name. */
  name?: string[]
  /** Kinds, case-insensitive. */
  kind?: string[]
  type?: ChangeType[]
  outcome?: Outcome[]
  /** Globs on actor.username; a change without actor has username ''. */
  actor?: string[]
}

export interface RouteConfig {
  match: RouteMatch
  sinks: string[]
  /** Recipients replacing the e-mail sinks' own `to` for changes of this route. */
  to?: string[]
  /** Change types this route matches but does not send (e.g. no `scale` mail for kube-system). */
  quietTypes?: ChangeType[]
  /** Collect this route's changes into digests at its sinks (wins over the sinks' own digest). */
  digest?: DigestConfig
}

export interface DeliveryConfig {
  maxAttempts: number
  initialBackoffMs: number
  maxBackoffMs: number
  concurrency: number
  pollMs: number
}

export interface NotifyConfig {
  sinks: SinkConfig[]
  routes: RouteConfig[]
  /** Sinks of the default route: for changes no route matched. */
  defaultSinks: string[]
  externalURL?: string
  delivery: DeliveryConfig
  /** How the sinks came about, for the start-up message. */
  origin: 'config' | 'env' | 'embedded-default'
}

export const DEFAULT_DELIVERY: DeliveryConfig = {
  maxAttempts: 16,
  initialBackoffMs: 2_000,
  maxBackoffMs: 600_000,
  concurrency: 4,
  pollMs: 1_000
}

export const ENV_SMTP_URL = 'KUBECHANGES_SMTP_URL'
export const ENV_MAIL_FROM = 'KUBECHANGES_MAIL_FROM'
export const ENV_MAIL_TO = 'KUBECHANGES_MAIL_TO'
export const ENV_EXTERNAL_URL = 'KUBECHANGES_EXTERNAL_URL'

// ---------------------------------------------------------------- validation helpers

type Obj = Record<string, unknown>

function fail (path: string, msg: string): never {
  throw errors.BAD_CONFIG(`${path}: ${msg}`)
}

function isObj (v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function describe (v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  return typeof v === 'object' ? 'a map' : `a ${typeof v}`
}

function obj (v: unknown, path: string): Obj {
  if (!isObj(v)) fail(path, `must be a map, got ${describe(v)}`)
  return v
}

function onlyKeys (o: Obj, path: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) fail(`${path}.${k}`, `unknown key (allowed: ${allowed.join(', ')})`)
  }
}

function str (v: unknown, path: string, opts: { nonEmpty?: boolean } = {}): string {
  if (typeof v !== 'string') fail(path, `must be a string, got ${describe(v)}`)
  if (opts.nonEmpty !== false && v.trim() === '') fail(path, 'must not be empty')
  return v
}

function optStr (v: unknown, path: string): string | undefined {
  return v === undefined ? undefined : str(v, path)
}

function optBool (v: unknown, path: string): boolean | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'boolean') fail(path, `must be true or false, got ${describe(v)}`)
  return v
}

function optInt (v: unknown, path: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(path, `must be an integer, got ${describe(v)}`)
  if (v < min || v > max) fail(path, `must be between ${min} and ${max}`)
  return v
}

/** A list of strings; a single string is accepted as a list of one (comma-separated when `commas`). */
function strList (v: unknown, path: string, opts: { commas?: boolean; nonEmpty?: boolean } = {}): string[] {
  let list: unknown[]
  if (typeof v === 'string') list = opts.commas ? v.split(',').map(s => s.trim()).filter(Boolean) : [v]
  else if (Array.isArray(v)) list = v
  else fail(path, `must be a list of strings, got ${describe(v)}`)
  const out = list.map((x, i) => str(x, `${path}[${i}]`))
  if (opts.nonEmpty && out.length === 0) fail(path, 'must not be empty')
  return out
}

function enumList<T extends string> (v: unknown, path: string, allowed: readonly T[]): T[] {
  const list = strList(v, path)
  list.forEach((x, i) => {
    if (!allowed.includes(x as T)) fail(`${path}[${i}]`, `unknown value "${x}" (allowed: ${allowed.join(', ')})`)
  })
  return list as T[]
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/** Expands `${NAME}` from the environment (for secrets kept out of the file). */
function expandEnv (value: string, path: string, env: NodeJS.ProcessEnv): string {
  return value.replace(ENV_REF, (_, name: string) => {
    const v = env[name]
    if (v === undefined) fail(path, `environment variable ${name} is not set`)
    return v
  })
}

function validAddress (a: string): boolean {
  // Either `x@y` or `Name <x@y>`; the SMTP server has the last word.
  return /^[^\s<>@]+@[^\s<>@]+$/.test(a) || /^[^<>]*<[^\s<>@]+@[^\s<>@]+>$/.test(a.trim())
}

function addresses (v: unknown, path: string): string[] {
  const list = strList(v, path, { commas: true, nonEmpty: true })
  list.forEach((a, i) => { if (!validAddress(a)) fail(`${path}[${i}]`, `"${a}" is not an e-mail address`) })
  return list
}

/** Checks an SMTP URL without ever quoting it (it may hold a password). */
function checkSmtpUrl (url: string, path: string): void {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    fail(path, 'is not a valid URL (expected smtp://[user:pass@]host[:port] or smtps://…)')
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') fail(path, `scheme must be smtp: or smtps:, got ${JSON.stringify(u.protocol.slice(0, 20))}`)
  if (!u.hostname) fail(path, 'has no host')
}

function checkHttpUrl (url: string, path: string): void {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    fail(path, 'is not a valid URL')
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') fail(path, 'scheme must be http: or https:')
}

const SINK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/

// ---------------------------------------------------------------- sections

const COMMON_SINK_KEYS = ['name', 'type', 'digest'] as const
const EMAIL_KEYS = [...COMMON_SINK_KEYS, 'template', 'url', 'host', 'port', 'secure', 'auth', 'from', 'to', 'pool', 'maxConnections',
  'requireTLS', 'tls', 'connectionTimeoutMs', 'greetingTimeoutMs', 'socketTimeoutMs', 'messageIdDomain']
const HTTP_KEYS = [...COMMON_SINK_KEYS, 'url', 'headers', 'timeoutMs']
const WEBHOOK_KEYS = [...HTTP_KEYS, 'format', 'template']
const TEAMS_KEYS = [...HTTP_KEYS, 'template']
const CLOUDEVENTS_KEYS = [...HTTP_KEYS, 'mode', 'format']

function parseDigest (v: unknown, path: string): DigestConfig {
  const o = obj(v, path)
  onlyKeys(o, path, ['windowSeconds', 'minChanges'])
  if (o.windowSeconds === undefined) fail(`${path}.windowSeconds`, 'is required')
  if (o.minChanges === undefined) fail(`${path}.minChanges`, 'is required')
  return {
    windowSeconds: optInt(o.windowSeconds, `${path}.windowSeconds`, 1, 86_400) as number,
    minChanges: optInt(o.minChanges, `${path}.minChanges`, 2, 100_000) as number
  }
}

/** Parses and compiles a sink's templates now, so a template error stops the start (exit 2). */
function parseTemplate (v: unknown, path: string, sink: string, parts: readonly TemplatePart[]): TemplateConfig {
  const o = obj(v, path)
  onlyKeys(o, path, parts)
  const t: TemplateConfig = {}
  for (const p of TEMPLATE_PARTS) if (o[p] !== undefined) t[p] = str(o[p], `${path}.${p}`)
  compileTemplates(sink, path, t)
  return t
}

/** `template` and `digest`, the keys every sink type may have (template only where it means something). */
function parseCommon (o: Obj, path: string, name: string, s: SinkCommon, parts: readonly TemplatePart[]): void {
  if (o.template !== undefined) s.template = parseTemplate(o.template, `${path}.template`, name, parts)
  if (o.digest !== undefined) s.digest = parseDigest(o.digest, `${path}.digest`)
}

function parseHeaders (v: unknown, path: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const h = obj(v, path)
  const out: Record<string, string> = {}
  for (const [k, hv] of Object.entries(h)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k)) fail(path, `"${k}" is not a valid header name`)
    // Never quote the value: it is typically a token.
    if (typeof hv !== 'string') fail(`${path}.${k}`, `must be a string, got ${describe(hv)}`)
    const value = expandEnv(hv, `${path}.${k}`, env)
    if (/[\r\n\0]/.test(value)) fail(`${path}.${k}`, 'must not contain line breaks')
    out[k] = value
  }
  return out
}

function parseHttpSink (o: Obj, path: string, env: NodeJS.ProcessEnv, name: string): HttpSinkConfig {
  const url = expandEnv(str(o.url, `${path}.url`), `${path}.url`, env)
  checkHttpUrl(url, `${path}.url`)
  const s: HttpSinkConfig = { name, url }
  if (o.headers !== undefined) s.headers = parseHeaders(o.headers, `${path}.headers`, env)
  const timeoutMs = optInt(o.timeoutMs, `${path}.timeoutMs`, 1, 600_000)
  if (timeoutMs !== undefined) s.timeoutMs = timeoutMs
  return s
}

function oneOf<T extends string> (v: unknown, path: string, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt
  const x = str(v, path)
  if (!allowed.includes(x as T)) fail(path, `unknown value "${x}" (allowed: ${allowed.join(', ')})`)
  return x as T
}

function parseEmailSink (o: Obj, path: string, env: NodeJS.ProcessEnv, name: string): EmailSinkConfig {
  onlyKeys(o, path, EMAIL_KEYS)
  const s: EmailSinkConfig = { name, type: 'email', from: '', to: [] }
  if (o.url !== undefined) {
    s.url = expandEnv(str(o.url, `${path}.url`), `${path}.url`, env)
    checkSmtpUrl(s.url, `${path}.url`)
  }
  s.host = optStr(o.host, `${path}.host`)
  s.port = optInt(o.port, `${path}.port`, 1, 65535)
  s.secure = optBool(o.secure, `${path}.secure`)
  if (o.auth !== undefined) {
    const a = obj(o.auth, `${path}.auth`)
    onlyKeys(a, `${path}.auth`, ['user', 'pass'])
    s.auth = {
      user: expandEnv(str(a.user, `${path}.auth.user`), `${path}.auth.user`, env),
      pass: expandEnv(str(a.pass, `${path}.auth.pass`, { nonEmpty: false }), `${path}.auth.pass`, env)
    }
  }
  if (o.from !== undefined) {
    s.from = str(o.from, `${path}.from`)
    if (!validAddress(s.from)) fail(`${path}.from`, `"${s.from}" is not an e-mail address`)
  }
  if (o.to !== undefined) s.to = addresses(o.to, `${path}.to`)
  s.pool = optBool(o.pool, `${path}.pool`)
  s.maxConnections = optInt(o.maxConnections, `${path}.maxConnections`, 1, 100)
  s.requireTLS = optBool(o.requireTLS, `${path}.requireTLS`)
  if (o.tls !== undefined) {
    const t = obj(o.tls, `${path}.tls`)
    onlyKeys(t, `${path}.tls`, ['rejectUnauthorized', 'ca', 'servername'])
    s.tls = {}
    const ru = optBool(t.rejectUnauthorized, `${path}.tls.rejectUnauthorized`)
    if (ru !== undefined) s.tls.rejectUnauthorized = ru
    const ca = optStr(t.ca, `${path}.tls.ca`)
    if (ca !== undefined) s.tls.ca = ca
    const sn = optStr(t.servername, `${path}.tls.servername`)
    if (sn !== undefined) s.tls.servername = sn
  }
  s.connectionTimeoutMs = optInt(o.connectionTimeoutMs, `${path}.connectionTimeoutMs`, 1, 600_000)
  s.greetingTimeoutMs = optInt(o.greetingTimeoutMs, `${path}.greetingTimeoutMs`, 1, 600_000)
  s.socketTimeoutMs = optInt(o.socketTimeoutMs, `${path}.socketTimeoutMs`, 1, 3_600_000)
  s.messageIdDomain = optStr(o.messageIdDomain, `${path}.messageIdDomain`)
  parseCommon(o, path, name, s, TEMPLATE_PARTS)
  for (const k of Object.keys(s) as Array<keyof EmailSinkConfig>) if (s[k] === undefined) delete s[k]
  return s
}

/** After the environment had its say: an e-mail sink must know where to and whom to send. */
function completeEmailSink (s: EmailSinkConfig, path: string): void {
  if (!s.url && !s.host) fail(`${path}.url`, `is required (or host; or set ${ENV_SMTP_URL} for the sink named "email")`)
  if (!s.from) fail(`${path}.from`, 'is required')
  if (s.to.length === 0) fail(`${path}.to`, 'is required: at least one recipient')
}

function parseWebhookSink (o: Obj, path: string, env: NodeJS.ProcessEnv, name: string): WebhookSinkConfig {
  onlyKeys(o, path, WEBHOOK_KEYS)
  const s: WebhookSinkConfig = { ...parseHttpSink(o, path, env, name), type: 'webhook', format: oneOf(o.format, `${path}.format`, ['json', 'slack'], 'json') }
  parseCommon(o, path, name, s, ['text'])
  return s
}

function parseTeamsSink (o: Obj, path: string, env: NodeJS.ProcessEnv, name: string): TeamsSinkConfig {
  onlyKeys(o, path, TEAMS_KEYS)
  const s: TeamsSinkConfig = { ...parseHttpSink(o, path, env, name), type: 'teams' }
  parseCommon(o, path, name, s, ['text'])
  return s
}

function parseCloudEventsSink (o: Obj, path: string, env: NodeJS.ProcessEnv, name: string): CloudEventsSinkConfig {
  // No template: the event's data is the Change itself, for machines.
  onlyKeys(o, path, CLOUDEVENTS_KEYS)
  const s: CloudEventsSinkConfig = {
    ...parseHttpSink(o, path, env, name),
    type: 'cloudevents',
    mode: oneOf(o.mode, `${path}.mode`, ['binary', 'structured'], 'binary'),
    format: oneOf(o.format, `${path}.format`, ['kubechanges', 'cdevents'], 'kubechanges')
  }
  parseCommon(o, path, name, s, [])
  return s
}

function parseSink (v: unknown, path: string, env: NodeJS.ProcessEnv): SinkConfig {
  const o = obj(v, path)
  const name = str(o.name, `${path}.name`)
  if (!SINK_NAME.test(name)) fail(`${path}.name`, `"${name.slice(0, 64)}" must be letters, digits, '.', '_' or '-'`)
  const type = str(o.type, `${path}.type`)
  switch (type as SinkType) {
    case 'email': return parseEmailSink(o, path, env, name)
    case 'webhook': return parseWebhookSink(o, path, env, name)
    case 'teams': return parseTeamsSink(o, path, env, name)
    case 'cloudevents': return parseCloudEventsSink(o, path, env, name)
    case 'log': {
      onlyKeys(o, path, COMMON_SINK_KEYS)
      const s: LogSinkConfig = { name, type: 'log' }
      parseCommon(o, path, name, s, [])
      return s
    }
    default:
      return fail(`${path}.type`, `unknown sink type "${type}" (allowed: ${SINK_TYPES.join(', ')})`)
  }
}

const MATCH_KEYS = ['namespace', 'name', 'kind', 'type', 'outcome', 'actor'] as const

function parseRoute (v: unknown, path: string, sinks: Map<string, SinkConfig>): RouteConfig {
  const o = obj(v, path)
  onlyKeys(o, path, ['match', 'sinks', 'to', 'quietTypes', 'digest'])
  const match: RouteMatch = {}
  if (o.match !== undefined && o.match !== null) {
    const m = obj(o.match, `${path}.match`)
    onlyKeys(m, `${path}.match`, MATCH_KEYS)
    if (m.namespace !== undefined) match.namespace = strList(m.namespace, `${path}.match.namespace`, { nonEmpty: true })
    if (m.name !== undefined) match.name = strList(m.name, `${path}.match.name`, { nonEmpty: true })
    if (m.kind !== undefined) match.kind = strList(m.kind, `${path}.match.kind`, { nonEmpty: true })
    if (m.type !== undefined) match.type = enumList(m.type, `${path}.match.type`, CHANGE_TYPES)
    if (m.outcome !== undefined) match.outcome = enumList(m.outcome, `${path}.match.outcome`, OUTCOMES)
    if (m.actor !== undefined) match.actor = strList(m.actor, `${path}.match.actor`, { nonEmpty: true })
  }
  const names = strList(o.sinks, `${path}.sinks`, { nonEmpty: true })
  names.forEach((n, i) => { if (!sinks.has(n)) fail(`${path}.sinks[${i}]`, `unknown sink "${n}"`) })
  const route: RouteConfig = { match, sinks: [...new Set(names)] }
  if (o.to !== undefined) {
    route.to = addresses(o.to, `${path}.to`)
    if (!names.some(n => sinks.get(n)?.type === 'email')) fail(`${path}.to`, 'only e-mail sinks take recipients, and this route has none')
  }
  if (o.quietTypes !== undefined) route.quietTypes = enumList(o.quietTypes, `${path}.quietTypes`, CHANGE_TYPES)
  if (o.digest !== undefined) route.digest = parseDigest(o.digest, `${path}.digest`)
  return route
}

function parseDelivery (v: unknown, path: string): DeliveryConfig {
  const d: DeliveryConfig = { ...DEFAULT_DELIVERY }
  if (v === undefined || v === null) return d
  const o = obj(v, path)
  onlyKeys(o, path, Object.keys(DEFAULT_DELIVERY))
  d.maxAttempts = optInt(o.maxAttempts, `${path}.maxAttempts`, 1, 1000) ?? d.maxAttempts
  d.initialBackoffMs = optInt(o.initialBackoffMs, `${path}.initialBackoffMs`, 1, 86_400_000) ?? d.initialBackoffMs
  d.maxBackoffMs = optInt(o.maxBackoffMs, `${path}.maxBackoffMs`, 1, 86_400_000) ?? d.maxBackoffMs
  d.concurrency = optInt(o.concurrency, `${path}.concurrency`, 1, 256) ?? d.concurrency
  d.pollMs = optInt(o.pollMs, `${path}.pollMs`, 10, 3_600_000) ?? d.pollMs
  if (d.maxBackoffMs < d.initialBackoffMs) fail(`${path}.maxBackoffMs`, 'must not be less than initialBackoffMs')
  return d
}

// ---------------------------------------------------------------- entry point

/**
 * Parses the `notify` section (`raw`: the value of the `notify` key, or undefined) and the environment.
 * Throws errors.BAD_CONFIG naming the key path.
 */
export function parseNotifyConfig (raw: unknown, env: NodeJS.ProcessEnv): NotifyConfig {
  const root = 'notify'
  const o: Obj = raw === undefined || raw === null ? {} : obj(raw, root)
  onlyKeys(o, root, ['sinks', 'routes', 'defaultSinks', 'externalURL', 'delivery'])

  const sinks: SinkConfig[] = []
  const byName = new Map<string, SinkConfig>()
  if (o.sinks !== undefined && o.sinks !== null) {
    if (!Array.isArray(o.sinks)) fail(`${root}.sinks`, `must be a list, got ${describe(o.sinks)}`)
    o.sinks.forEach((sv, i) => {
      const s = parseSink(sv, `${root}.sinks[${i}]`, env)
      if (byName.has(s.name)) fail(`${root}.sinks[${i}].name`, `duplicate sink name "${s.name}"`)
      sinks.push(s)
      byName.set(s.name, s)
    })
  }
  const fromFile = sinks.length > 0

  // The environment: KUBECHANGES_SMTP_URL / _MAIL_FROM / _MAIL_TO make (or complete) the sink "email".
  const envUrl = env[ENV_SMTP_URL]?.trim() || undefined
  const envFrom = env[ENV_MAIL_FROM]?.trim() || undefined
  const envTo = env[ENV_MAIL_TO]?.trim() || undefined
  let envEmailCreated = false
  if (envUrl || envFrom || envTo) {
    if (envUrl) checkSmtpUrl(envUrl, `env ${ENV_SMTP_URL}`)
    if (envFrom && !validAddress(envFrom)) fail(`env ${ENV_MAIL_FROM}`, `"${envFrom}" is not an e-mail address`)
    const to = envTo ? addresses(envTo, `env ${ENV_MAIL_TO}`) : undefined
    const existing = byName.get('email')
    if (existing) {
      if (existing.type !== 'email') fail(`env ${envUrl ? ENV_SMTP_URL : envFrom ? ENV_MAIL_FROM : ENV_MAIL_TO}`, `a sink named "email" exists and is not an e-mail sink (type ${existing.type})`)
      if (!existing.url && !existing.host && envUrl) existing.url = envUrl
      if (!existing.from && envFrom) existing.from = envFrom
      if (existing.to.length === 0 && to) existing.to = to
    } else {
      if (!envUrl) fail(`env ${ENV_SMTP_URL}`, `is required when ${envFrom ? ENV_MAIL_FROM : ENV_MAIL_TO} is set`)
      if (!envFrom) fail(`env ${ENV_MAIL_FROM}`, `is required when ${ENV_SMTP_URL} is set`)
      if (!to) fail(`env ${ENV_MAIL_TO}`, `is required when ${ENV_SMTP_URL} is set`)
      const s: EmailSinkConfig = { name: 'email', type: 'email', url: envUrl, from: envFrom, to }
      sinks.push(s)
      byName.set('email', s)
      envEmailCreated = true
    }
  }
  sinks.forEach((s, i) => {
    if (s.type === 'email') completeEmailSink(s, i < (o.sinks as unknown[] | undefined ?? []).length ? `${root}.sinks[${i}]` : `env ${ENV_SMTP_URL}`)
  })

  let origin: NotifyConfig['origin'] = fromFile ? 'config' : 'env'
  if (sinks.length === 0) {
    // The embedded default: every change printed to stdout as a JSON line.
    const s: LogSinkConfig = { name: 'log', type: 'log' }
    sinks.push(s)
    byName.set('log', s)
    origin = 'embedded-default'
  }

  const routes: RouteConfig[] = []
  if (o.routes !== undefined && o.routes !== null) {
    if (!Array.isArray(o.routes)) fail(`${root}.routes`, `must be a list, got ${describe(o.routes)}`)
    o.routes.forEach((rv, i) => routes.push(parseRoute(rv, `${root}.routes[${i}]`, byName)))
  }

  let defaultSinks: string[]
  if (o.defaultSinks !== undefined && o.defaultSinks !== null) {
    defaultSinks = [...new Set(strList(o.defaultSinks, `${root}.defaultSinks`))]
    defaultSinks.forEach((n, i) => { if (!byName.has(n)) fail(`${root}.defaultSinks[${i}]`, `unknown sink "${n}"`) })
  } else if (routes.length === 0) {
    defaultSinks = sinks.map(s => s.name)
  } else {
    defaultSinks = envEmailCreated ? ['email'] : []
  }

  let externalURL: string | undefined
  if (o.externalURL !== undefined) {
    externalURL = str(o.externalURL, `${root}.externalURL`)
    checkHttpUrl(externalURL, `${root}.externalURL`)
  } else if (env[ENV_EXTERNAL_URL]?.trim()) {
    externalURL = env[ENV_EXTERNAL_URL].trim()
    checkHttpUrl(externalURL, `env ${ENV_EXTERNAL_URL}`)
  }

  const cfg: NotifyConfig = { sinks, routes, defaultSinks, delivery: parseDelivery(o.delivery, `${root}.delivery`), origin }
  if (externalURL !== undefined) cfg.externalURL = externalURL.replace(/\/+$/, '')
  return cfg
}

/** A description of the config safe to log: sink names, types and hosts, never credentials or header values. */
export function describeNotifyConfig (cfg: NotifyConfig): string {
  const sinks = cfg.sinks.map(s => {
    if (s.type === 'email') {
      let host = s.host ?? ''
      if (s.url) { try { const u = new URL(s.url); host = `${u.protocol}//${u.host}` } catch { host = '?' } }
      return `${s.name} (email via ${host} to ${s.to.length} recipient${s.to.length === 1 ? '' : 's'})`
    }
    if (s.type === 'webhook' || s.type === 'teams' || s.type === 'cloudevents') {
      let host = '?'
      try { host = new URL(s.url).host } catch { /* validated */ }
      const how = s.type === 'webhook' ? `webhook ${s.format}` : s.type === 'cloudevents' ? `cloudevents ${s.mode}${s.format === 'cdevents' ? ' cdevents' : ''}` : 'teams'
      return `${s.name} (${how} to ${host}${s.digest ? `, digest ${s.digest.minChanges}+ in ${s.digest.windowSeconds}s` : ''})`
    }
    return `${s.name} (log to stdout)`
  })
  return `sinks: ${sinks.join(', ')}; routes: ${cfg.routes.length}; default: ${cfg.defaultSinks.join(', ') || '(none)'}`
}

/** Creates the sinks of a parsed config. `write` replaces stdout for log sinks (tests). */
export function createSinks (cfg: NotifyConfig, opts: { write?: (line: string) => void } = {}): Map<string, Sink> {
  const out = new Map<string, Sink>()
  for (const s of cfg.sinks) {
    const templates = s.template !== undefined ? compileTemplates(s.name, s.name, s.template) : undefined
    const t = templates !== undefined ? { templates } : {}
    switch (s.type) {
      case 'email': {
        const { type: _type, template: _tpl, digest: _digest, ...rest } = s
        out.set(s.name, createEmailSink({ ...rest, externalURL: cfg.externalURL, ...t }))
        break
      }
      case 'webhook':
        out.set(s.name, createWebhookSink({
          name: s.name, url: s.url, format: s.format, headers: s.headers, timeoutMs: s.timeoutMs, externalURL: cfg.externalURL, ...t
        }))
        break
      case 'teams':
        out.set(s.name, createTeamsSink({ name: s.name, url: s.url, headers: s.headers, timeoutMs: s.timeoutMs, externalURL: cfg.externalURL, ...t }))
        break
      case 'cloudevents':
        out.set(s.name, createCloudEventsSink({ name: s.name, url: s.url, mode: s.mode, format: s.format, headers: s.headers, timeoutMs: s.timeoutMs }))
        break
      case 'log':
        out.set(s.name, createLogSink({ name: s.name, write: opts.write }))
        break
    }
  }
  return out
}
