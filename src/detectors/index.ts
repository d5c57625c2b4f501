import type { Detector } from './detector.js'
import { customResourceDetector } from './custom-resource.js'
import { jobDetector } from './job.js'

// Every detector, in one list: the first that owns a kind gets its writes.
// (Families still inside the correlator — workloads, Services and endpoints,
// the generic update and every kind's delete — move here one at a time.)
export const DETECTORS: readonly Detector[] = [customResourceDetector, jobDetector]

export function detectorFor (kind: string, group: string): Detector | undefined {
  return DETECTORS.find(d => d.owns(kind, group))
}

export { NOT_MINE, type Detector, type DetectorContext, type Routed } from './detector.js'
