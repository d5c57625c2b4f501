import Fastify, { LogController, type FastifyInstance } from 'fastify'
import underPressure from '@fastify/under-pressure'
import type { Logger } from 'pino'
import { errors } from '../errors.js'
import { exceedsDepth } from './json-depth.js'
import { installErrorHandlers } from './errors.js'
import type { AppContext } from './context.js'
import { auditRoute } from './routes/audit.js'
import { admissionRoute } from './routes/admission.js'
import { changesRoutes } from './routes/changes.js'
import { healthRoutes } from './routes/health.js'
import { metricsRoute } from './routes/metrics.js'
import { streamRoutes } from './routes/stream.js'
import { uiRoutes } from './routes/ui.js'

export interface ServerOptions {
  log: Logger
  https?: { cert: Buffer, key: Buffer, ca?: Buffer }
}

export async function buildServer (ctx: AppContext, opts: ServerOptions): Promise<FastifyInstance> {
  const { config } = ctx
  const https = opts.https === undefined
    ? undefined
    : {
        cert: opts.https.cert,
        key: opts.https.key,
        // Ask for a client certificate but let the handshake finish without
        // one: /admission must keep working, only /audit insists.
        ...(opts.https.ca !== undefined ? { ca: opts.https.ca, requestCert: true, rejectUnauthorized: false } : {})
      }
  const app = Fastify({
    loggerInstance: opts.log,
    // Per-request log lines would cost more than ingesting a batch.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    ...(https !== undefined ? { https } : {})
  }) as unknown as FastifyInstance

  // JSON only: anything else is a 415, not a guess.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body: Buffer, done) => {
    if (exceedsDepth(body, config.maxJsonDepth)) {
      done(errors.TOO_DEEP(`body nests deeper than ${config.maxJsonDepth} levels`), undefined)
      return
    }
    try {
      done(null, JSON.parse(body.toString('utf8')))
    } catch (e) {
      done(errors.BAD_JSON(`body is not valid JSON: ${(e as Error).message}`), undefined)
    }
  })

  installErrorHandlers(app, ctx.metrics)
  // Under overload the apiserver gets a 503 and retries the batch later,
  // instead of us queueing without bound.
  await app.register(underPressure, {
    maxEventLoopDelay: 2000,
    maxHeapUsedBytes: 0,
    maxRssBytes: 0,
    exposeStatusRoute: false,
    pressureHandler: (_req, reply, type, value) => {
      void reply.code(503).header('retry-after', '1').send({ code: errors.OVERLOADED.code, message: `overloaded (${type} ${String(value)}), retry later` })
    }
  })

  if (https?.ca !== undefined) {
    app.addHook('onRequest', async req => {
      if (req.url.startsWith('/audit') && !(req.raw.socket as import('node:tls').TLSSocket).authorized) {
        throw errors.UNAUTHORIZED('/audit requires a client certificate signed by the configured client CA')
      }
    })
  }

  auditRoute(app, ctx)
  admissionRoute(app, ctx)
  changesRoutes(app, ctx)
  healthRoutes(app, ctx)
  metricsRoute(app, ctx)
  streamRoutes(app, ctx)
  uiRoutes(app)
  return app
}
