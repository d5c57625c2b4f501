import Fastify, { LogController, type FastifyInstance } from 'fastify'
import underPressure from '@fastify/under-pressure'
import type { Server } from 'node:http'
import type { Logger } from 'pino'
import type { HttpLimits } from '../config.js'
import { errors } from '../errors.js'
import { exceedsDepth } from './json-depth.js'
import { installErrorHandlers } from './errors.js'
import { clientErrorHandler } from './client-errors.js'
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
  const limits = config.http
  // How often node looks for connections past the header/request timeouts
  // (30 s by default, which would let a slow-loris hold a socket 4x longer).
  const checking = { connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4) || 1000)) }
  const https = opts.https === undefined
    ? undefined
    : {
        ...checking,
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
    clientErrorHandler: clientErrorHandler(ctx.metrics),
    bodyLimit: config.bodyLimitBytes,
    ...(https !== undefined ? { https } : { http: checking })
  }) as unknown as FastifyInstance
  applyLimits(app.server, limits)

  // JSON only: anything else is a 415, not a guess.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body: Buffer, done) => {
    let value: unknown
    try {
      value = JSON.parse(body.toString('utf8'))
    } catch (e) {
      done(errors.BAD_JSON(`body is not valid JSON: ${(e as Error).message}`), undefined)
      return
    }
    // After the parse (V8's parser does not recurse), before anything walks the value.
    if (exceedsDepth(value, config.maxJsonDepth)) {
      done(errors.TOO_DEEP(`body nests deeper than ${config.maxJsonDepth} levels`), undefined)
      return
    }
    done(null, value)
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

  auditRoute(app, ctx, { clientCert: https?.ca !== undefined })
  admissionRoute(app, ctx)
  changesRoutes(app, ctx)
  healthRoutes(app, ctx)
  metricsRoute(app, ctx)
  streamRoutes(app, ctx)
  uiRoutes(app)
  return app
}

// Set on the node server itself: fastify reads 0 as "its default", here 0 means none.
function applyLimits (server: Server, limits: HttpLimits): void {
  server.headersTimeout = limits.headersTimeoutMs
  server.requestTimeout = limits.requestTimeoutMs
  server.keepAliveTimeout = limits.keepAliveTimeoutMs
  server.setTimeout(limits.connectionTimeoutMs)
  server.maxConnections = limits.maxConnections
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket === 0 ? null : limits.maxRequestsPerSocket
}
