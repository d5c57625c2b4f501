import type { FastifyError, FastifyInstance } from 'fastify'
import { errors, isKubechangesError } from '../errors.js'
import type { PipelineMetrics } from '../metrics.js'

// Every HTTP error leaves as {code, message} with a stable code, whether it
// was raised by a route, by fastify's body handling, or not found at all.

const FASTIFY_CODES: Record<string, (m: string) => ReturnType<typeof errors.BAD_JSON>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: m => errors.BODY_TOO_LARGE(m),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: m => errors.UNSUPPORTED_MEDIA_TYPE(m),
  FST_ERR_CTP_EMPTY_JSON_BODY: m => errors.BAD_JSON(m),
  FST_ERR_CTP_INVALID_JSON_BODY: m => errors.BAD_JSON(m),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: m => errors.BAD_JSON(m),
  FST_ERR_VALIDATION: m => errors.BAD_PARAMETER(m)
}

export function installErrorHandlers (app: FastifyInstance, metrics: PipelineMetrics): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    let e = isKubechangesError(err) ? err : undefined
    if (e === undefined && err.code !== undefined && FASTIFY_CODES[err.code] !== undefined) e = FASTIFY_CODES[err.code]!(err.message)
    if (e === undefined && err.statusCode === 503) e = errors.OVERLOADED(err.message)
    if (e === undefined && err instanceof SyntaxError) e = errors.BAD_JSON(`body is not valid JSON: ${err.message}`)
    if (e === undefined && typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) e = errors.BAD_PARAMETER(err.message)
    if (e === undefined) {
      req.log.error({ err }, 'unexpected error')
      e = errors.INTERNAL('internal error')
    }
    metrics.rejected.inc({ route: req.routeOptions.url ?? 'unknown', code: String(e.statusCode) })
    void reply.code(e.statusCode).type('application/json').send({ code: e.code, message: e.message })
  })
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ code: errors.NOT_FOUND.code, message: `no route ${req.method} ${req.url.split('?')[0]}` })
  })
}
