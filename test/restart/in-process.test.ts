import t from 'tap'
import { buildDay, runDay, type Cut } from './day.js'

// Every cut point of a day, through the real app (fastify, SQLite, outbox,
// log sink) on an injected clock. A crash is the app dropped without close()
// (its store connection closed: nothing unwritten survives), then a new app
// on the same file, as after SIGKILL; a stop is close() (SIGTERM's path).
// Either way the changes and their deliveries must equal an uninterrupted run.

// Every cut point is dozens of full runs: minutes on a busy 2-core machine.
t.setTimeout(15 * 60_000)

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
    if (i < day.batches.length - 1) cuts.push({ after: i, phase: 'quiet', mode: 'crash' })
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
