import type { FastifyInstance, FastifyRequest } from 'fastify'
import { errors } from '../../errors.js'
import { bearer, hasVerifiedClientCert, tokenMatches } from '../auth.js'
import type { AppContext } from '../context.js'

// POST /audit: what kube-apiserver's webhook backend sends. 200 once the
// batch is processed; a bad item inside a good batch is skipped and counted,
// because a 4xx would make the apiserver retry the whole batch and then drop it.
//
// Whoever can post here can say "alice deleted shop/db": every check that is
// configured (client certificate, bearer token) must pass, before the body is read.

export interface AuditAuth {
  /** The server verifies client certificates against a client CA. */
  clientCert: boolean
}

export function auditRoute (app: FastifyInstance, ctx: AppContext, auth: AuditAuth = { clientCert: false }): void {
  const authenticate = async (req: FastifyRequest): Promise<void> => {
    if (auth.clientCert && !hasVerifiedClientCert(req)) {
      throw errors.UNAUTHORIZED('/audit requires a client certificate signed by the configured client CA')
    }
    const token = ctx.auditToken?.()
    if (token !== undefined && !tokenMatches(bearer(req), token)) {
      throw errors.UNAUTHORIZED('/audit requires the audit bearer token (users[].user.token in the webhook kubeconfig)')
    }
  }
  app.post('/audit', { onRequest: authenticate }, async (req, reply) => {
    const res = ctx.inTransaction(() => ctx.pipeline.ingestAudit(req.body))
    if (res instanceof Error) throw res
    if (res.malformed > 0) req.log.warn({ malformed: res.malformed, received: res.received }, 'skipped malformed audit events')
    return reply.code(200).send(res)
  })
}
