import t from 'tap'
import { Cluster, R, USERS } from '../../helpers/cluster.js'
import { createIssuer, issueCertificate } from '../../helpers/custom-resources.js'
import { normalizeAuditEvent } from '../../../src/sources/audit.js'
import { statusRuleFor, type StatusResult } from '../../../src/detectors/status/index.js'

// cert-manager's status as its controllers write it (cert-manager/cert-manager
// pkg/controller/certificates/{issuing,readiness}, pkg/issuer/{ca,acme}/setup.go):
// no top-level observedGeneration, every condition carries its own.

const judge = (kind: string, objects: any[], generation = 1): StatusResult[] => {
  const rule = statusRuleFor(kind, 'cert-manager.io', {})
  return objects.map(object => rule.evaluate({ object, generation }))
}

t.test('Certificate issued: Issuing, the Secret applied, Ready=True', async t => {
  const c = new Cluster()
  const p = issueCertificate(c, USERS.alice, 'shop', 'web', ['web.example.com'])
  t.same(judge('Certificate', [p.created, ...p.statuses]), [
    { state: 'waiting', reason: 'LatestGenerationNotObserved', message: 'no condition shows generation 1 yet' },
    { state: 'waiting', reason: 'Issuing', message: 'Issuing certificate as Secret does not exist' },
    { state: 'waiting', reason: 'DoesNotExist', message: 'Issuing certificate as Secret does not exist' },
    { state: 'succeeded', reason: 'Ready', message: 'Certificate is up to date and has not expired' }
  ])
  t.same(p.secret.metadata.ownerReferences, [{ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', name: 'web', uid: p.created.metadata.uid, controller: true, blockOwnerDeletion: true }], 'with --enable-certificate-owner-ref')
  // The Secret write is audited at Metadata (the policy never sends secret bodies): a server-side apply, no object.
  const secretEvent = c.take().find(e => e.objectRef?.resource === 'secrets')!
  t.same([secretEvent.verb, secretEvent.level, secretEvent.responseObject], ['patch', 'Metadata', undefined])
  const obs = normalizeAuditEvent(secretEvent)
  t.equal(obs.kind, 'observation')
  t.equal((obs as any).observation.object, undefined)
  t.equal(c.get(R.secrets, 'shop', 'web-tls').type, 'kubernetes.io/tls')
})

t.test('Certificate whose request failed: Issuing=False Failed is the outcome of this attempt', async t => {
  const c = new Cluster()
  const p = issueCertificate(c, USERS.alice, 'shop', 'web', ['web.example.com'], 'failed')
  t.same(judge('Certificate', [p.statuses.at(-1)]), [{
    state: 'failed', reason: 'IssuanceFailed',
    message: 'The certificate request has failed to complete and will be retried: Failed to wait for order resource "web-1-3849261" to become ready: order is in "invalid" state: '
  }])
  t.equal(p.statuses.at(-1).status.failedIssuanceAttempts, 1)
  // A Ready=True from before a spec change (its condition says generation 1) does not close the change to generation 2.
  const issued = issueCertificate(new Cluster(), USERS.alice, 'shop', 'web', ['web.example.com']).statuses.at(-1)
  t.same(judge('Certificate', [issued], 2), [{ state: 'waiting', reason: 'LatestGenerationNotObserved', message: 'no condition shows generation 2 yet' }])
})

t.test('Issuer: KeyPairVerified, or ErrGetKeyPair', async t => {
  const c = new Cluster()
  t.same(judge('Issuer', createIssuer(c, USERS.alice, 'shop', 'ca', 'ca-key-pair').statuses), [{ state: 'succeeded', reason: 'KeyPairVerified', message: 'Signing CA verified' }])
  t.same(judge('Issuer', createIssuer(c, USERS.alice, 'shop', 'ca2', 'missing', 'failed').statuses), [{ state: 'failed', reason: 'ErrGetKeyPair', message: 'Error getting keypair for CA issuer: secrets "missing" not found' }])
  t.equal(statusRuleFor('ClusterIssuer', 'cert-manager.io', {}).name, 'cert-manager.io/ClusterIssuer')
  t.same(judge('Issuer', [{ metadata: { generation: 1 }, status: { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'Pending', observedGeneration: 1 }] } }]), [{ state: 'waiting', reason: 'Pending' }])
})
