import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KubeConfig } from '@kubernetes/client-node'
import pino from 'pino'
import type { Test } from 'tap'
import { FakeApiServer } from './fake-apiserver.js'
import { Cluster } from './cluster.js'
import type { TestApp } from './app.js'
import { createWatchSource, type WatchSource } from '../../src/sources/watch.js'

// The watch source of a test app, against the fake apiserver, on the app's clock.

/** The collection path of a resource (what FakeApiServer.mirror takes). */
export function collection (r: { group: string, version: string, resource: string }): string {
  return r.group === '' ? `/api/${r.version}/${r.resource}` : `/apis/${r.group}/${r.version}/${r.resource}`
}

export const sleep = async (ms: number): Promise<void> => { await new Promise(r => setTimeout(r, ms)) }

export async function until (f: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!f()) {
    if (Date.now() > end) throw new Error(`condition not met in time: ${what}`)
    await sleep(15)
  }
}

/** Started, and resolved once every informer has listed. */
export async function watchFor (a: TestApp, api: FakeApiServer): Promise<WatchSource> {
  const kc = new KubeConfig()
  kc.loadFromOptions(api.kubeConfigOptions())
  const w = createWatchSource({ kc, pipeline: a.app.pipeline, log: pino({ level: 'silent' }), registry: a.app.metrics.registry, now: () => a.clock.now, backoff: { initialMs: 20, maxMs: 100 } })
  w.start()
  let synced = false
  void w.synced().then(() => { synced = true })
  await until(() => synced, 'every informer listed')
  return w
}

/** A store directory, a simulated cluster, and the fake apiserver serving what it writes; all gone at teardown. */
export async function mirroredCluster (t: Test, prefix: string): Promise<{ dir: string, c: Cluster, api: FakeApiServer }> {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const c = new Cluster()
  const api = await FakeApiServer.create()
  t.teardown(async () => { await api.close() })
  c.onWrite = (type, r, obj) => { api.mirror(collection(r), type, obj) }
  return { dir, c, api }
}
