import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../context.js'

export function healthRoutes (app: FastifyInstance, ctx: AppContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_req, reply) => {
    if (ctx.closing?.() === true) return reply.code(503).send({ code: 'KC_SHUTTING_DOWN', message: 'shutting down' })
    const r = ctx.readiness()
    return reply.code(r.ready ? 200 : 503).send(r.ready ? { status: 'ready' } : { code: 'KC_NOT_READY', message: r.reasons.join('; ') })
  })
}
