import type { ChangeDetails } from '../model.js'
import type { Open } from '../correlate/open.js'

// Report parts every family shares, read from the plain data of an open change.

type EndpointMoves = NonNullable<ChangeDetails['endpoints']>

/** Per Service whose endpoints the change moved: the addresses added and removed since its baseline. */
export function endpointMoves (open: Open): EndpointMoves {
  const out: EndpointMoves = []
  for (const f of Object.values(open.folds)) {
    const baseline = new Set(f.baseline)
    const current = new Set(f.current)
    const e = {
      service: f.service,
      added: [...current].filter(a => !baseline.has(a)).sort(),
      removed: [...baseline].filter(a => !current.has(a)).sort()
    }
    if (e.added.length + e.removed.length > 0) out.push(e)
  }
  return out
}

/** Event reasons that say why a change failed when the status only says that it did. */
export const FAILURE_EVENTS = new Set(['FailedCreate', 'ImagePullBackOff', 'ErrImagePull', 'BackOff', 'FailedScheduling', 'FailedMount', 'Unhealthy', 'CrashLoopBackOff', 'FailedAttachVolume'])
