import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { createApp, type App, type AppOptions } from '../../src/app.js'
import { applyFile, DEFAULTS, type Config } from '../../src/config.js'
import type { Change } from '../../src/model.js'
import type { Test } from 'tap'
import { Cluster } from './cluster.js'
import { createMetrics } from '../../src/metrics.js'
import type { StreamOptions } from '../../src/http/routes/stream.js'

// A real app (fastify, SQLite, outbox, log sink) on an injected clock.

/**
 * Correlation state as a restart must reproduce it: without the restart marker, and without an
 * actor's sourceIPs and userAgent (the journal keeps a name and groups only; no change reports them).
 */
export function comparableState (s: unknown): unknown {
  const { resumedAt: _r, ...rest } = JSON.parse(JSON.stringify(s), (k, v) => k === 'sourceIPs' || k === 'userAgent' ? undefined : v)
  return rest
}

export interface TestApp {
  app: App
  clock: { now: number }
  dir: string
  /** What the log sink printed, parsed. */
  printed: Change[]
  post: (body: unknown) => Promise<{ statusCode: number, json: any }>
  /** Advance the clock by ms and close what settled, then deliver. */
  advance: (ms: number) => Promise<void>
  /** Everything in the store, oldest first. */
  stored: () => Change[]
  close: () => Promise<void>
}

export async function testApp (opts: { config?: Record<string, unknown>, start?: number, dir?: string, env?: NodeJS.ProcessEnv, stream?: StreamOptions, snapshot?: Pick<AppOptions, 'snapshotEvery' | 'snapshotWrite'> } = {}): Promise<TestApp> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'kc-test-'))
  const clock = { now: opts.start ?? Date.parse('2026-11-20T10:00:00Z') }
  const config: Config = applyFile(structuredClone(DEFAULTS), { store: join(dir, 'changes.db'), ...(opts.config ?? {}) })
  const printed: Change[] = []
  const app = await createApp({
    config,
    env: opts.env ?? {},
    log: pino({ level: 'silent' }),
    now: () => clock.now,
    write: line => { printed.push(JSON.parse(line)) },
    metrics: createMetrics({ defaults: false }),
    random: () => 0.5,
    ...(opts.stream !== undefined ? { stream: opts.stream } : {}),
    ...opts.snapshot
  })
  const t: TestApp = {
    app,
    clock,
    dir,
    printed,
    post: async (body: unknown) => {
      const res = await app.server.inject({ method: 'POST', url: '/audit', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) })
      return { statusCode: res.statusCode, json: res.json() }
    },
    advance: async (ms: number) => {
      clock.now += ms
      app.tick(clock.now)
      await app.dispatcher.drain()
    },
    stored: () => app.store.query({ limit: 1000 }).items.reverse(),
    close: async () => {
      await app.close()
      if (opts.dir === undefined) rmSync(dir, { recursive: true, force: true })
    }
  }
  return t
}

export function eventList (items: unknown[]): unknown {
  return { kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items }
}

/** A simulated cluster and an app on its clock: `flush` posts what the cluster wrote and catches the clock up. */
export async function auditWorld (t: Test, opts: { withRequestReceived?: boolean } = {}): Promise<{ c: Cluster, a: TestApp, flush: () => Promise<void> }> {
  const c = new Cluster(undefined, opts)
  const a = await testApp({ start: c.t })
  t.teardown(a.close)
  const flush = async (): Promise<void> => {
    t.equal((await a.post(eventList(c.take()))).statusCode, 200)
    a.clock.now = Math.max(a.clock.now, c.t)
    await a.advance(0)
  }
  return { c, a, flush }
}
