import type { FastifyInstance, FastifyReply } from 'fastify'
import type { AppContext } from '../context.js'

export function healthRoutes (app: FastifyInstance, ctx: AppContext): void {
  // Not alive once a commit failed: the kubelet's liveness probe restarts the
  // process, which reloads the state from disk (in case it did not exit itself).
  const failed = (reply: FastifyReply): FastifyReply | undefined => {
    const e = ctx.storeFailed?.()
    return e === undefined ? undefined : reply.code(503).send({ code: 'KC_STORE_FAILED', message: e.message })
  }
  app.get('/healthz', async (_req, reply) => failed(reply) ?? { status: 'ok' })
  app.get('/readyz', async (_req, reply) => {
    const f = failed(reply)
    if (f !== undefined) return f
    if (ctx.closing?.() === true) return reply.code(503).send({ code: 'KC_SHUTTING_DOWN', message: 'shutting down' })
    const r = ctx.readiness()
    // Warnings (kinds left out of the watch, RBAC gaps) never block readiness, but are said.
    const warnings = r.warnings !== undefined && r.warnings.length > 0 ? { warnings: r.warnings } : {}
    return reply.code(r.ready ? 200 : 503).send(r.ready ? { status: 'ready', ...warnings } : { code: 'KC_NOT_READY', message: r.reasons.join('; '), ...warnings })
  })
}
