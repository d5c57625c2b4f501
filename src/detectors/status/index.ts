import { ROLLOUT } from './argo-rollouts.js'
import { compileCel, type CompiledExpr } from './cel.js'
import { CERTIFICATE, CLUSTER_ISSUER, ISSUER } from './cert-manager.js'
import { condition, describe, observedGeneration, targetGeneration } from './conditions.js'
import { keyPath, RULE_KEYS, type KindsConfig, type RuleKey } from './config.js'
import { GIT_REPOSITORY, HELM_RELEASE, KUSTOMIZATION, OCI_REPOSITORY } from './flux.js'
import { GENERIC } from './generic.js'
import { KNATIVE_SERVICE } from './knative.js'
import type { StatusInput, StatusResult, StatusRule } from './types.js'

export type { StatusInput, StatusResult, StatusRule, StatusState } from './types.js'
export { generic } from './generic.js'
export { rolloutImages, rolloutPodTemplate, rolloutRevision, ROLLOUT_REVISION } from './argo-rollouts.js'
export { parseKinds, type KindsConfig, type KindRuleConfig } from './config.js'

// The built-in rules are TypeScript functions behind the same StatusRule
// interface as the config's CEL rules, not CEL: they return the controller's
// own reason and message (CEL gives a bool), and their guards (a string
// observedGeneration, conditions from before the change, helm-controller's
// retry budget) read better and are type-checked as code. A `kinds:` entry
// for the same kind overrides them, expression by expression.

/** Built-in rules by `group/Kind`. */
export const BUILTIN_RULES: ReadonlyMap<string, StatusRule> = new Map([
  ['argoproj.io/Rollout', ROLLOUT],
  ['kustomize.toolkit.fluxcd.io/Kustomization', KUSTOMIZATION],
  ['helm.toolkit.fluxcd.io/HelmRelease', HELM_RELEASE],
  ['source.toolkit.fluxcd.io/GitRepository', GIT_REPOSITORY],
  ['source.toolkit.fluxcd.io/OCIRepository', OCI_REPOSITORY],
  ['cert-manager.io/Certificate', CERTIFICATE],
  ['cert-manager.io/Issuer', ISSUER],
  ['cert-manager.io/ClusterIssuer', CLUSTER_ISSUER],
  ['serving.knative.dev/Service', KNATIVE_SERVICE]
])

type Compiled = Partial<Record<RuleKey, CompiledExpr>>

/**
 * A `kinds:` entry over a base rule (the built-in, or generic): `failed` is
 * asked first, then `inProgress`, then `succeeded`; a side the entry does not
 * give is the base rule's. A status that shows an older generation than the
 * change's is never judged: what it says is about the state before.
 */
function celRule (key: string, exprs: Compiled, timeoutSeconds: number | undefined, base: StatusRule): StatusRule {
  const name = keyPath(key)
  const evaluate = (input: StatusInput): StatusResult => {
    const gen = targetGeneration(input)
    const observed = observedGeneration(input.object)
    if (observed !== undefined && observed < gen) return { state: 'waiting', reason: 'LatestGenerationNotObserved', message: `generation ${gen}, observed ${observed}` }
    const problems: string[] = []
    const ask = (k: RuleKey): boolean | undefined => {
      const e = exprs[k]
      if (e === undefined) return undefined
      const r = e.evaluate(input.object, gen)
      if (r.problem !== undefined) problems.push(r.problem)
      return r.value
    }
    const withProblem = (r: StatusResult): StatusResult => problems.length > 0 ? { ...r, problem: problems.join('; ') } : r
    const ready = describe(condition(input.object, 'Ready'))
    if (ask('failed') === true) return withProblem({ state: 'failed', reason: ready.reason ?? 'Failed', message: ready.message ?? `${name}.failed: ${exprs.failed!.source}` })
    if (ask('inProgress') === true) return withProblem({ state: 'waiting', reason: 'InProgress', message: `${name}.inProgress: ${exprs.inProgress!.source}` })
    const ok = ask('succeeded')
    if (ok === true) return withProblem({ state: 'succeeded', ...(ready.reason !== undefined ? { reason: ready.reason } : {}), message: ready.message ?? `${name}.succeeded: ${exprs.succeeded!.source}` })
    const b = base.evaluate(input)
    if (b.state === 'failed' && exprs.failed === undefined) return withProblem(b)
    if (b.state === 'succeeded' && ok === undefined) return withProblem(b)
    // Nothing to judge by and no succeeded expression: the base's verdict (applied after the quiet period) stands.
    if (b.state === 'none' && ok === undefined) return withProblem(b)
    // Undecided: say why in the base rule's words when it has some (no status yet, an old generation).
    const undecided = b.state === 'waiting' || b.state === 'none'
    return withProblem({ state: 'waiting', reason: undecided && b.reason !== undefined ? b.reason : 'RuleNotMet', ...(undecided && b.message !== undefined ? { message: b.message } : {}) })
  }
  return { name, ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}), evaluate }
}

// kubectl's own guess for a kind's resource name, for callers that only know the kind.
function plural (kind: string): string {
  const k = kind.toLowerCase()
  if (/(s|x|z|ch|sh)$/.test(k)) return `${k}es`
  if (/[^aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`
  return `${k}s`
}

/** The names a `kinds:` key may give this kind by: resource.group (exact), kind.group, guessed plural.group. */
export function kindKeys (kind: string, group: string, resource?: string): string[] {
  const q = (n: string): string => group === '' ? n : `${n}.${group.toLowerCase()}`
  return [...new Set([...(resource !== undefined ? [q(resource.toLowerCase())] : []), q(plural(kind)), q(kind.toLowerCase())])]
}

// Compiled once per kinds config (the config object lives for the process).
const compiledCache = new WeakMap<KindsConfig, Map<string, StatusRule>>()

function configRule (kinds: KindsConfig, key: string, base: StatusRule): StatusRule {
  let cache = compiledCache.get(kinds)
  if (cache === undefined) { cache = new Map(); compiledCache.set(kinds, cache) }
  const cacheKey = `${key}\u0000${base.name}`
  const hit = cache.get(cacheKey)
  if (hit !== undefined) return hit
  const entry = kinds[key]!
  const exprs: Compiled = {}
  for (const k of RULE_KEYS) {
    const src = entry[k]
    if (src !== undefined) exprs[k] = compileCel(`${keyPath(key)}.${k}`, src)
  }
  const rule = celRule(key, exprs, entry.timeoutSeconds, base)
  cache.set(cacheKey, rule)
  return rule
}

/** The status rule for a kind: the config's `kinds:` entry (over the built-in), else the built-in, else generic. */
export function statusRuleFor (kind: string, group: string, config: { kinds?: KindsConfig }, resource?: string): StatusRule {
  const base = BUILTIN_RULES.get(`${group}/${kind}`) ?? GENERIC
  const kinds = config.kinds
  if (kinds !== undefined) {
    const key = kindKeys(kind, group, resource).find(k => k in kinds)
    if (key !== undefined) return configRule(kinds, key, base)
  }
  return base
}
