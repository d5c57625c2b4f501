import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { testApp, eventList, type TestApp } from '../helpers/app.js'
import type { Change } from '../../src/model.js'
import { buildDay, type Day } from './day.js'

// Every cut point of a day, through the real app (fastify, SQLite, outbox,
// log sink) on an injected clock. A crash is the app dropped without close()
// (its store connection closed: nothing unwritten survives), then a new app
// on the same file, as after SIGKILL; a stop is close() (SIGTERM's path).
// Either way the changes and their deliveries must equal an uninterrupted run.

type Mode = 'crash' | 'stop' | 'crash-resend'
interface Cut { after: number, phase: 'posted' | 'quiet', mode: Mode }

interface Run { stored: Change[], delivered: Change[] }

async function runDay (day: Day, cut?: Cut): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'kc-restart-'))
  try {
    let a: TestApp = await testApp({ dir, start: day.start })
    const delivered: Change[] = []
    const tickTo = async (to: number): Promise<void> => {
      // serve's clock wakes at least once a second
      while (a.clock.now + 1000 <= to) await a.advance(1000)
      if (a.clock.now < to) await a.advance(to - a.clock.now)
    }
    const restart = async (mode: Mode): Promise<void> => {
      delivered.push(...a.printed)
      if (mode === 'stop') await a.app.close()
      else a.app.store.close()
      a = await testApp({ dir, start: a.clock.now })
    }
    for (let i = 0; i < day.batches.length; i++) {
      const b = day.batches[i]!
      await tickTo(b.sendAt)
      if (cut?.after === i - 1 && cut.phase === 'quiet') await restart(cut.mode)
      const res = await a.post(eventList(b.events))
      if (res.statusCode !== 200) throw new Error(`batch ${i}: ${res.statusCode}`)
      await a.advance(0)
      if (cut?.after === i && cut.phase === 'posted') {
        await restart(cut.mode)
        // The 200 was sent but never reached the apiserver: it sends the batch again.
        if (cut.mode === 'crash-resend') await a.post(eventList(b.events))
      }
    }
    await tickTo(day.end)
    delivered.push(...a.printed)
    const stored = a.stored()
    await a.app.close()
    return { stored, delivered }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const day = buildDay()

t.test('the day uninterrupted: the changes it must report', async t => {
  const ref = await runDay(day)
  t.same(ref.stored.map(c => [c.type, c.outcome, c.object.kind, c.object.name, c.actor?.username ?? null]), [
    ['create', 'applied', 'Service', 'web', 'alice@example.com'],
    ['create', 'succeeded', 'Deployment', 'web', 'alice@example.com'],
    ['create', 'applied', 'ConfigMap', 'app', 'alice@example.com'],
    ['create', 'applied', 'Secret', 'creds', 'system:serviceaccount:ci:deployer'],
    ['rollout', 'succeeded', 'Deployment', 'web', 'alice@example.com'],
    ['create', 'succeeded', 'Deployment', 'api', 'bob@example.com'],
    ['job', 'succeeded', 'Job', 'nightly', 'system:serviceaccount:ci:deployer'],
    ['update', 'applied', 'ConfigMap', 'app', 'alice@example.com'],
    ['rollout', 'failed', 'Deployment', 'api', 'bob@example.com'],
    ['scale', 'succeeded', 'Deployment', 'web', 'bob@example.com'],
    ['restart', 'succeeded', 'Deployment', 'web', 'alice@example.com'],
    ['delete', 'applied', 'ConfigMap', 'app', 'bob@example.com'],
    ['delete', 'applied', 'Secret', 'creds', 'bob@example.com']
  ])
  t.same(ref.delivered.map(c => c.id), ref.stored.map(c => c.id), 'each delivered once')
})

t.test('a crash or a stop at every cut point changes nothing', async t => {
  const ref = await runDay(day)
  const cuts: Cut[] = []
  for (let i = 0; i < day.batches.length; i++) {
    for (const mode of ['crash', 'stop', 'crash-resend'] as const) cuts.push({ after: i, phase: 'posted', mode })
    if (i < day.batches.length - 1) for (const mode of ['crash', 'stop'] as const) cuts.push({ after: i, phase: 'quiet', mode })
  }
  let failures = 0
  for (const cut of cuts) {
    const run = await runDay(day, cut)
    const name = `${cut.mode} after batch ${cut.after} (${cut.phase}) of ${day.batches.length}`
    const okStored = t.same(run.stored, ref.stored, `${name}: the same changes`)
    const ids = run.delivered.map(c => c.id)
    const okOnce = t.same([...ids].sort(), ref.stored.map(c => c.id).sort(), `${name}: each delivered exactly once`)
    if (!okStored || !okOnce) failures++
    if (failures > 3) break
  }
})
