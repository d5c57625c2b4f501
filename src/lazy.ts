import { createRequire } from 'node:module'

// A dependency loaded the first time it is used, not when serve starts: the
// sinks and templates a configuration does not use (mail, CloudEvents,
// Liquid) then cost no memory (about 10 MB of resident memory together, out
// of the 300 MB a 100,000-object watch has to fit in). These packages ship a
// CommonJS build, so a synchronous require keeps their callers synchronous.

const require = createRequire(import.meta.url)

export function lazy<T> (id: string): () => T {
  let mod: T | undefined
  return () => (mod ??= require(id) as T)
}
