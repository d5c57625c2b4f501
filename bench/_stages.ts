import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { createApp } from '../src/app.js'
import { applyFile, DEFAULTS } from '../src/config.js'
import { buildTemplate, render, tokensFor, type BatchShape } from './audit-batches.js'
import { Pipeline } from '../src/pipeline.js'
import { Correlator } from '../src/correlate/correlator.js'
import { StateStore } from '../src/store/state.js'
import { ChangeStore } from '../src/store/changes.js'
import { exceedsDepth } from '../src/http/json-depth.js'

const shape = (process.argv[2] ?? 'light') as BatchShape
const N = Number(process.argv[3] ?? 400)
const acc: Record<string, number> = {}
const time = <T>(k: string, f: () => T): T => { const t = performance.now(); try { return f() } finally { acc[k] = (acc[k] ?? 0) + performance.now() - t } }
function wrap (proto: any, name: string, label: string): void {
  const orig = proto[name]
  proto[name] = function (this: unknown, ...a: unknown[]) { return time(label, () => orig.apply(this, a)) }
}
wrap(Pipeline.prototype, 'ingestAudit', 'pipeline.ingestAudit')
wrap(Correlator.prototype, 'ingest', 'correlator.ingest')
wrap(Correlator.prototype, 'tick', 'correlator.tick')
wrap(StateStore.prototype, 'append', 'state.append')
wrap(ChangeStore.prototype, 'record', 'changes.record')
const origStringify = JSON.stringify
const dir = mkdtempSync(join(tmpdir(), 'kc-stages-'))
const config = applyFile(structuredClone(DEFAULTS), { store: join(dir, 'kc.db'), host: '127.0.0.1', port: 0, logLevel: 'silent', watch: { enabled: false } })
let clock = Date.UTC(2026, 0, 1)
const app = await createApp({ config, env: {}, log: pino({ level: 'silent' }), write: () => {}, now: () => clock })
if (process.env.NOCKPT) app.store.db.pragma('wal_autocheckpoint = ' + process.env.NOCKPT)
if (process.env.START) app.start()
const tpls = Array.from({ length: 8 }, (_, t) => buildTemplate(t, 400, shape))
const t0 = Date.UTC(2026, 0, 1)
const inTx = app.inTransaction
const run = (b: number): void => {
  const buf = render(tpls[b % 8]!, tokensFor(b, 8, t0))
  clock = t0 + b * 1000 + 500
  const value = time('parse', () => JSON.parse(buf.toString('utf8')))
  time('depth', () => exceedsDepth(value, 64))
  time('transaction', () => inTx(() => app.pipeline.ingestAudit(value)))
  time('tick tx', () => app.tick(clock))
}
for (let b = 0; b < 16; b++) run(b)
for (const k of Object.keys(acc)) delete acc[k]
const T = performance.now(); const cpu0 = process.cpuUsage()
for (let b = 16; b < 16 + N; b++) run(b)
const wall = performance.now() - T; const cpu = process.cpuUsage(cpu0)
console.log(`${shape}: ${N} batches, ${(wall / N).toFixed(2)} ms per batch in all, CPU ${((cpu.user + cpu.system) / 1000 / N).toFixed(2)} ms per batch`)
for (const [k, v] of Object.entries(acc)) console.log(`  ${k.padEnd(24)} ${(v / N).toFixed(3)} ms`)
console.log('  (transaction - pipeline.ingestAudit - state.append) =', ((acc.transaction! - acc['pipeline.ingestAudit']! - acc['state.append']!) / N).toFixed(3))
await app.close(); rmSync(dir, { recursive: true, force: true })
