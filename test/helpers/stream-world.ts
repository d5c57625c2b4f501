import type { Test } from 'tap'
import type { StreamOptions } from '../../src/http/routes/stream.js'
import { eventList, testApp, type TestApp } from './app.js'
import { Cluster, USERS, R } from './cluster.js'

// An app listening on a real port (for the stream and its clients), with a
// simulated cluster that makes ConfigMap changes on demand.

export interface StreamWorld {
  c: Cluster
  a: TestApp
  base: string
  /** Creates the ConfigMaps, posts the batch, and lets them settle: one recorded change each. */
  configMaps: (names: string[], ns?: string, keys?: number) => Promise<void>
}

/**
 * POST /audit the way kube-apiserver does: a 503 (the event loop overloaded,
 * as on this shared machine) is retried after a pause.
 */
export async function postAsApiserver (a: TestApp, body: unknown): Promise<number> {
  for (let i = 0; ; i++) {
    const r = await a.post(body)
    if (r.statusCode !== 503 || i === 50) return r.statusCode
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

/** Resolves once f holds, looking every few milliseconds (no deadline: tap's timeout is the bound). */
export async function until (f: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await f())) await new Promise(resolve => setTimeout(resolve, 5))
}

export async function streamWorld (t: Test, opts: { stream?: StreamOptions, config?: Record<string, unknown>, dir?: string, port?: number, cluster?: Cluster } = {}): Promise<StreamWorld> {
  const c = opts.cluster ?? new Cluster()
  const a = await testApp({ start: c.t, stream: { heartbeatMs: 3_600_000, ...opts.stream }, ...(opts.config !== undefined ? { config: opts.config } : {}), ...(opts.dir !== undefined ? { dir: opts.dir } : {}) })
  t.teardown(a.close)
  const base = await a.app.server.listen({ host: '127.0.0.1', port: opts.port ?? 0 })
  // ConfigMap creates: each is one change, applied after the quiet period.
  const configMaps = async (names: string[], ns = 'shop', keys = 1): Promise<void> => {
    for (const name of names) {
      const data: Record<string, string> = {}
      for (let i = 0; i < keys; i++) data[`setting-${i}-of-the-${name}-service`] = 'x'
      c.create(USERS.alice, R.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data })
      c.advance(100)
    }
    const status = await postAsApiserver(a, eventList(c.take()))
    if (status !== 200) t.fail(`POST /audit: ${status}`)
    c.advance(10_000)
    a.clock.now = c.t
    await a.advance(0)
  }
  return { c, a, base, configMaps }
}

