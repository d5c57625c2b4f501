// Parse bench: what taking in one audit batch costs on one thread, step by
// step, and what the two ways around JSON.parse that issue 10 suggests would
// cost instead, on the same batches as bench/ingest.ts. In-process, no server:
// each figure is the median of `rounds` timed repetitions of one step.
//
//   npm run bench -- --only parse [--shape light|heavy] [--repeat N]
//
// 1. Not parsing what is dropped. A reader that walks the body's bytes to find
//    each event, skips reads and noise resources (leases, events) unparsed and cuts `managedFields` out of the
//    request and response objects' text before JSON.parse (as the watch's list
//    pages are read, src/sources/watch/list-items.ts). Its walk is the price:
//    the bench prints the walk alone and the whole reader against JSON.parse.
// 2. Parsing in a worker thread. The main thread would get the batch's
//    normalized observations back, not the body: postMessage's structured clone
//    (v8.serialize there, v8.deserialize here), or JSON text made there and
//    parsed here. The bench prints what the main thread would pay on receipt
//    against what it pays now.

import v8 from 'node:v8'
import { performance } from 'node:perf_hooks'
import { exceedsDepth } from '../src/http/json-depth.js'
import { eventListItems, normalizeAuditEvent } from '../src/sources/audit.js'
import { isNoiseResource } from '../src/sources/kinds.js'
import { endOfString, endOfValue, skipSpace } from '../src/sources/watch/list-items.js'
import type { Observation } from '../src/model.js'
import { buildTemplate, render, tokensFor, type BatchShape } from './audit-batches.js'

const COMMA = 0x2c
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const READS = new Set(['get', 'list', 'watch'])
const DEPTH = 64

/** The members of the object at `i`, each as [key, value start, value end]; `inner` reads chosen values itself. */
function members (s: string, i: number, inner: (key: string, at: number) => number | undefined, visit: (key: string, from: number, to: number, keyAt: number) => void): number {
  let j = skipSpace(s, i + 1)
  if (s.charCodeAt(j) === CLOSE_BRACE) return j + 1
  for (;;) {
    j = skipSpace(s, j)
    const keyAt = j
    const keyEnd = endOfString(s, j)
    const key = s.slice(j + 1, keyEnd - 1)
    const at = skipSpace(s, skipSpace(s, keyEnd) + 1)
    const end = inner(key, at) ?? endOfValue(s, at)
    visit(key, at, end, keyAt)
    j = skipSpace(s, end)
    if (s.charCodeAt(j) === COMMA) { j++; continue }
    return j + 1
  }
}

/** Cuts (pairs of [from, to)) that leave `metadata.managedFields` out of the object at `i`; returns its end. */
function objectWithoutManagedFields (s: string, i: number, cuts: number[]): number {
  return members(s, i, (key, at) => key === 'metadata' && s.charCodeAt(at) === OPEN_BRACE
    ? members(s, at, () => undefined, (k, _from, to, keyAt) => {
      if (k !== 'managedFields') return
      const next = skipSpace(s, to)
      if (s.charCodeAt(next) === COMMA) { cuts.push(keyAt, next + 1); return }
      // The last member: the comma before it goes instead.
      let before = keyAt - 1
      while (s.charCodeAt(before) <= 0x20) before--
      cuts.push(s.charCodeAt(before) === COMMA ? before : keyAt, to)
    })
    : undefined, () => {})
}

/** The skipping reader: each event's text found by walking the bytes; reads and noise come back as null, unparsed. */
export function readSkipping (s: string): unknown[] {
  const out: unknown[] = []
  let i = s.indexOf('"items":[') + 9
  for (;;) {
    i = skipSpace(s, i)
    const cuts: number[] = []
    let verb = ''
    let group = ''
    let resource = ''
    const end = members(s, i,
      (key, at) => {
        if ((key === 'requestObject' || key === 'responseObject') && s.charCodeAt(at) === OPEN_BRACE) return objectWithoutManagedFields(s, at, cuts)
        if (key === 'objectRef' && s.charCodeAt(at) === OPEN_BRACE) {
          return members(s, at, () => undefined, (k, from, to) => {
            if (k === 'resource') resource = s.slice(from + 1, to - 1)
            else if (k === 'apiGroup') group = s.slice(from + 1, to - 1)
          })
        }
        return undefined
      },
      (key, from, to) => { if (key === 'verb') verb = s.slice(from + 1, to - 1) })
    if (READS.has(verb) || (resource !== '' && isNoiseResource(group, resource))) {
      out.push(null)
    } else {
      let text = s.slice(i, cuts.length > 0 ? cuts[0] : end)
      for (let k = 1; k < cuts.length; k += 2) text += s.slice(cuts[k], k + 1 < cuts.length ? cuts[k + 1] : end)
      const v = JSON.parse(text) as unknown
      if (exceedsDepth(v, DEPTH)) throw new SyntaxError('too deep')
      out.push(v)
    }
    i = skipSpace(s, end)
    if (s.charCodeAt(i) === COMMA) { i++; continue }
    return out
  }
}

/** The walk alone: what the skipping reader pays before any JSON.parse. */
function walkOnly (s: string): number {
  let i = s.indexOf('"items":[') + 9
  let n = 0
  for (;;) {
    i = skipSpace(s, i)
    const cuts: number[] = []
    i = skipSpace(s, members(s, i, (key, at) => (key === 'requestObject' || key === 'responseObject') && s.charCodeAt(at) === OPEN_BRACE ? objectWithoutManagedFields(s, at, cuts) : undefined, () => {}))
    n += cuts.length
    if (s.charCodeAt(i) === COMMA) { i++; continue }
    return n
  }
}

function median (f: () => unknown, rounds: number): number {
  for (let i = 0; i < Math.min(50, rounds); i++) f()
  const ms: number[] = []
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now()
    f()
    ms.push(performance.now() - t0)
  }
  ms.sort((a, b) => a - b)
  return Math.round(ms[Math.floor(ms.length / 2)]! * 1000) / 1000
}

export interface ParseBenchResult {
  shape: BatchShape
  bytes: number
  events: number
  kept: number
  /** The skipping reader gave every kept event exactly as JSON.parse does, managedFields left out. */
  skippingIdentical: boolean
  ms: {
    decode: number
    parseAndDepth: number
    normalize: number
    walkOnly: number
    skippingReader: number
    cloneSend: number
    cloneReceive: number
    jsonSend: number
    jsonReceive: number
  }
}

function withoutManagedFields (ev: any): unknown {
  const c = structuredClone(ev)
  for (const o of [c.requestObject, c.responseObject]) if (o?.metadata !== undefined) delete o.metadata.managedFields
  return c
}

export function benchParse (opts: { shape?: BatchShape, rounds?: number } = {}): ParseBenchResult {
  const shape = opts.shape ?? 'light'
  const rounds = opts.rounds ?? 300
  const buf = render(buildTemplate(0, 400, shape), tokensFor(0, 1, Date.now()))
  const text = buf.toString('utf8')
  const items = eventListItems(JSON.parse(text)) as unknown[]
  const skipped = readSkipping(text)
  const skippingIdentical = skipped.length === items.length && skipped.every((v, k) =>
    v === null ? normalizeAuditEvent(items[k]).kind === 'dropped' : JSON.stringify(v) === JSON.stringify(withoutManagedFields(items[k])))
  const observations: Observation[] = []
  for (const r of items.map(normalizeAuditEvent)) if (r.kind === 'observation') observations.push(r.observation)
  const cloned = v8.serialize(observations)
  const json = JSON.stringify(observations)
  return {
    shape,
    bytes: buf.length,
    events: items.length,
    kept: observations.length,
    skippingIdentical,
    ms: {
      decode: median(() => buf.toString('utf8'), rounds),
      parseAndDepth: median(() => exceedsDepth(JSON.parse(text), DEPTH), rounds),
      normalize: median(() => items.map(normalizeAuditEvent), rounds),
      walkOnly: median(() => walkOnly(text), rounds),
      skippingReader: median(() => readSkipping(text), rounds),
      cloneSend: median(() => v8.serialize(observations), rounds),
      cloneReceive: median(() => v8.deserialize(cloned), rounds),
      jsonSend: median(() => JSON.stringify(observations), rounds),
      jsonReceive: median(() => JSON.parse(json), rounds)
    }
  }
}
