import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../context.js'

// POST /audit: what kube-apiserver's webhook backend sends. 200 once the
// batch is processed; a bad item inside a good batch is skipped and counted,
// because a 4xx would make the apiserver retry the whole batch and then drop it.

export function auditRoute (app: FastifyInstance, ctx: AppContext): void {
  app.post('/audit', async (req, reply) => {
    const res = ctx.inTransaction(() => ctx.pipeline.ingestAudit(req.body))
    if (res instanceof Error) throw res
    if (res.malformed > 0) req.log.warn({ malformed: res.malformed, received: res.received }, 'skipped malformed audit events')
    return reply.code(200).send(res)
  })
}
