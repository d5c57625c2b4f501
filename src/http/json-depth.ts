// Nesting limit, checked on the parsed value. V8's JSON.parse is iterative,
// so a deeply nested body costs it no stack; what a deep value would hurt is
// every recursive walker after it (diffs, JSON.stringify, redaction). Walking
// the parsed value visits only objects and arrays, never the bytes of strings
// and numbers: 2–4× cheaper than scanning the raw body (bench/README.md).

/** Whether `value` nests objects/arrays deeper than `max` (a top-level `[]` is depth 1). */
export function exceedsDepth (value: unknown, max: number): boolean {
  if (value === null || typeof value !== 'object') return false
  // An explicit stack: the walk itself must not recurse on hostile input.
  const stack: object[] = [value]
  const depths: number[] = [1]
  while (stack.length > 0) {
    const v = stack.pop()!
    const d = depths.pop()!
    if (d > max) return true
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const e: unknown = v[i]
        if (e !== null && typeof e === 'object') { stack.push(e); depths.push(d + 1) }
      }
    } else {
      for (const k in v) {
        const e: unknown = (v as Record<string, unknown>)[k]
        if (e !== null && typeof e === 'object') { stack.push(e); depths.push(d + 1) }
      }
    }
  }
  return false
}
