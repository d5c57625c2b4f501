import { condition, describe, isCurrent, isFalse, isTrue, targetGeneration } from './conditions.js'
import type { StatusInput, StatusResult, StatusRule } from './types.js'

// cert-manager (cert-manager.io/v1). No top-level observedGeneration: every
// condition carries its own (apiutil.SetCertificateCondition(crt, crt.Generation, …)).
// Certificate: Ready=True reason Ready "Certificate is up to date and has not
// expired" (certificates/readiness); while issuing, Issuing=True; a failed
// CertificateRequest turns Issuing=False with the request's reason (Failed)
// and sets status.lastFailureTime / failedIssuanceAttempts; issuance is retried
// with backoff (certificates/issuing failIssueCertificate) — the attempt failed.
// Issuer / ClusterIssuer: Ready=True (KeyPairVerified, ACMEAccountRegistered,
// IsReady) or Ready=False (ErrGetKeyPair, ErrRegisterACMEAccount, InvalidConfig…).

function stale (gen: number): StatusResult {
  return { state: 'waiting', reason: 'LatestGenerationNotObserved', message: `no condition shows generation ${gen} yet` }
}

export function certificateStatus (input: StatusInput): StatusResult {
  const obj = input.object
  const gen = targetGeneration(input)
  const issuing = condition(obj, 'Issuing')
  const ready = condition(obj, 'Ready')
  if (isFalse(issuing) && isCurrent(issuing!, input) && issuing!.reason === 'Failed') {
    return { state: 'failed', reason: 'IssuanceFailed', ...(describe(issuing).message !== undefined ? { message: describe(issuing).message } : {}) }
  }
  if (isTrue(issuing)) return { state: 'waiting', reason: 'Issuing', ...(describe(issuing).message !== undefined ? { message: describe(issuing).message } : {}) }
  if (ready === undefined || !isCurrent(ready, input)) return stale(gen)
  if (isTrue(ready)) return { state: 'succeeded', ...describe(ready) }
  return { state: 'waiting', ...describe(ready) }
}

export function issuerStatus (input: StatusInput): StatusResult {
  const ready = condition(input.object, 'Ready')
  if (ready === undefined || !isCurrent(ready, input)) return stale(targetGeneration(input))
  if (isTrue(ready)) return { state: 'succeeded', ...describe(ready) }
  if (isFalse(ready)) return { state: 'failed', ...describe(ready) }
  return { state: 'waiting', ...describe(ready) }
}

export const CERTIFICATE: StatusRule = { name: 'cert-manager.io/Certificate', evaluate: certificateStatus }
export const ISSUER: StatusRule = { name: 'cert-manager.io/Issuer', evaluate: issuerStatus }
export const CLUSTER_ISSUER: StatusRule = { name: 'cert-manager.io/ClusterIssuer', evaluate: issuerStatus }
