import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../context.js'
import { ADMISSION_UID_ANNOTATION, normalizeAdmissionReview } from '../../sources/admission.js'

// POST /admission: a validating webhook that never says no. It answers at
// once with the request's uid echoed and allowed: true (failurePolicy Ignore
// in the manifest: if we are down, nothing is blocked), and feeds the
// review to the pipeline as an observation carrying who made the request.

export function admissionRoute (app: FastifyInstance, ctx: AppContext): void {
  app.post('/admission', async (req, reply) => {
    const r = normalizeAdmissionReview(req.body, ctx.now())
    if (r.kind === 'malformed') throw r.error
    const response: Record<string, unknown> = { uid: r.uid, allowed: true }
    if (r.kind === 'observation') {
      ctx.inTransaction(() => { ctx.pipeline.ingest(r.observation) })
      // kube-apiserver copies these into the audit event of the same request:
      // the exact join between the two sources.
      response.auditAnnotations = { [ADMISSION_UID_ANNOTATION]: r.uid }
    }
    return reply.code(200).send({ apiVersion: r.apiVersion, kind: 'AdmissionReview', response })
  })
}
