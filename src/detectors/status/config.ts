import { errors } from '../../errors.js'
import { CelCompileError, compileCel } from './cel.js'

// The `kinds:` section of the config file: per-kind status rules keyed by
// kubectl's `resource.group` (rollouts.argoproj.io, widgets.example.com),
// CEL expressions over `object` and `generation`:
//
//   kinds:
//     widgets.example.com:
//       succeeded: "object.status.phase == 'Ready'"
//       failed: "object.status.phase == 'Error'"
//       inProgress: "object.status.phase == 'Provisioning'"   # optional
//       timeoutSeconds: 300                                    # optional
//
// Every expression is compiled here, so a mistake stops the start (exit 2)
// with its key path. The config keeps the validated text (plain data: the
// config is cloned and merged); rules.ts compiles it once more for use.

export const RULE_KEYS = ['succeeded', 'failed', 'inProgress'] as const
export type RuleKey = typeof RULE_KEYS[number]

export interface KindRuleConfig {
  succeeded?: string
  failed?: string
  inProgress?: string
  timeoutSeconds?: number
}

/** Keyed by `resource.group`, lower case. */
export type KindsConfig = Record<string, KindRuleConfig>

const KEY = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const ENTRY_KEYS = [...RULE_KEYS, 'timeoutSeconds']

export function keyPath (key: string): string { return `kinds[${JSON.stringify(key)}]` }

function isObj (v: unknown): v is Record<string, unknown> { return v !== null && typeof v === 'object' && !Array.isArray(v) }

export function parseKinds (raw: unknown): KindsConfig {
  if (raw === undefined || raw === null) return {}
  if (!isObj(raw)) throw errors.BAD_CONFIG('kinds: expected a mapping of resource.group (e.g. rollouts.argoproj.io) to rules')
  const out: KindsConfig = {}
  for (const [rawKey, entry] of Object.entries(raw)) {
    const key = rawKey.toLowerCase()
    const at = keyPath(rawKey)
    if (!KEY.test(key)) throw errors.BAD_CONFIG(`${at}: expected a kubectl resource.group name such as rollouts.argoproj.io`)
    if (key in out) throw errors.BAD_CONFIG(`${at}: given twice (names are case-insensitive)`)
    if (!isObj(entry)) throw errors.BAD_CONFIG(`${at}: expected a mapping with ${ENTRY_KEYS.join(', ')}`)
    const rule: KindRuleConfig = {}
    for (const k of Object.keys(entry)) if (!ENTRY_KEYS.includes(k)) throw errors.BAD_CONFIG(`${at}.${k}: unknown key (expected one of ${ENTRY_KEYS.join(', ')})`)
    if (Object.keys(entry).length === 0) throw errors.BAD_CONFIG(`${at}: expected at least one of ${ENTRY_KEYS.join(', ')}`)
    for (const k of RULE_KEYS) {
      const v = entry[k]
      if (v === undefined) continue
      if (typeof v !== 'string' || v.trim() === '') throw errors.BAD_CONFIG(`${at}.${k}: expected a CEL expression (a string)`)
      try {
        compileCel(`${at}.${k}`, v)
      } catch (e) {
        if (e instanceof CelCompileError) throw errors.BAD_CONFIG(e.message, { cause: e })
        throw e
      }
      rule[k] = v
    }
    const t = entry.timeoutSeconds
    if (t !== undefined) {
      const n = typeof t === 'string' && t.trim() !== '' ? Number(t) : t
      if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > 7 * 24 * 3600) throw errors.BAD_CONFIG(`${at}.timeoutSeconds: expected a number of seconds from 1 to 604800, got ${JSON.stringify(t)}`)
      rule.timeoutSeconds = n
    }
    out[key] = rule
  }
  return out
}
