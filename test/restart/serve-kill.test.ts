import t, { type Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import type { Change } from '../../src/model.js'
import { eventList } from '../helpers/app.js'
import { buildDay, runDay, type Day } from './day.js'

// The real `kubechanges serve` killed as the OOM killer (SIGKILL) or stopped
// as a rollout restart does (SIGTERM) in the middle of a day, then started
// again on the same --store. The process is node itself (no npx in between,
// whose signals would not reach the server), and the old pid is gone before
// the new one starts.
//
// serve runs on the wall clock. The day ends now (its 11 minutes are in the
// past, well inside the window's 30-minute TTL), one batch per step with a
// minute of event time between steps, so when the wall clock ticks between
// two batches cannot matter: whatever settled is closed by the next tick or
// by the next batch's first event alike.

const ROOT = join(import.meta.dirname, '../..')
const NO_COVERAGE = { _TAPJS_PROCESSINFO_COVERAGE_: '0' }

interface Proc { child: ChildProcess, url: string, stdout: string[], stderr: string[] }

async function start (store: string, home: string): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), 'serve', '--store', store, '--port', '0'], {
    env: { PATH: process.env.PATH, ...NO_COVERAGE, HOME: home, KUBECHANGES_HOST: '127.0.0.1' },
    cwd: ROOT
  })
  const stdout: string[] = []
  const stderr: string[] = []
  const listening = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr.join('')}`)), 60_000)
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr.push(d)
      const m = /"address":"(http[^"]+)".*kubechanges listening/.exec(stderr.join(''))
      if (m !== null) { clearTimeout(timer); resolve(m[1]!) }
    })
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`serve exited ${String(code)}: ${stderr.join('')}`)) })
  })
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout.push(d) })
  return { child, url: await listening, stdout, stderr }
}

function gone (pid: number): boolean {
  try { process.kill(pid, 0); return false } catch { return true }
}

async function kill (p: Proc, signal: 'SIGKILL' | 'SIGTERM'): Promise<number | null> {
  // 'close', not 'exit': exit can come before the last lines the process
  // wrote have been read from its pipes, and a change printed just before a
  // SIGKILL would then be missing from what it delivered.
  const exited = once(p.child, 'close')
  p.child.kill(signal)
  const [code] = await exited
  if (!gone(p.child.pid!)) throw new Error('the old process is still there')
  return code as number | null
}

// Real processes on the wall clock: at load average 13 the last quiet periods took over 30 s to close.
async function until<T> (f: () => Promise<T | undefined>, why: () => string, ms = 90_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`condition not met in time: ${why()}`)
    await new Promise(r => setTimeout(r, 100))
  }
}

// Complete lines only: a SIGKILL can cut the line being written (the rest was
// still queued inside the process, so that change was not marked delivered
// and the next process prints it whole).
const printed = (p: Proc): Change[] => p.stdout.join('').split('\n').slice(0, -1).filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Change)
/** As the apiserver does: a 503 or 429 (overload) is sent again. */
async function post (url: string, events: unknown[]): Promise<number> {
  for (let n = 0; ; n++) {
    const status = (await fetch(`${url}/audit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(eventList(events)) })).status
    if ((status !== 503 && status !== 429) || n >= 50) return status
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

type Kill = { after: number, signal: 'SIGKILL' | 'SIGTERM', inFlight?: boolean }

/** The day through real processes; returns what the last one stores and what every process printed. */
async function serveDay (t: Test, day: Day, expected: number, cut?: Kill): Promise<{ stored: Change[], delivered: Change[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'kc-kill-'))
  const store = join(dir, 'changes.db')
  let p = await start(store, dir)
  const delivered: Change[] = []
  try {
    for (let i = 0; i < day.batches.length; i++) {
      const events = day.batches[i]!.events
      if (cut?.after === i && cut.inFlight === true) {
        // Killed while the batch is on its way: either its 200 came (it must
        // survive) or it did not (the apiserver sends it again).
        const answer = post(p.url, events).then(s => s, () => 0)
        await new Promise(r => setTimeout(r, 5))
        const code = await kill(p, cut.signal)
        if (cut.signal === 'SIGTERM') t.equal(code, 0, 'SIGTERM: exit 0')
        delivered.push(...printed(p))
        p = await start(store, dir)
        if (await answer !== 200) t.equal(await post(p.url, events), 200)
        continue
      }
      t.equal(await post(p.url, events), 200)
      if (cut?.after === i) {
        if (cut.signal === 'SIGTERM') {
          // Not ready first, then gone.
          const code = await kill(p, 'SIGTERM')
          t.equal(code, 0, 'SIGTERM: exit 0')
          t.match(p.stderr.join(''), /state written, store closed/)
        } else {
          await kill(p, 'SIGKILL')
        }
        delivered.push(...printed(p))
        p = await start(store, dir)
      }
    }
    const final = p
    let seen: Change[] = []
    const stored = await until(async () => {
      const list = await (await fetch(`${final.url}/changes?limit=100`)).json() as { items: Change[] }
      seen = list.items
      return list.items.length >= expected && delivered.length + printed(final).length >= expected ? list.items.reverse() : undefined
    }, () => JSON.stringify({
      expected,
      stored: seen.map(c => `${c.type}/${c.outcome} ${c.object.namespace ?? ''}/${c.object.name}`),
      delivered: [...delivered, ...printed(final)].map(c => c.id),
      stderr: final.stderr.join('').slice(-3000)
    }))
    // Give a stray second delivery the chance to show.
    await new Promise(r => setTimeout(r, 300))
    delivered.push(...printed(final))
    t.equal(await kill(final, 'SIGTERM'), 0)
    return { stored, delivered }
  } finally {
    if (!gone(p.child.pid!)) p.child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

const day = buildDay(new Date(Math.floor(Date.now() / 1000) * 1000 - 14 * 60_000).toISOString(), 1000)

// Real processes and informers on a busy 2-core machine.
t.setTimeout(10 * 60_000)

t.test('SIGKILL and SIGTERM of the real server mid-day: the same changes, each delivered once', async t => {
  const ref = await runDay(day)
  t.equal(ref.stored.length, 13)
  // Same outcome as an uninterrupted real process, and as the in-process run.
  const whole = await serveDay(t, day, ref.stored.length)
  t.same(whole.stored.map(c => c.id), ref.stored.map(c => c.id), 'uninterrupted serve = in-process run')
  const essence = (c: Change): unknown => [c.id, c.type, c.outcome, c.actor, c.object, c.startedAt, c.endedAt, c.details]
  const cuts: Kill[] = [
    { after: 2, signal: 'SIGKILL' },
    { after: 2, signal: 'SIGTERM' },
    { after: 4, signal: 'SIGKILL' },
    { after: 4, signal: 'SIGTERM' },
    { after: 6, signal: 'SIGKILL' },
    { after: 6, signal: 'SIGTERM' },
    { after: 5, signal: 'SIGKILL', inFlight: true }
  ]
  for (const cut of cuts) {
    const name = `${cut.signal}${cut.inFlight === true ? ' during' : ' after'} batch ${cut.after} of ${day.batches.length}`
    const run = await serveDay(t, day, ref.stored.length, cut)
    t.same(run.stored.map(essence), whole.stored.map(essence), `${name}: the same changes (ids, types, outcomes, actors, times, details)`)
    t.same(run.delivered.map(c => c.id).sort(), whole.stored.map(c => c.id).sort(), `${name}: each delivered exactly once on the log sink`)
  }
})
