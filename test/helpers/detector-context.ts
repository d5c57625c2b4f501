import type { DetectorContext } from '../../src/detectors/index.js'
import type { Open } from '../../src/correlate/open.js'

// A DetectorContext that keeps open changes as plain data and records what a
// detector asked of the correlator, so a detector's test reads its decisions.

export interface DetectorWorld {
  ctx: DetectorContext
  opened: Open[]
  closed: Array<[Open, string]>
  settled: Open[]
  deadlines: Array<[Open, number]>
  refs: Open[]
}

export function detectorWorld (kinds?: DetectorContext['kinds']): DetectorWorld {
  const w: DetectorWorld = { ctx: undefined as unknown as DetectorContext, opened: [], closed: [], settled: [], deadlines: [], refs: [] }
  w.ctx = {
    open: (o, r, type, idRev, before) => {
      const open: Open = { key: r.key, type, root: r, openedBy: o.source, actor: null, startedAt: o.at, lastAt: o.at, settleAt: null, pending: null, idRev, superseded: [], counts: {}, auditIDs: [], timeline: [], timelineDropped: 0, folds: {}, events: {} }
      if (before !== undefined) open.before = before
      if (o.object !== undefined) open.latest = o.object
      w.opened.push(open)
      return open
    },
    close: (open, outcome) => { w.closed.push([open, outcome]) },
    evidence: (open, o) => {
      open.lastAt = Math.max(open.lastAt, o.at)
      if (o.object !== undefined) open.latest = o.object
    },
    settleLater: open => { w.settled.push(open) },
    setSettle: (open, at) => { w.deadlines.push([open, at]) },
    noteRefs: open => { w.refs.push(open) },
    rev: o => o.resourceVersion ?? 'rv',
    kinds
  }
  return w
}
