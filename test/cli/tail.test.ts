import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Gauge } from 'prom-client'
import { main, type Io } from '../../src/cli.js'
import { backoffMs, runTail } from '../../src/cli/tail.js'
import { formatChangeLine } from '../../src/sources/replay.js'
import { streamWorld, until, type StreamWorld } from '../helpers/stream-world.js'

// kubechanges tail against a real server: one line per change as it is
// recorded, filters, --json, the token, and a resume after the server went
// away and came back on the same store.

function capture (env: NodeJS.ProcessEnv = {}): Io & { lines: string[], errs: string[] } {
  const lines: string[] = []
  const errs: string[] = []
  return { lines, errs, out: l => { lines.push(l) }, err: l => { errs.push(l) }, env }
}

const connected = async (w: StreamWorld, n = 1): Promise<boolean> =>
  (await (w.a.app.metrics.registry.getSingleMetric('kubechanges_stream_clients') as Gauge).get()).values[0]?.value === n

t.test('prints each change once, resumes after the server comes back on the same store', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-tail-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const first = await streamWorld(t, { dir })
  const io = capture()
  const stop = new AbortController()
  const sleeps: number[] = []
  let hold = false
  let wake: (() => void) | undefined
  const tail = runTail(['--url', first.base, '--namespace', 'shop'], io, {
    signal: stop.signal,
    random: () => 0.5,
    // While the server is away the test decides when tail reconnects;
    // otherwise (a connection refused on a loaded machine) it retries at once.
    sleep: async ms => { if (hold) { sleeps.push(ms); await new Promise<void>(resolve => { wake = resolve }) } }
  })
  await until(async () => await connected(first))
  await first.configMaps(['web-config', 'db-config'])
  await first.configMaps(['report-config'], 'batch')
  await until(() => io.lines.length === 2)
  const shop = first.a.stored().filter(c => c.object.namespace === 'shop')
  t.same(io.lines, shop.map(formatChangeLine))
  t.match(io.lines[0], /^2026-11-20T10:00:\d\d\.\d{3}Z {2}create {4}applied {3}ConfigMap shop\/web-config created, by alice@example\.com$/)

  // The server goes away; tail waits to retry.
  hold = true
  const errsBefore = io.errs.length
  await first.a.close()
  await until(() => wake !== undefined)
  t.match(io.errs[errsBefore], /^kubechanges tail: (the server ended the stream|ECONNREFUSED|.*); reconnecting in 0\.4 s$/)
  // It comes back on the same store and port, and records changes before tail returns.
  const port = Number(new URL(first.base).port)
  const second = await streamWorld(t, { dir, port, cluster: first.c })
  await second.configMaps(['missed-1', 'missed-2'])
  hold = false
  wake!()
  await until(async () => await connected(second))
  await second.configMaps(['live-1'])
  await until(() => io.lines.length === 5)
  t.same(io.lines.slice(2).map(l => l.split(' ').at(-4)), ['shop/missed-1', 'shop/missed-2', 'shop/live-1'], 'what it missed, then live, nothing twice')
  t.same(io.lines, second.a.stored().filter(c => c.object.namespace === 'shop').map(formatChangeLine))
  t.match(io.errs.at(-1), /^kubechanges tail: connected to http:\/\/127\.0\.0\.1:\d+, resuming$/)
  t.equal(sleeps[0], 375, 'first retry after 0.25–0.5 s')
  stop.abort()
  t.equal(await tail, 0)
})

t.test('--json prints the Change; the token is sent; 401 and bad filters end it', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-tail-token-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  writeFileSync(join(dir, 'token'), 's3cret\n')
  writeFileSync(join(dir, 'wrong'), 'nope\n')
  const w = await streamWorld(t, { config: { apiTokenFile: join(dir, 'token') } })

  const denied = capture()
  t.equal(await main(['tail', '--url', w.base, '--token-file', join(dir, 'wrong')], denied), 1)
  t.match(denied.errs.join('\n'), /^kubechanges: KC_UNAUTHORIZED: http:\/\/127\.0\.0\.1:\d+ wants a valid API token \(--token-file\)$/)
  const bad = capture({ KUBECHANGES_API_TOKEN: 's3cret' })
  t.equal(await main(['tail', '--url', w.base, '--type', 'deploy'], bad), 2)
  t.match(bad.errs[0], /^kubechanges: KC_BAD_ARGUMENT: type: expected one of create, update/)
  const noFile = capture()
  t.equal(await main(['tail', '--url', w.base, '--token-file', join(dir, 'missing')], noFile), 2)
  t.match(noFile.errs[0], /--token-file .*missing: ENOENT/)
  t.equal(await main(['tail', '--url', 'ftp://x'], capture()), 2)

  const io = capture({ KUBECHANGES_URL: w.base, KUBECHANGES_API_TOKEN_FILE: join(dir, 'token') })
  const stop = new AbortController()
  const tail = runTail(['--json', '--kind', 'ConfigMap'], io, { signal: stop.signal })
  await until(async () => await connected(w))
  await w.configMaps(['web-config'])
  await until(() => io.lines.length === 1)
  t.same(JSON.parse(io.lines[0]!), w.a.stored()[0])
  stop.abort()
  t.equal(await tail, 0)
})

t.test('backoff doubles to a 30 s cap, with jitter', async t => {
  t.same([0, 1, 2, 3, 10].map(n => backoffMs(n, () => 0)), [250, 500, 1000, 2000, 15_000])
  t.same([0, 10].map(n => backoffMs(n, () => 1)), [500, 30_000])
})
