import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { errors } from './errors.js'
import { parseKinds, type KindsConfig } from './detectors/status/config.js'

// Configuration: defaults < config file (YAML or JSON) < environment < flags.
// Every key is validated at start; an error names the key.

export interface Config {
  host: string
  port: number
  store: string
  quietPeriodSeconds: number
  window: { maxObjects: number, ttlSeconds: number }
  retention: { maxAgeDays: number, maxCount: number }
  bodyLimitBytes: number
  maxJsonDepth: number
  ignore: { namespaces: string[], kinds: string[] }
  watch: { enabled: boolean | 'auto', namespaces: string[], kinds: string[], extraKinds: string[], labelSelector?: string }
  externalURL?: string
  tls: { cert?: string, key?: string, clientCA?: string }
  apiTokenFile?: string
  apiToken?: string
  /** Passed as-is to the notify section's own parser. */
  notify?: unknown
  logLevel: string
  /** Per-kind status rules (CEL), keyed by resource.group: see src/detectors/status/config.ts. */
  kinds?: KindsConfig
}

export const DEFAULTS: Config = {
  host: '127.0.0.1',
  port: 8080,
  store: 'kubechanges.db',
  quietPeriodSeconds: 5,
  window: { maxObjects: 10_000, ttlSeconds: 1800 },
  retention: { maxAgeDays: 30, maxCount: 100_000 },
  bodyLimitBytes: 12 * 1024 * 1024,
  maxJsonDepth: 64,
  ignore: { namespaces: [], kinds: [] },
  watch: { enabled: 'auto', namespaces: [], kinds: [], extraKinds: [] },
  tls: {},
  logLevel: 'info',
  kinds: {}
}

type Raw = Record<string, unknown>

function isObj (v: unknown): v is Raw { return v !== null && typeof v === 'object' && !Array.isArray(v) }

function num (v: unknown, key: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) throw errors.BAD_CONFIG(`${key}: expected a number from ${min} to ${max}, got ${JSON.stringify(v)}`)
  return n
}
function int (v: unknown, key: string, min: number, max?: number): number {
  const n = num(v, key, min, max)
  if (!Number.isInteger(n)) throw errors.BAD_CONFIG(`${key}: expected a whole number, got ${JSON.stringify(v)}`)
  return n
}
function text (v: unknown, key: string): string {
  if (typeof v !== 'string' || v === '') throw errors.BAD_CONFIG(`${key}: expected a non-empty string`)
  return v
}
function list (v: unknown, key: string): string[] {
  if (typeof v === 'string') return v.split(',').map(s => s.trim()).filter(s => s !== '')
  if (!Array.isArray(v)) throw errors.BAD_CONFIG(`${key}: expected a list of strings`)
  return v.map((x, i) => text(x, `${key}[${i}]`))
}
// kubectl-style `resource.group` (a DNS subdomain, lower case): rollouts.argoproj.io.
const KIND_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
function kindNames (v: unknown, key: string): string[] {
  return list(v, key).map((n, i) => {
    if (!KIND_NAME.test(n)) throw errors.BAD_CONFIG(`${key}[${i}]: expected a kubectl-style resource.group name such as rollouts.argoproj.io, got ${JSON.stringify(n)}`)
    return n
  })
}
function bool (v: unknown, key: string): boolean {
  if (v === true || v === 'true') return true
  if (v === false || v === 'false') return false
  throw errors.BAD_CONFIG(`${key}: expected true or false`)
}
function section (raw: Raw, key: string, allowed: string[]): Raw {
  const v = raw[key]
  if (v === undefined) return {}
  if (!isObj(v)) throw errors.BAD_CONFIG(`${key}: expected a mapping`)
  for (const k of Object.keys(v)) if (!allowed.includes(k)) throw errors.BAD_CONFIG(`${key}.${k}: unknown key (expected one of ${allowed.join(', ')})`)
  return v
}

const TOP_KEYS = ['host', 'port', 'store', 'quietPeriodSeconds', 'window', 'retention', 'bodyLimitBytes', 'maxJsonDepth', 'ignore', 'watch', 'externalURL', 'tls', 'apiTokenFile', 'notify', 'logLevel', 'kinds']

/** Validate a parsed config file onto the defaults. */
export function applyFile (base: Config, raw: unknown, source = 'config'): Config {
  if (raw === null || raw === undefined) return base
  if (!isObj(raw)) throw errors.BAD_CONFIG(`${source}: expected a mapping at the top level`)
  for (const k of Object.keys(raw)) if (!TOP_KEYS.includes(k)) throw errors.BAD_CONFIG(`${k}: unknown key (expected one of ${TOP_KEYS.join(', ')})`)
  const c: Config = structuredClone(base)
  if (raw.host !== undefined) c.host = text(raw.host, 'host')
  if (raw.port !== undefined) c.port = int(raw.port, 'port', 0, 65535)
  if (raw.store !== undefined) c.store = text(raw.store, 'store')
  if (raw.quietPeriodSeconds !== undefined) c.quietPeriodSeconds = num(raw.quietPeriodSeconds, 'quietPeriodSeconds', 0, 3600)
  if (raw.bodyLimitBytes !== undefined) c.bodyLimitBytes = int(raw.bodyLimitBytes, 'bodyLimitBytes', 1024, 1024 * 1024 * 1024)
  if (raw.maxJsonDepth !== undefined) c.maxJsonDepth = int(raw.maxJsonDepth, 'maxJsonDepth', 8, 10_000)
  if (raw.externalURL !== undefined) {
    const u = text(raw.externalURL, 'externalURL')
    try { new URL(u) } catch { throw errors.BAD_CONFIG('externalURL: not a URL') }
    c.externalURL = u.replace(/\/+$/, '')
  }
  if (raw.apiTokenFile !== undefined) c.apiTokenFile = text(raw.apiTokenFile, 'apiTokenFile')
  if (raw.logLevel !== undefined) c.logLevel = text(raw.logLevel, 'logLevel')
  const w = section(raw, 'window', ['maxObjects', 'ttlSeconds'])
  if (w.maxObjects !== undefined) c.window.maxObjects = int(w.maxObjects, 'window.maxObjects', 1)
  if (w.ttlSeconds !== undefined) c.window.ttlSeconds = num(w.ttlSeconds, 'window.ttlSeconds', 1)
  const r = section(raw, 'retention', ['maxAgeDays', 'maxCount'])
  if (r.maxAgeDays !== undefined) c.retention.maxAgeDays = num(r.maxAgeDays, 'retention.maxAgeDays', 0)
  if (r.maxCount !== undefined) c.retention.maxCount = int(r.maxCount, 'retention.maxCount', 1)
  const i = section(raw, 'ignore', ['namespaces', 'kinds'])
  if (i.namespaces !== undefined) c.ignore.namespaces = list(i.namespaces, 'ignore.namespaces')
  if (i.kinds !== undefined) c.ignore.kinds = list(i.kinds, 'ignore.kinds')
  const wa = section(raw, 'watch', ['enabled', 'namespaces', 'kinds', 'extraKinds', 'labelSelector'])
  if (wa.enabled !== undefined) c.watch.enabled = wa.enabled === 'auto' ? 'auto' : bool(wa.enabled, 'watch.enabled')
  if (wa.namespaces !== undefined) c.watch.namespaces = list(wa.namespaces, 'watch.namespaces')
  if (wa.kinds !== undefined) c.watch.kinds = list(wa.kinds, 'watch.kinds')
  if (wa.extraKinds !== undefined) c.watch.extraKinds = kindNames(wa.extraKinds, 'watch.extraKinds')
  if (wa.labelSelector !== undefined) c.watch.labelSelector = text(wa.labelSelector, 'watch.labelSelector')
  const t = section(raw, 'tls', ['cert', 'key', 'clientCA'])
  if (t.cert !== undefined) c.tls.cert = text(t.cert, 'tls.cert')
  if (t.key !== undefined) c.tls.key = text(t.key, 'tls.key')
  if (t.clientCA !== undefined) c.tls.clientCA = text(t.clientCA, 'tls.clientCA')
  if (raw.notify !== undefined) c.notify = raw.notify
  if (raw.kinds !== undefined) c.kinds = parseKinds(raw.kinds)
  return c
}

export function readConfigFile (path: string): unknown {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw errors.BAD_CONFIG(`config file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`, { cause: e })
  }
  try {
    // YAML is a superset of JSON: one parser reads both.
    return parseYaml(text)
  } catch (e) {
    throw errors.BAD_CONFIG(`config file ${path}: ${(e as Error).message.split('\n')[0]}`, { cause: e })
  }
}

export interface Flags {
  host?: string
  port?: string
  store?: string
  config?: string
  'tls-cert'?: string
  'tls-key'?: string
  'client-ca'?: string
  'api-token-file'?: string
}

/** Flags win over the environment, which wins over the file. */
export function loadConfig (flags: Flags, env: NodeJS.ProcessEnv): Config {
  const file = flags.config ?? env.KUBECHANGES_CONFIG
  let c = structuredClone(DEFAULTS)
  if (file !== undefined && file !== '') c = applyFile(c, readConfigFile(file), file)
  const pick = (flag: string | undefined, envName: string): string | undefined => flag ?? (env[envName] !== undefined && env[envName] !== '' ? env[envName] : undefined)
  const host = pick(flags.host, 'KUBECHANGES_HOST')
  if (host !== undefined) c.host = host
  const port = pick(flags.port, 'KUBECHANGES_PORT')
  if (port !== undefined) c.port = int(port, flags.port !== undefined ? '--port' : 'KUBECHANGES_PORT', 0, 65535)
  const store = pick(flags.store, 'KUBECHANGES_STORE')
  if (store !== undefined) c.store = store
  const cert = pick(flags['tls-cert'], 'KUBECHANGES_TLS_CERT')
  if (cert !== undefined) c.tls.cert = cert
  const key = pick(flags['tls-key'], 'KUBECHANGES_TLS_KEY')
  if (key !== undefined) c.tls.key = key
  const ca = pick(flags['client-ca'], 'KUBECHANGES_CLIENT_CA')
  if (ca !== undefined) c.tls.clientCA = ca
  const tokenFile = pick(flags['api-token-file'], 'KUBECHANGES_API_TOKEN_FILE')
  if (tokenFile !== undefined) c.apiTokenFile = tokenFile
  if (env.KUBECHANGES_API_TOKEN !== undefined && env.KUBECHANGES_API_TOKEN !== '') c.apiToken = env.KUBECHANGES_API_TOKEN
  if (env.KUBECHANGES_EXTERNAL_URL !== undefined && env.KUBECHANGES_EXTERNAL_URL !== '') c = applyFile(c, { externalURL: env.KUBECHANGES_EXTERNAL_URL })
  if (env.KUBECHANGES_LOG_LEVEL !== undefined && env.KUBECHANGES_LOG_LEVEL !== '') c.logLevel = env.KUBECHANGES_LOG_LEVEL
  if ((c.tls.cert === undefined) !== (c.tls.key === undefined)) throw errors.BAD_CONFIG('tls: --tls-cert and --tls-key go together')
  if (c.tls.clientCA !== undefined && c.tls.cert === undefined) throw errors.BAD_CONFIG('tls.clientCA: client verification needs --tls-cert and --tls-key')
  return c
}
