import type { Action, Observation } from '../model.js'
import { errors, type KubechangesError } from '../errors.js'
import { actorFromUserInfo, ownersOf } from './audit.js'
import { isNoiseResource, isSensitiveKind } from './kinds.js'
import { redactValues } from './redact.js'

// admission.k8s.io/v1 AdmissionReview → an Observation that carries who is
// making a write. Admission runs before the write is persisted (no
// resourceVersion yet), so the correlator uses it for the actor and joins it
// with the write itself when audit or the watch reports it.

export const ADMISSION_UID_ANNOTATION = 'admission-uid'

export type AdmissionResult =
  | { kind: 'observation', uid: string, apiVersion: string, observation: Observation }
  | { kind: 'ignored', uid: string, apiVersion: string }
  | { kind: 'malformed', error: KubechangesError }

const OPERATIONS: Record<string, Action> = { CREATE: 'create', UPDATE: 'update', DELETE: 'delete' }

function isObject (v: unknown): v is Record<string, any> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

export function normalizeAdmissionReview (body: unknown, now: number = Date.now()): AdmissionResult {
  if (!isObject(body) || body.kind !== 'AdmissionReview') return { kind: 'malformed', error: errors.BAD_ADMISSION_REVIEW('body must be an AdmissionReview') }
  const apiVersion = typeof body.apiVersion === 'string' ? body.apiVersion : ''
  if (apiVersion !== 'admission.k8s.io/v1' && apiVersion !== 'admission.k8s.io/v1beta1') {
    return { kind: 'malformed', error: errors.BAD_ADMISSION_REVIEW(`unsupported apiVersion ${JSON.stringify(apiVersion).slice(0, 60)}`) }
  }
  const req = body.request
  if (!isObject(req) || typeof req.uid !== 'string' || req.uid === '') return { kind: 'malformed', error: errors.BAD_ADMISSION_REVIEW('request.uid is missing') }
  const uid = req.uid
  const ignored = { kind: 'ignored' as const, uid, apiVersion }
  const action = OPERATIONS[String(req.operation)]
  if (action === undefined || req.dryRun === true) return ignored
  const resource = isObject(req.resource) ? req.resource : {}
  const group = typeof resource.group === 'string' ? resource.group : ''
  const res = typeof resource.resource === 'string' ? resource.resource : ''
  const sub = typeof req.subResource === 'string' && req.subResource !== '' ? req.subResource : undefined
  if (res === '' || isNoiseResource(group, res) || (sub !== undefined && sub !== 'scale')) return ignored
  const kind = isObject(req.kind) && typeof req.kind.kind === 'string' ? req.kind.kind : res
  const sensitive = isSensitiveKind(kind)
  const object = isObject(req.object) ? (sensitive ? redactValues(req.object) : req.object) : undefined
  const oldObject = isObject(req.oldObject) ? (sensitive ? redactValues(req.oldObject) : req.oldObject) : undefined
  const name = typeof req.name === 'string' && req.name !== '' ? req.name : object?.metadata?.name ?? oldObject?.metadata?.name ?? ''
  if (name === '') return ignored
  const objUid = object?.metadata?.uid ?? oldObject?.metadata?.uid
  const obs: Observation = {
    source: 'admission',
    at: now,
    ref: {
      apiGroup: group,
      version: typeof resource.version === 'string' ? resource.version : '',
      kind,
      resource: res,
      namespace: typeof req.namespace === 'string' ? req.namespace : '',
      name,
      ...(sub !== undefined ? { subresource: sub } : {}),
      ...(typeof objUid === 'string' && objUid !== '' ? { uid: objUid } : {})
    },
    action,
    owners: ownersOf(object ?? oldObject),
    admissionUID: uid
  }
  const actor = actorFromUserInfo(req.userInfo)
  if (actor !== undefined) obs.actor = actor
  if (object !== undefined) obs.object = object
  if (oldObject !== undefined) obs.oldObject = oldObject
  return { kind: 'observation', uid, apiVersion, observation: obs }
}
