import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../context.js'

export function healthRoutes (app: FastifyInstance, ctx: AppContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_req, reply) => {
    const r = ctx.readiness()
    return reply.code(r.ready ? 200 : 503).send(r.ready ? { status: 'ready' } : { code: 'KC_NOT_READY', message: r.reasons.join('; ') })
  })
}
