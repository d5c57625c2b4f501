import type { FastifyInstance, FastifyRequest } from 'fastify'
import { timingSafeEqual } from 'node:crypto'
import { CHANGE_TYPES, OUTCOMES, type ChangeType, type Outcome } from '../../model.js'
import { errors } from '../../errors.js'
import type { ChangeQuery } from '../../store/changes.js'
import type { AppContext } from '../context.js'

// GET /changes, GET /changes/:id and POST /changes/:id/redeliver. Parameters
// are checked one by one so a 400 names the parameter that is wrong.

const STRING_PARAMS = ['namespace', 'kind', 'name', 'uid', 'user', 'cluster', 'cursor'] as const
const KNOWN = new Set<string>([...STRING_PARAMS, 'type', 'outcome', 'since', 'until', 'limit'])

function time (v: string, name: string): number {
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v)
  if (!Number.isFinite(n)) throw errors.BAD_PARAMETER(`${name}: expected an RFC 3339 time or epoch milliseconds, got ${JSON.stringify(v.slice(0, 64))}`)
  return n
}

export function parseChangeQuery (q: Record<string, unknown>): ChangeQuery {
  const out: ChangeQuery = { limit: 100 }
  for (const [k, raw] of Object.entries(q)) {
    if (!KNOWN.has(k)) throw errors.BAD_PARAMETER(`${k}: unknown parameter (expected one of ${[...KNOWN].join(', ')})`)
    if (typeof raw !== 'string') throw errors.BAD_PARAMETER(`${k}: give it once`)
  }
  const get = (k: string): string | undefined => q[k] as string | undefined
  for (const k of STRING_PARAMS) {
    const v = get(k)
    if (v === undefined) continue
    if (v === '' || v.length > 512) throw errors.BAD_PARAMETER(`${k}: expected a non-empty value of at most 512 characters`)
    out[k] = v
  }
  const type = get('type')
  if (type !== undefined) {
    if (!CHANGE_TYPES.includes(type as ChangeType)) throw errors.BAD_PARAMETER(`type: expected one of ${CHANGE_TYPES.join(', ')}`)
    out.type = type as ChangeType
  }
  const outcome = get('outcome')
  if (outcome !== undefined) {
    if (!OUTCOMES.includes(outcome as Outcome)) throw errors.BAD_PARAMETER(`outcome: expected one of ${OUTCOMES.join(', ')}`)
    out.outcome = outcome as Outcome
  }
  const since = get('since')
  if (since !== undefined) out.since = time(since, 'since')
  const until = get('until')
  if (until !== undefined) out.until = time(until, 'until')
  const limit = get('limit')
  if (limit !== undefined) {
    const n = Number(limit)
    if (!/^\d+$/.test(limit) || n < 1 || n > 1000) throw errors.BAD_PARAMETER('limit: expected a whole number from 1 to 1000')
    out.limit = n
  }
  return out
}

export function checkToken (req: FastifyRequest, expected: string | undefined): void {
  if (expected === undefined) return
  const h = req.headers.authorization
  const given = typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7) : ''
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw errors.UNAUTHORIZED('a bearer token is required for /changes')
}

export function changesRoutes (app: FastifyInstance, ctx: AppContext): void {
  app.get('/changes', async req => {
    checkToken(req, ctx.apiToken?.())
    const { items, nextCursor } = ctx.store.query(parseChangeQuery(req.query as Record<string, unknown>))
    // The list stays small: timelines are for GET /changes/:id.
    return { items: items.map(({ timeline: _t, ...rest }) => rest), nextCursor }
  })
  app.get<{ Params: { id: string } }>('/changes/:id', async req => {
    checkToken(req, ctx.apiToken?.())
    const change = ctx.store.get(req.params.id)
    if (change === undefined) throw errors.NOT_FOUND(`no change with id ${JSON.stringify(req.params.id.slice(0, 80))}`)
    return { ...change, deliveries: ctx.outbox.deliveriesFor(change.id) }
  })
  // An operator's retry of dead deliveries (and of dead digests the change is in): they go back
  // to pending with a fresh attempt budget; the delivery loop picks them up on its next poll.
  app.post<{ Params: { id: string }, Querystring: Record<string, unknown> }>('/changes/:id/redeliver', async req => {
    checkToken(req, ctx.apiToken?.())
    const q = req.query
    for (const [k, v] of Object.entries(q)) {
      if (k !== 'sink') throw errors.BAD_PARAMETER(`${k}: unknown parameter (expected sink)`)
      if (typeof v !== 'string' || v === '' || v.length > 64) throw errors.BAD_PARAMETER('sink: expected one sink name')
    }
    const change = ctx.store.get(req.params.id)
    if (change === undefined) throw errors.NOT_FOUND(`no change with id ${JSON.stringify(req.params.id.slice(0, 80))}`)
    const redelivered = ctx.outbox.retryDead(change.id, ctx.now(), q.sink as string | undefined)
    return { id: change.id, redelivered, deliveries: ctx.outbox.deliveriesFor(change.id) }
  })
}
