import type { Detector } from './detector.js'
import { customResourceDetector } from './custom-resource.js'
import { jobDetector } from './job.js'
import { workloadDetector } from './workload-detector.js'
import { serviceDetector } from './service-detector.js'
import { endpointsDetector } from './endpoints.js'
import { genericDetector } from './generic.js'

// Every detector, in one list: for each hook, the first detector that owns a
// kind and has the hook gets it (a write may fall through with NOT_MINE). The
// generic detector owns every kind and comes last, so every kind is updated,
// created and deleted somehow.
export const DETECTORS: readonly Detector[] = [customResourceDetector, jobDetector, workloadDetector, serviceDetector, endpointsDetector, genericDetector]

/** The first detector that owns a kind. */
export function detectorFor (kind: string, group: string): Detector | undefined {
  return DETECTORS.find(d => d.owns(kind, group))
}

/** Which detector answers each hook for one kind: resolved once per kind, read per observation. */
export interface Routes {
  observe: Detector | undefined
  /** The first owner's only: a kind named Job from a custom group is a custom resource in the first list too. */
  baseline: Detector | undefined
  /** Every owner with onWrite, in order (a write falls through NOT_MINE to the next). */
  writes: readonly Detector[]
  onDelete: Detector
  /** A detector whose change this kind's root writes may belong to (not one of its owners). */
  claim: Detector | undefined
  noteRefs: Detector | undefined
  /** Objects of this kind are run by an operator. */
  operated: boolean
  onChild: Detector | undefined
  details: Detector | undefined
  span: Detector | undefined
}

function resolve (kind: string, group: string): Routes {
  const owners = DETECTORS.filter(d => d.owns(kind, group))
  const first = (hook: keyof Detector): Detector | undefined => owners.find(d => d[hook] !== undefined)
  return {
    observe: first('observe'),
    baseline: owners[0]?.baseline !== undefined ? owners[0] : undefined,
    writes: owners.filter(d => d.onWrite !== undefined),
    onDelete: first('onDelete') ?? genericDetector,
    claim: DETECTORS.find(d => d.claim !== undefined && d.joins?.(kind, group) === true),
    noteRefs: first('noteRefs'),
    operated: owners.some(d => d.operated?.(kind, group) === true),
    onChild: first('onChild'),
    details: first('details'),
    span: first('span')
  }
}

// group → kind → routes. Kinds come from network input, so the cache is
// bounded: past it, routes are resolved per call (correct, only slower).
const MAX_CACHED = 4096
const cache = new Map<string, Map<string, Routes>>()
let cached = 0

export function routesFor (kind: string, group: string): Routes {
  let byKind = cache.get(group)
  const hit = byKind?.get(kind)
  if (hit !== undefined) return hit
  const routes = resolve(kind, group)
  if (cached >= MAX_CACHED) return routes
  if (byKind === undefined) cache.set(group, byKind = new Map())
  byKind.set(kind, routes)
  cached++
  return routes
}

export { NOT_MINE, type Detector, type DetectorContext, type DetectorState, type Routed } from './detector.js'
