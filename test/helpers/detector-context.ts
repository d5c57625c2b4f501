import type { DetectorContext, DetectorState } from '../../src/detectors/index.js'
import { DETECTORS } from '../../src/detectors/index.js'
import type { Open } from '../../src/correlate/open.js'
import type { ObjectInfo, RootRef } from '../../src/correlate/owners.js'
import type { Observation } from '../../src/model.js'

// A DetectorContext that keeps open changes as plain data and records what a
// detector asked of the correlator, so a detector's test reads its decisions.
// The window is a Map by key; the object index is what the test puts in
// `objects` (uid → info); roots are the object itself unless `roots` says
// otherwise.

export interface DetectorWorld {
  ctx: DetectorContext
  opened: Open[]
  closed: Array<[Open, string]>
  settled: Open[]
  deadlines: Array<[Open, number]>
  refs: Open[]
  /** The open changes by key, as the correlator's window would hold them. */
  window: Map<string, Open>
  /** Changes taken out unreported (folded into another). */
  dropped: Open[]
  objects: Map<string, ObjectInfo>
  /** uid → the root its owners lead to. */
  roots: Map<string, RootRef>
}

function timelineEntry (o: Observation): Open['timeline'][number] {
  return { at: new Date(o.at).toISOString(), source: o.source, action: o.action, kind: o.ref.kind, name: o.ref.name }
}

export function detectorWorld (kinds?: DetectorContext['kinds']): DetectorWorld {
  const w: DetectorWorld = { ctx: undefined as unknown as DetectorContext, opened: [], closed: [], settled: [], deadlines: [], refs: [], window: new Map(), dropped: [], objects: new Map(), roots: new Map() }
  const states = new Map<unknown, DetectorState>()
  for (const d of DETECTORS) {
    const st = d.createState?.()
    if (st !== undefined) states.set(d, st)
  }
  const evidence = (open: Open, o: Observation): void => {
    open.lastAt = Math.max(open.lastAt, o.at)
    open.counts[o.source] = (open.counts[o.source] ?? 0) + 1
    if (o.object !== undefined && o.ref.uid === open.root.uid && o.ref.kind === open.root.kind) open.latest = o.object
    open.timeline.push(timelineEntry(o))
  }
  const begin: DetectorContext['begin'] = (o, r, type, idRev, before) => {
    const open: Open = { key: r.key, type, root: r, openedBy: o.source, actor: null, startedAt: o.at, lastAt: o.at, settleAt: null, pending: null, idRev, superseded: [], counts: {}, auditIDs: [], timeline: [], timelineDropped: 0, folds: {}, events: {} }
    if (before !== undefined) open.before = before
    if (o.object !== undefined) open.latest = o.object
    w.opened.push(open)
    w.window.set(r.key, open)
    return open
  }
  w.ctx = {
    open: (o, r, type, idRev, before) => {
      const open = begin(o, r, type, idRev, before)
      evidence(open, o)
      return open
    },
    begin,
    close: (open, outcome) => {
      w.window.delete(open.key)
      w.closed.push([open, outcome])
    },
    evidence: (open, o) => { evidence(open, o) },
    settleLater: open => { w.settled.push(open) },
    setSettle: (open, at) => { w.deadlines.push([open, at]) },
    noteRefs: open => { w.refs.push(open) },
    rev: o => o.resourceVersion ?? 'rv',
    kinds,
    maxTimeline: 50,
    get: key => w.window.get(key),
    peek: key => w.window.get(key),
    opens: () => [...w.window.values()],
    drop: open => {
      w.window.delete(open.key)
      w.dropped.push(open)
    },
    known: uid => w.objects.get(uid),
    uidByName: (kind, namespace, name) => [...w.objects.values()].find(i => i.kind === kind && i.namespace === namespace && i.name === name)?.uid,
    rootOf: (uid, ref) => w.roots.get(uid) ?? { key: uid, uid, kind: ref.kind, namespace: ref.namespace, name: ref.name },
    stateOf: d => states.get(d)
  }
  return w
}
