// Watch memory bench of the COMPILED server: `node dist/cli.js serve` (run
// `npm run build` first) watching a realistic cluster (bench/cluster-mix.ts)
// served paged by the fake apiserver of the tests, in another process.
//
//   node --import tsx bench/watch-serve.ts [objects=100000] [--rate 500] [--seconds 120]
//     [--node-flags "--max-old-space-size=…"] [--dist DIR (another build, for a before/after)]
//     [--sync-only (stop the server with SIGTERM after its first sync: with
//      --node-flags "--cpu-prof --cpu-prof-dir=DIR" that writes the sync's profile)]
//     [--warmup (a first sync-only run, so the apiserver child's caches are warm for the measured one)]
//     [--log-level L (the server's, default warn; debug adds each snapshot written)]
//     [--audit-rate N (also N light 400-event audit batches/s to POST /audit during the watch
//      traffic: 10 is kube-apiserver's default webhook throttle, about 4,000 events/s)]
//     [--heap-snapshot (after the first sync, a heap snapshot of the server in the
//      current directory, then as --sync-only)] [--heap-snapshot-end (one after the traffic)]
//
// Prints: first sync time (spawn → /readyz 200, i.e. every informer listed),
// the server's RSS sampled from /proc/PID/status every 250 ms (VmHWM for the
// peak, sync included), then RSS under `rate` watch writes/s for `seconds`
// (first and last minute, slope by least squares), and whether every watch
// event was consumed (kubechanges_informer_events_total = objects listed +
// events written). Every wait has a deadline; both children are killed by pid.

import { fork, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir, loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import http from 'node:http'
import { buildTemplate, render, tokensFor } from './audit-batches.js'

type ToChild = { type: 'stream', rate: number, seconds: number } | { type: 'exit' }
type FromChild =
  | { type: 'ready', url: string, mix: Record<string, number>, ms: number }
  | { type: 'streamed', written: Record<string, number>, ms: number }

const ROOT = join(fileURLToPath(import.meta.url), '../..')

async function apiserverChild (objects: number): Promise<void> {
  const { FakeApiServer } = await import('../test/helpers/fake-apiserver.js')
  const { preloadMixed } = await import('./cluster-mix.js')
  const t0 = Date.now()
  const api = await FakeApiServer.create({ historyLimit: 400_000, bookmarkIntervalMs: 10_000, flushPerTick: true })
  const cluster = preloadMixed(api, objects)
  const send = (m: FromChild): void => { process.send?.(m) }
  send({ type: 'ready', url: api.url, mix: cluster.mix, ms: Date.now() - t0 })
  process.on('message', (m: ToChild) => {
    if (m.type === 'exit') { void api.stop().then(() => process.exit(0)); return }
    const written: Record<string, number> = {}
    const start = Date.now()
    let n = 0
    const total = m.rate * m.seconds
    // Writes paced per 20 ms slice, catching up when a slice was late.
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor((Date.now() - start) / 1000 * m.rate))
      for (; n < due; n++) {
        const path = cluster.write(n)
        written[path] = (written[path] ?? 0) + 1
        // An Event is in both APIs.
        if (path === '/api/v1/events') written['/apis/events.k8s.io/v1/events'] = (written['/apis/events.k8s.io/v1/events'] ?? 0) + 1
      }
      if (n >= total) { clearInterval(timer); send({ type: 'streamed', written, ms: Date.now() - start }) }
    }, 20)
  })
}

function status (pid: number): { rss: number, hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0)
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 }
}

/** CPU seconds (user + system) a process has used. */
function cpuSeconds (pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}

async function until (what: string, ms: number, f: () => Promise<boolean> | boolean): Promise<void> {
  const end = Date.now() + ms
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(r => setTimeout(r, 100))
  }
}

async function metric (port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  let sum = 0
  for (const line of text.split('\n')) if (line.startsWith(name + '{') || line.startsWith(name + ' ')) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  return sum
}

function slope (pts: Array<[number, number]>): number {
  const n = pts.length
  if (n < 2) return 0
  const mx = pts.reduce((s, p) => s + p[0], 0) / n
  const my = pts.reduce((s, p) => s + p[1], 0) / n
  let num = 0
  let den = 0
  for (const [x, y] of pts) { num += (x - mx) * (y - my); den += (x - mx) ** 2 }
  return den === 0 ? 0 : num / den
}

/**
 * Posts `rate` light audit batches per second to the server's /audit over one keep-alive connection
 * per batch in flight, as the apiserver's webhook backend does, until stopped. The batches are
 * bench/ingest's (fresh auditIDs, event time now); their latencies and non-200 answers are counted.
 */
function auditPoster (port: number, rate: number): { stop: () => Promise<{ batches: number, errors: number, p50Ms: number, p99Ms: number }> } {
  const P = 8
  const templates = Array.from({ length: P }, (_, t) => buildTemplate(t, 400, 'light'))
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })
  const t0 = Date.now()
  const lat: number[] = []
  let errors = 0
  let b = 0
  const inFlight = new Set<Promise<void>>()
  const post = (): void => {
    const body = render(templates[b % P]!, tokensFor(b, P, t0))
    b++
    const start = performance.now()
    const p = new Promise<void>(resolve => {
      const req = http.request({ host: '127.0.0.1', port, path: '/audit', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, res => {
        res.resume()
        res.on('end', () => { if (res.statusCode === 200) lat.push(performance.now() - start); else errors++; resolve() })
      })
      req.on('error', () => { errors++; resolve() })
      req.end(body)
    })
    inFlight.add(p)
    void p.then(() => inFlight.delete(p))
  }
  const timer = setInterval(post, 1000 / rate)
  return {
    stop: async () => {
      clearInterval(timer)
      await Promise.all(inFlight)
      agent.destroy()
      const sorted = [...lat].sort((x, y) => x - y)
      const q = (f: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))] ?? 0)
      return { batches: b, errors, p50Ms: q(0.5), p99Ms: q(0.99) }
    }
  }
}

async function main (): Promise<void> {
  const args = process.argv.slice(2)
  const opt = (k: string, d: string): string => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : d }
  const objects = Number(args.find(a => /^\d+$/.test(a)) ?? 100_000)
  const rate = Number(opt('--rate', '500'))
  const seconds = Number(opt('--seconds', '120'))
  const auditRate = Number(opt('--audit-rate', '0'))
  // Each --node-flags is one run of the server, against the same cluster (preloading it is the slow part),
  // each with a store of its own (a second run on the first one's store would be a restart, not a first sync).
  const variants = args.flatMap((a, i) => a === '--node-flags' ? [args[i + 1]] : [])
  if (variants.length === 0) variants.push('')
  // The apiserver child builds its cached item JSON on the first list: a
  // first run pays for it (about 3 s more of its CPU on the same 2 cores).
  const warmup = args.includes('--warmup')
  const logLevel = opt('--log-level', 'warn')
  if (warmup) variants.unshift(variants[0])
  const dist = opt('--dist', join(ROOT, 'dist'))
  const dir = mkdtempSync(join(tmpdir(), 'kubechanges-watch-serve-'))
  const children: ChildProcess[] = []
  const load0 = loadavg()
  try {
    const api = fork(fileURLToPath(import.meta.url), ['--child', String(objects)], { execArgv: ['--import', 'tsx', '--max-old-space-size=8192'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    children.push(api)
    const msgs: FromChild[] = []
    api.on('message', (m: FromChild) => { msgs.push(m) })
    await until('the apiserver to preload', 1_800_000, () => msgs.some(m => m.type === 'ready'))
    const ready = msgs.find(m => m.type === 'ready') as Extract<FromChild, { type: 'ready' }>
    const listed = Object.values(ready.mix).reduce((a, b) => a + b, 0)
    console.log(`cluster: ${listed} objects (${Object.entries(ready.mix).map(([p, n]) => `${p.split('/').pop() ?? p} ${n}`).join(', ')}), preloaded in ${(ready.ms / 1000).toFixed(1)} s`)
    writeFileSync(join(dir, 'kubeconfig'), JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
      clusters: [{ name: 'fake', cluster: { server: ready.url, 'insecure-skip-tls-verify': true } }], users: [{ name: 'u', user: {} }], contexts: [{ name: 'c', context: { cluster: 'fake', user: 'u' } }]
    }))
    for (const [run, variant] of variants.entries()) {
    const nodeFlags = variant.split(' ').filter(s => s !== '')
    const heapSnapshot = args.includes('--heap-snapshot')
    const heapSnapshotEnd = args.includes('--heap-snapshot-end')
    if (heapSnapshot || heapSnapshotEnd) nodeFlags.push('--heapsnapshot-signal=SIGUSR2')
    console.log(`--- node ${nodeFlags.join(' ')} ${join(dist, 'cli.js')} serve${process.env.MALLOC_ARENA_MAX !== undefined ? ` (MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX})` : ''}`)
    msgs.splice(0, msgs.length, ...msgs.filter(m => m.type !== 'streamed'))
    const port = 20000 + Math.floor(Math.random() * 20000)
    const t0 = Date.now()
    const apiCpu0 = cpuSeconds(api.pid as number)
    const srv = spawn(process.execPath, [...nodeFlags, join(dist, 'cli.js'), 'serve'], {
      env: { PATH: process.env.PATH, HOME: dir, KUBECONFIG: join(dir, 'kubeconfig'), KUBECHANGES_PORT: String(port), KUBECHANGES_STORE: join(dir, `changes-${run}.db`), KUBECHANGES_LOG_LEVEL: logLevel, ...(process.env.MALLOC_ARENA_MAX !== undefined ? { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX } : {}) },
      stdio: ['ignore', 'ignore', 'inherit']
    })
    children.push(srv)
    const pid = srv.pid as number
    const samples: Array<[number, number]> = []
    // VmHWM read with each sample dates a peak that fell between two samples.
    const hwmRises: Array<[number, number, number]> = []
    let hwmSeen = 0
    const sampler = setInterval(() => {
      try {
        const st = status(pid)
        samples.push([Date.now() - t0, st.rss])
        if (st.hwm >= hwmSeen + 1) { hwmRises.push([Date.now() - t0, st.hwm, st.hwm - hwmSeen]); hwmSeen = st.hwm }
      } catch {}
    }, 250)
    await until('the first sync (/readyz 200)', 600_000, async () => {
      if (srv.exitCode !== null || srv.signalCode !== null) throw new Error(`the server exited (${srv.exitCode ?? srv.signalCode ?? ''}) after ${((Date.now() - t0) / 1000).toFixed(1)} s, peak RSS ${samples.reduce((m, x) => Math.max(m, x[1]), 0).toFixed(0)} MB`)
      try { return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 } catch { return false }
    })
    const syncMs = Date.now() - t0
    const afterSync = status(pid)
    const syncCpu = cpuSeconds(pid)
    const apiCpu = cpuSeconds(api.pid as number) - apiCpu0
    const mb = async (name: string): Promise<string> => (await metric(port, name) / 1048576).toFixed(0)
    const peakAt = samples.reduce((m, x) => x[1] > m[1] ? x : m, [0, 0])
    console.log(`after sync: V8 heap used ${await mb('kubechanges_nodejs_heap_size_used_bytes')} of ${await mb('kubechanges_nodejs_heap_size_total_bytes')} MB, external ${await mb('kubechanges_nodejs_external_memory_bytes')} MB; highest RSS sample ${peakAt[1].toFixed(0)} MB at ${(peakAt[0] / 1000).toFixed(1)} s`)
    console.log(`first sync: ${(syncMs / 1000).toFixed(1)} s wall, ${syncCpu.toFixed(1)} s of kubechanges CPU (start-up included), ${apiCpu.toFixed(1)} s of the apiserver child's on the same 2 cores; RSS after sync ${afterSync.rss.toFixed(0)} MB, peak so far (VmHWM) ${afterSync.hwm.toFixed(0)} MB`)
    const takeHeapSnapshot = async (): Promise<void> => {
      const before = new Set(readdirSync('.'))
      process.kill(pid, 'SIGUSR2')
      let file = ''
      let size = -1
      let still = 0
      // Done once its size has not moved for 3 s.
      await until('the heap snapshot', 300_000, () => {
        file = readdirSync('.').find(f => f.endsWith('.heapsnapshot') && !before.has(f)) ?? ''
        if (file === '') return false
        const now = statSync(file).size
        still = now === size && now > 0 ? still + 1 : 0
        size = now
        return still >= 30
      })
      console.log(`heap snapshot: ${file} (${(size / 1e6).toFixed(0)} MB)`)
    }
    if (heapSnapshot) await takeHeapSnapshot()
    if (warmup && run === 0) console.log('(that was the warm-up run: its sync time counts the apiserver filling its cache)')
    if (args.includes('--sync-only') || heapSnapshot || (warmup && run === 0)) {
      process.kill(pid, 'SIGTERM')
      await new Promise(resolve => { if (srv.exitCode !== null || srv.signalCode !== null) resolve(null); else srv.once('exit', resolve) })
      console.log(JSON.stringify({ objects: listed, flags: variant, syncMs, syncCpuS: syncCpu, apiserverCpuS: apiCpu, rssAfterSyncMB: Math.round(afterSync.rss), peakMB: Math.round(afterSync.hwm), load: loadavg() }))
      continue
    }
    const baseline = await metric(port, 'kubechanges_informer_events_total')
    const streamT0 = Date.now() - t0
    api.send({ type: 'stream', rate, seconds } satisfies ToChild)
    const audit = auditRate > 0 ? auditPoster(port, auditRate) : undefined
    // V8 heap in use, every 2 s: its lowest values (just after a collection)
    // are the live heap, so a first and last minute with the same minimum mean
    // RSS rose with garbage not yet collected, not with state kept.
    const heapSamples: Array<[number, number]> = []
    const heapSampler = setInterval(() => {
      // (A scrape that fails or comes back without the metric sums to 0: not a sample.)
      metric(port, 'kubechanges_nodejs_heap_size_used_bytes').then(b => { if (b > 0) heapSamples.push([Date.now() - t0, b / 1048576]) }, () => {})
    }, 2000)
    const alive = (): void => {
      if (srv.exitCode !== null || srv.signalCode !== null) throw new Error(`the server exited (${srv.exitCode ?? srv.signalCode ?? ''}) under watch traffic after ${((Date.now() - t0) / 1000).toFixed(1)} s, peak RSS ${samples.reduce((m, x) => Math.max(m, x[1]), 0).toFixed(0)} MB`)
    }
    await until('the writes', (seconds * 4 + 120) * 1000, () => { alive(); return msgs.some(m => m.type === 'streamed') })
    const streamed = msgs.find(m => m.type === 'streamed') as Extract<FromChild, { type: 'streamed' }>
    const posted = await audit?.stop()
    const written = Object.values(streamed.written).reduce((a, b) => a + b, 0)
    let consumed = 0
    await until('every watch event consumed', 120_000, async () => (consumed = await metric(port, 'kubechanges_informer_events_total') - baseline) >= written).catch(() => {})
    clearInterval(sampler)
    clearInterval(heapSampler)
    const end = status(pid)
    const steady = samples.filter(s => s[0] >= streamT0)
    const firstMin = steady.filter(s => s[0] < streamT0 + 60_000).map(s => s[1])
    const lastMin = steady.filter(s => s[0] >= streamT0 + (seconds - 60) * 1000).map(s => s[1])
    const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
    const max = (xs: number[]): number => xs.reduce((a, b) => Math.max(a, b), 0)
    console.log(`steady: ${written} writes in ${(streamed.ms / 1000).toFixed(0)} s (${(written / streamed.ms * 1000).toFixed(0)} events/s); consumed ${consumed} of ${written}${consumed === written ? ' (all)' : ' — MISSING EVENTS'}`)
    const heapMin = (from: number, to: number): number => Math.min(...heapSamples.filter(h => h[0] >= from && h[0] < to).map(h => h[1]))
    const heapFirst = heapMin(streamT0, streamT0 + 60_000)
    const heapLast = heapMin(streamT0 + (seconds - 60) * 1000, Infinity)
    if (posted !== undefined) console.log(`audit: ${posted.batches} batches of 400 posted (${(posted.batches * 400 / streamed.ms * 1000).toFixed(0)} events/s), ${posted.errors === 0 ? 'every one answered 200' : `${posted.errors} NOT ANSWERED 200`}; p50 ${posted.p50Ms} ms, p99 ${posted.p99Ms} ms`)
    console.log(`steady V8 heap in use, lowest (≈ live heap): first minute ${heapFirst.toFixed(0)} MB, last minute ${heapLast.toFixed(0)} MB`)
    console.log(`steady RSS: first minute avg ${avg(firstMin).toFixed(0)} MB (max ${max(firstMin).toFixed(0)}), last minute avg ${avg(lastMin).toFixed(0)} MB (max ${max(lastMin).toFixed(0)}), slope ${(slope(steady.map(([x, y]) => [x / 1000, y])) * 60).toFixed(1)} MB/min`)
    if (heapSnapshotEnd) await takeHeapSnapshot()
    console.log(`peak RSS over the whole run (VmHWM): ${end.hwm.toFixed(0)} MB; RSS at end ${end.rss.toFixed(0)} MB`)
    const lateRises = hwmRises.filter(r => r[0] >= streamT0)
    if (lateRises.length > 0) console.log(`VmHWM rises under traffic (seen within 250 ms; --log-level debug prints the snapshots' times beside them): ${lateRises.slice(-8).map(([t, h, d]) => `+${d.toFixed(0)} to ${h.toFixed(0)} MB at ${(t / 1000).toFixed(1)} s (wall ${new Date(t0 + t).toISOString().slice(11, 23)})`).join(', ')}`)
    console.log(`load average at start ${load0.map(l => l.toFixed(2)).join(' ')}, at end ${loadavg().map(l => l.toFixed(2)).join(' ')}`)
    console.log(JSON.stringify({ objects: listed, flags: variant, syncMs, syncCpuS: syncCpu, apiserverCpuS: apiCpu, rssAfterSyncMB: Math.round(afterSync.rss), peakMB: Math.round(end.hwm), steadyFirstMinMB: Math.round(avg(firstMin)), steadyLastMinMB: Math.round(avg(lastMin)), liveHeapFirstMinMB: Math.round(heapFirst), liveHeapLastMinMB: Math.round(heapLast), written, consumed, ...(posted !== undefined ? { auditBatches: posted.batches, auditErrors: posted.errors, auditP99Ms: posted.p99Ms } : {}), load: loadavg() }))
    process.kill(pid, 'SIGKILL')
    await new Promise(resolve => { if (srv.exitCode !== null || srv.signalCode !== null) resolve(null); else srv.once('exit', resolve) })
    }
  } finally {
    for (const c of children.reverse()) if (c.pid !== undefined && c.exitCode === null) { try { process.kill(c.pid, 'SIGKILL') } catch {} }
    rmSync(dir, { recursive: true, force: true })
  }
}

process.on('SIGTERM', () => process.exit(143))
if (process.argv[2] === '--child') void apiserverChild(Number(process.argv[3]))
else main().then(() => process.exit(0), err => { console.error(err); process.exit(1) })
