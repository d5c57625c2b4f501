import t from 'tap'
import { customResourceDetector } from '../../src/detectors/custom-resource.js'
import { routesFor } from '../../src/detectors/index.js'
import type { Observation } from '../../src/model.js'
import { detectorWorld } from '../helpers/detector-context.js'

// What the custom-resource detector claims beyond its own kinds: a Secret
// its change names (cert-manager's spec.secretName) joins that change when
// an operator writes it; an operator's writes to a custom resource's (or an
// Argo Rollout's) children are the controller's, not a person's.

const root = { key: 'uid-c', uid: 'uid-c', kind: 'Certificate', namespace: 'shop', name: 'web-tls' }
const cert: any = { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'web-tls', namespace: 'shop', uid: 'uid-c', generation: 1 }, spec: { secretName: 'web-tls-secret' } }
const secretWrite = (user: string, name = 'web-tls-secret'): Observation => ({
  source: 'audit', at: 2_000, action: 'update', owners: [], actor: { username: user, groups: [] },
  ref: { apiGroup: '', version: 'v1', kind: 'Secret', resource: 'secrets', namespace: 'shop', name }
})

t.test('Secrets are joined by the custom-resource detector; operators run custom kinds and the Argo Rollout only', async t => {
  t.equal(routesFor('Secret', '').claim, customResourceDetector)
  t.equal(routesFor('ConfigMap', '').claim, undefined)
  t.equal(routesFor('Certificate', 'cert-manager.io').operated, true)
  t.equal(routesFor('Rollout', 'argoproj.io').operated, true)
  t.equal(routesFor('Deployment', 'apps').operated, false)
})

t.test("an operator's write to the Secret a Certificate names joins the Certificate's change; anyone else's does not", async t => {
  const w = detectorWorld()
  const obs: Observation = { source: 'audit', at: 1_000, action: 'create', owners: [], object: cert, generation: 1, ref: { apiGroup: 'cert-manager.io', version: 'v1', kind: 'Certificate', resource: 'certificates', namespace: 'shop', name: 'web-tls', uid: 'uid-c' } }
  customResourceDetector.onWrite!(w.ctx, obs, root, undefined, undefined)
  const open = w.opened[0]!
  customResourceDetector.noteRefs!(w.ctx, open)
  t.equal(customResourceDetector.claim!(w.ctx, secretWrite('system:serviceaccount:cert-manager:cert-manager')), open)
  t.equal(customResourceDetector.claim!(w.ctx, secretWrite('alice@example.com')), undefined, 'a person editing the Secret is a change of its own')
  t.equal(customResourceDetector.claim!(w.ctx, secretWrite('system:serviceaccount:kube-system:generic-garbage-collector')), undefined, "kube-system's controllers are never an operator")
  t.equal(customResourceDetector.claim!(w.ctx, secretWrite('system:serviceaccount:cert-manager:cert-manager', 'other')), undefined)
  open.latest = { ...cert, spec: { secretName: 'renamed' } }
  t.equal(customResourceDetector.claim!(w.ctx, secretWrite('system:serviceaccount:cert-manager:cert-manager')), undefined, 'the change moved on to another Secret: the stale entry is forgotten')
})
