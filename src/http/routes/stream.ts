import type { FastifyInstance } from 'fastify'
import type { ServerResponse } from 'node:http'
import { Counter, Gauge, type Registry } from 'prom-client'
import { errors } from '../../errors.js'
import type { Change } from '../../model.js'
import type { AppContext } from '../context.js'
import { checkToken, parseChangeQuery } from './changes.js'

// GET /changes/stream: Server-Sent Events of changes as they are recorded.
// A client that comes back with Last-Event-ID is first caught up from the
// store in recording order (seq), page by page as its socket drains, then
// switched to live delivery in the same tick, so nothing is sent twice or
// skipped. Live frames are written straight to the socket; a client whose
// unsent bytes pass maxBufferedBytes is dropped (it resumes with
// Last-Event-ID) instead of growing the server's memory.

export interface StreamOptions {
  /** Comment lines this often keep proxies from closing an idle stream. */
  heartbeatMs?: number
  /** Unsent bytes a live client may hold before it is dropped. */
  maxBufferedBytes?: number
}

export interface StreamFilter {
  namespace?: string
  kind?: string
  name?: string
  type?: string
  outcome?: string
  user?: string
  cluster?: string
}

const DEFAULTS = { heartbeatMs: 15_000, maxBufferedBytes: 1 << 20 }
const PAGE = 200
/** What EventSource clients wait before reconnecting. */
const RETRY_MS = 2000
const NOT_FOR_STREAMS = ['limit', 'cursor', 'since', 'until', 'uid']

export function parseStreamFilter (q: Record<string, unknown>): StreamFilter {
  for (const k of NOT_FOR_STREAMS) {
    if (k in q) throw errors.BAD_PARAMETER(`${k}: not a stream parameter (use Last-Event-ID to resume)`)
  }
  const { cluster, ...rest } = q
  const parsed = parseChangeQuery(rest)
  const out: StreamFilter = {}
  for (const k of ['namespace', 'kind', 'name', 'type', 'outcome', 'user'] as const) {
    if (parsed[k] !== undefined) out[k] = parsed[k]
  }
  if (cluster !== undefined) {
    if (typeof cluster !== 'string' || cluster === '' || cluster.length > 512) throw errors.BAD_PARAMETER('cluster: expected one non-empty value of at most 512 characters')
    out.cluster = cluster
  }
  return out
}

export function matchesFilter (c: Change, f: StreamFilter): boolean {
  return (f.namespace === undefined || c.object.namespace === f.namespace) &&
    (f.kind === undefined || c.object.kind === f.kind) &&
    (f.name === undefined || c.object.name === f.name) &&
    (f.type === undefined || c.type === f.type) &&
    (f.outcome === undefined || c.outcome === f.outcome) &&
    (f.user === undefined || c.actor?.username === f.user) &&
    // Changes carry a cluster once several clusters share one store.
    (f.cluster === undefined || (c as { cluster?: string }).cluster === f.cluster)
}

export function changeFrame (c: Change): string {
  // JSON.stringify never emits a raw newline, so one data line is enough.
  return `event: change\nid: ${c.id}\ndata: ${JSON.stringify(c)}\n\n`
}

function streamMetrics (registry: Registry): { clients: Gauge, dropped: Counter<'reason'> } {
  const clients = registry.getSingleMetric('kubechanges_stream_clients') as Gauge | undefined ??
    new Gauge({ name: 'kubechanges_stream_clients', help: 'Clients connected to GET /changes/stream', registers: [registry] })
  const dropped = registry.getSingleMetric('kubechanges_stream_dropped_total') as Counter<'reason'> | undefined ??
    new Counter({ name: 'kubechanges_stream_dropped_total', help: 'Stream clients dropped by the server, by reason (slow: unsent bytes over the limit)', labelNames: ['reason'], registers: [registry] })
  return { clients, dropped }
}

export function streamRoutes (app: FastifyInstance, ctx: AppContext): void {
  const opts = { ...DEFAULTS, ...ctx.stream }
  const metrics = streamMetrics(ctx.metrics.registry)
  const open = new Set<ServerResponse>()
  // Streams never end on their own: close them so the server can stop.
  app.addHook('preClose', async () => { for (const res of open) res.end() })

  app.get('/changes/stream', async (req, reply) => {
    checkToken(req, ctx.apiToken?.())
    const filter = parseStreamFilter(req.query as Record<string, unknown>)
    const lastId = req.headers['last-event-id']
    const resumeFrom = typeof lastId === 'string' && lastId !== '' ? ctx.store.seqOf(lastId) : undefined

    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // nginx-style proxies would otherwise buffer the stream.
      'x-accel-buffering': 'no',
      // A stream is never followed by another request on its connection; so
      // ending it (on close) closes the socket instead of leaving it idle
      // for the server's close to wait on.
      connection: 'close'
    })
    res.write(`retry: ${RETRY_MS}\n\n`)
    if (typeof lastId === 'string' && lastId !== '' && resumeFrom === undefined) {
      // Pruned, or from another store: what was missed cannot be found.
      res.write(': Last-Event-ID not found; sending changes from now on\n\n')
    }

    let live = resumeFrom === undefined
    let cursor = resumeFrom ?? 0
    let closed = false
    const drop = (): void => {
      metrics.dropped.inc({ reason: 'slow' })
      req.log.warn({ buffered: res.writableLength }, 'stream client too slow: dropped (it may resume with Last-Event-ID)')
      res.destroy()
    }
    const onRecorded = (c: Change): void => {
      if (!live || closed || !matchesFilter(c, filter)) return
      res.write(changeFrame(c))
      if (res.writableLength > opts.maxBufferedBytes) drop()
    }
    // Catch-up holds at most a page in memory and waits for the socket to
    // drain between pages. Live changes meanwhile are in the store with a
    // higher seq; the switch to live happens when a page comes back short,
    // synchronously, so none falls between the two.
    const catchUp = (): void => {
      while (!closed) {
        const rows = ctx.store.recordedAfter(cursor, PAGE)
        for (const r of rows) {
          cursor = r.seq
          if (matchesFilter(r.change, filter)) res.write(changeFrame(r.change))
        }
        if (rows.length < PAGE) { live = true; return }
        if (res.writableNeedDrain) { res.once('drain', catchUp); return }
      }
    }
    const heartbeat = setInterval(() => { if (!closed) res.write(': heartbeat\n\n') }, opts.heartbeatMs)
    heartbeat.unref()
    ctx.recorded?.add(onRecorded)
    open.add(res)
    metrics.clients.inc()
    res.on('error', () => {}) // a reset client is only a closed stream
    res.once('close', () => {
      closed = true
      clearInterval(heartbeat)
      ctx.recorded?.delete(onRecorded)
      open.delete(res)
      metrics.clients.dec()
    })
    if (!live) catchUp()
  })
}
