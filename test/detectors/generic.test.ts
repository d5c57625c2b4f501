import t from 'tap'
import { deleteChange, genericDetector, updateDetails, kindDiff } from '../../src/detectors/generic.js'
import { customResourceDetector } from '../../src/detectors/custom-resource.js'
import { routesFor } from '../../src/detectors/index.js'
import type { Observation } from '../../src/model.js'
import type { Open } from '../../src/correlate/open.js'
import { detectorWorld } from '../helpers/detector-context.js'

// The generic detector on plain data: every kind's create, update and delete,
// applied after the quiet period; what a delete does to what was open.

const root = { key: 'uid-cm', uid: 'uid-cm', kind: 'ConfigMap', namespace: 'shop', name: 'settings' }
const cm = (data: Record<string, string>, rv = '10'): any => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'shop', uid: 'uid-cm', resourceVersion: rv }, data })
const obs = (action: Observation['action'], object: any, at = 1_000): Observation => ({
  source: 'audit', at, action, owners: [], object, resourceVersion: object?.metadata?.resourceVersion,
  ref: { apiGroup: '', version: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespace: 'shop', name: 'settings', uid: 'uid-cm' }
})

t.test('owns every kind, and comes last: the delete of any kind but a custom one is its', async t => {
  t.equal(routesFor('ConfigMap', '').onDelete, genericDetector)
  t.equal(routesFor('Deployment', 'apps').onDelete, genericDetector)
  t.equal(routesFor('Service', '').onDelete, genericDetector)
  t.equal(routesFor('Widget', 'example.com').onDelete, customResourceDetector)
  t.equal(routesFor('ConfigMap', '').writes.at(-1), genericDetector)
  t.equal(routesFor('ConfigMap', ''), routesFor('ConfigMap', ''), 'resolved once per kind')
})

t.test('a create is applied after the quiet period; a create over an open change closes it first', async t => {
  const w = detectorWorld()
  t.equal(genericDetector.onWrite!(w.ctx, obs('create', cm({ a: '1' })), root, undefined, undefined), 'uid-cm')
  const open = w.opened[0]!
  t.same([open.type, open.pending, open.idRev], ['create', 'applied', '10'])
  t.same(w.settled, [open])
  genericDetector.onWrite!(w.ctx, obs('create', cm({ a: '2' }, '12')), root, undefined, open)
  t.same(w.closed, [[open, 'applied']], 'what was pending is what it closes with')
})

t.test('an update opens one change; a no-op write opens nothing; a status write only moves what is open', async t => {
  const w = detectorWorld()
  t.equal(genericDetector.onWrite!(w.ctx, obs('update', cm({ a: '1' }, '11')), root, cm({ a: '1' }), undefined), undefined, 'nothing declared changed')
  t.equal(genericDetector.onWrite!(w.ctx, obs('status', cm({ a: '1' }, '11')), root, cm({ a: '1' }), undefined), undefined)
  t.same(w.opened, [])
  const key = genericDetector.onWrite!(w.ctx, obs('update', cm({ a: '2' }, '11')), root, cm({ a: '1' }), undefined)
  const open = w.opened[0]!
  t.equal(key, 'uid-cm')
  t.same([open.type, open.pending, open.firstSight], ['update', 'applied', false])
  genericDetector.onWrite!(w.ctx, obs('update', cm({ a: '3' }, '12'), 2_000), root, cm({ a: '2' }), open)
  t.equal(w.opened.length, 1, 'a second write within the quiet period is the same change')
  t.equal(open.lastAt, 2_000)
  const first = detectorWorld()
  genericDetector.onWrite!(first.ctx, obs('update', cm({ a: '2' })), root, undefined, undefined)
  t.equal(first.opened[0]!.firstSight, true, 'no earlier state known: which fields changed is unknown')
})

t.test('a delete closes what was open (an update applied, a rollout failed), merges the other source\'s sight of it, keeps a custom group', async t => {
  const w = detectorWorld()
  genericDetector.onWrite!(w.ctx, obs('update', cm({ a: '2' })), root, cm({ a: '1' }), undefined)
  const update = w.opened[0]!
  update.pending = null
  const key = genericDetector.onDelete!(w.ctx, obs('delete', cm({ a: '2' }), 3_000), root, cm({ a: '2' }), update)
  t.equal(key, 'uid-cm')
  t.same(w.closed, [[update, 'applied']])
  const del = w.opened[1]!
  t.same([del.type, del.idRev, del.pending, del.group, del.relisted], ['delete', 'delete', 'applied', undefined, undefined])
  const again = { ...obs('delete', undefined, 3_500), source: 'watch' as const }
  t.equal(genericDetector.onDelete!(w.ctx, again, root, undefined, del), 'uid-cm')
  t.equal(w.opened.length, 2, 'the same delete seen by the watch is evidence, not a second delete')
  t.same(del.counts, { audit: 1, watch: 1 })

  const r = detectorWorld()
  const rollout = { type: 'rollout', pending: null } as unknown as Open
  deleteChange(r.ctx, { ...obs('delete', undefined), relist: true }, root, undefined, rollout, 'example.com')
  t.same(r.closed.map(([, o]) => o), ['failed'], 'a rollout cut short by its delete did not succeed')
  t.same([r.opened[0]!.group, r.opened[0]!.relisted], ['example.com', true])
})

t.test('details: the diff of an update, nothing when it changed back; a sensitive kind\'s keys, never its values', async t => {
  const w = detectorWorld()
  genericDetector.onWrite!(w.ctx, obs('update', cm({ a: '2' })), root, cm({ a: '1' }), undefined)
  const open = w.opened[0]!
  const details: any = {}
  t.equal(genericDetector.details!(w.ctx, open, details), true)
  t.same(details, { diff: [{ path: 'data.a' }], keys: { added: [], removed: [], changed: ['a'] } }, 'a ConfigMap is sensitive: which keys moved, not their values')
  open.latest = cm({ a: '1' })
  t.equal(updateDetails(open, {}, kindDiff), false, 'changed and changed back')

  const secret = (data: Record<string, string>): any => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'shop', uid: 'uid-s' }, data })
  const s: Open = { ...w.opened[0]!, root: { key: 'uid-s', uid: 'uid-s', kind: 'Secret', namespace: 'shop', name: 's' }, type: 'create', before: undefined, latest: secret({ password: 'aGVsbG8=' }) } as Open
  const sd: any = {}
  updateDetails(s, sd, kindDiff)
  t.same(sd.keys, { added: ['password'], removed: [], changed: [] })
  t.notMatch(JSON.stringify(sd), /aGVsbG8/)
})
