import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../context.js'

export function metricsRoute (app: FastifyInstance, ctx: AppContext): void {
  app.get('/metrics', async (_req, reply) => {
    return reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics())
  })
}
