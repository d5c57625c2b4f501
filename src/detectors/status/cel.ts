import { CelScalar, celEnv, isCelError, mapType, parse, plan, type CelType } from '@bufbuild/cel'
import { strings } from '@bufbuild/cel/ext'
import type { Expr } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js'
import type { K8sObject } from '../../model.js'

// CEL (what ValidatingAdmissionPolicy and Flux's healthCheckExprs use) over
// `object` — the object after the change — and `generation`, the change's
// generation. Compiled once at start. @bufbuild/cel plans without a type
// check and only finds an unknown function when it calls it, so the start-up
// check walks the syntax tree itself: every function must exist, and the
// expression's result must be able to be a bool. At run time an error
// (a field not there yet) is "not yet": false.

const env = celEnv({
  variables: { object: mapType(CelScalar.STRING, CelScalar.DYN), generation: CelScalar.DOUBLE },
  funcs: strings
})

/** Names the parser produces for operators and macros, which the planner handles itself. */
const BUILT_IN_OPERATORS = new Set(['_&&_', '_||_', '_?_:_', '@not_strictly_false', '!_', '-_', '_[_]', '_[?_]', '_?._'])

export interface CompiledExpr {
  /** The key path it came from, for messages (`kinds["widgets.example.com"].succeeded`). */
  path: string
  source: string
  /** true / false; a non-bool result gives `problem` and counts as false. */
  evaluate: (object: K8sObject, generation: number) => { value: boolean, problem?: string }
}

export class CelCompileError extends Error {}

function describeType (t: CelType): string { return String(t) }

const CONSTANT_TYPES: Record<string, string> = { nullValue: 'null', boolValue: 'bool', int64Value: 'int', uint64Value: 'uint', doubleValue: 'double', stringValue: 'string', bytesValue: 'bytes', durationValue: 'duration', timestampValue: 'timestamp' }

/** What the root of the tree can evaluate to: 'bool', 'dyn', or the name of a type that is never a bool. */
function resultType (e: Expr): string {
  const k = e.exprKind
  switch (k.case) {
    case 'constExpr': return CONSTANT_TYPES[k.value.constantKind.case ?? 'nullValue'] ?? 'dyn'
    case 'listExpr': return 'list'
    case 'structExpr': return 'map'
    case 'selectExpr': return k.value.testOnly ? 'bool' : 'dyn'
    case 'identExpr': return 'dyn'
    case 'comprehensionExpr': {
      const c = k.value
      const r = c.result
      if (r?.exprKind.case === 'identExpr' && r.exprKind.value.name === c.accuVar && c.accuInit !== undefined) return resultType(c.accuInit)
      return r === undefined ? 'dyn' : resultType(r)
    }
    case 'callExpr': {
      const fn = k.value.function
      if (['_&&_', '_||_', '!_', '@not_strictly_false'].includes(fn)) return 'bool'
      if (fn === '_?_:_') {
        const [, a, b] = k.value.args
        const ta = a === undefined ? 'dyn' : resultType(a)
        const tb = b === undefined ? 'dyn' : resultType(b)
        return ta === 'bool' || tb === 'bool' || ta === 'dyn' || tb === 'dyn' ? (ta === tb ? ta : 'dyn') : ta
      }
      const group = env.funcs.find(fn)
      if (group === undefined) return 'dyn'
      const results = new Set([...group].map(f => describeType(f.result)))
      if (results.has('bool')) return results.size === 1 ? 'bool' : 'dyn'
      if (results.has('dyn')) return 'dyn'
      return results.size === 1 ? [...results][0]! : `the result of '${fn.replace(/^_|_$/g, '').replace(/_/g, ' ')}'`
    }
    default: return 'dyn'
  }
}

function unknownFunctions (e: Expr | undefined, out: Set<string>): void {
  if (e === undefined) return
  const k = e.exprKind
  switch (k.case) {
    case 'callExpr':
      if (!BUILT_IN_OPERATORS.has(k.value.function) && env.funcs.find(k.value.function) === undefined) out.add(k.value.function)
      unknownFunctions(k.value.target, out)
      for (const a of k.value.args) unknownFunctions(a, out)
      return
    case 'selectExpr': unknownFunctions(k.value.operand, out); return
    case 'listExpr': for (const x of k.value.elements) unknownFunctions(x, out); return
    case 'structExpr': for (const x of k.value.entries) { unknownFunctions(x.keyKind.case === 'mapKey' ? x.keyKind.value : undefined, out); unknownFunctions(x.value, out) } return
    case 'comprehensionExpr':
      for (const x of [k.value.iterRange, k.value.accuInit, k.value.loopCondition, k.value.loopStep, k.value.result]) unknownFunctions(x, out)
  }
}

// A skeleton object evaluated once at start: an expression that already
// yields a non-bool on it (a string field, arithmetic) is reported then.
const PROBE: K8sObject = { apiVersion: 'example.com/v1', kind: 'Probe', metadata: { name: 'probe', namespace: 'default', generation: 1, labels: {}, annotations: {} }, spec: {}, status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True', reason: 'Probe', message: '', observedGeneration: 1 }] } }

function shown (v: unknown): string {
  if (typeof v === 'bigint') return `int ${v.toString()}`
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`
  if (typeof v === 'number') return `double ${v}`
  if (v === null) return 'null'
  return typeof v === 'object' ? (Symbol.iterator in v ? 'list' : 'map') : typeof v
}

/** Compile one expression; throws CelCompileError("<path>: <what is wrong>") at start. */
export function compileCel (path: string, source: string): CompiledExpr {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(source)
  } catch (e) {
    throw new CelCompileError(`${path}: Syntax error: ${(e as Error).message.replace(/^<input>:/, '')}`)
  }
  const unknown = new Set<string>()
  unknownFunctions(parsed.expr, unknown)
  if (unknown.size > 0) throw new CelCompileError(`${path}: unknown function ${[...unknown].map(f => `'${f}'`).join(', ')}`)
  const type = resultType(parsed.expr)
  if (type !== 'bool' && type !== 'dyn') throw new CelCompileError(`${path}: must be a bool expression, this one gives ${type}`)
  let run: ReturnType<typeof plan<{ object: CelType, generation: CelType }>>
  try {
    run = plan(env, parsed) as typeof run
  } catch (e) {
    throw new CelCompileError(`${path}: ${(e as Error).message}`)
  }
  const evaluate = (object: K8sObject, generation: number): { value: boolean, problem?: string } => {
    let r: unknown
    try {
      r = run({ object: object as any, generation })
    } catch (e) {
      // The library promises errors as values; a throw is still only "not yet".
      return { value: false, problem: `${path}: ${(e as Error).message}` }
    }
    if (isCelError(r)) return { value: false }
    if (typeof r === 'boolean') return { value: r }
    return { value: false, problem: `${path}: expected a bool, got ${shown(r)}` }
  }
  const probe = evaluate(PROBE, 1)
  if (probe.problem !== undefined) throw new CelCompileError(`${probe.problem} (on a sample object)`)
  return { path, source, evaluate }
}
