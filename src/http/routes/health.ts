import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../context.js'

export function healthRoutes (app: FastifyInstance, ctx: AppContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_req, reply) => {
    if (ctx.closing?.() === true) return reply.code(503).send({ code: 'KC_SHUTTING_DOWN', message: 'shutting down' })
    const r = ctx.readiness()
    // Warnings (kinds left out of the watch, RBAC gaps) never block readiness, but are said.
    const warnings = r.warnings !== undefined && r.warnings.length > 0 ? { warnings: r.warnings } : {}
    return reply.code(r.ready ? 200 : 503).send(r.ready ? { status: 'ready', ...warnings } : { code: 'KC_NOT_READY', message: r.reasons.join('; '), ...warnings })
  })
}
